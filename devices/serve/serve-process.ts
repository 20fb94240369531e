/**
 * The device-emulator process: one emulated meter on one serial line, until told to stop. Used by
 * `smets-hil device serve` and by rigs that start their own emulators on pty pairs. Every event is one JSON
 * line on stdout; the first is {"event":"ready",...} with the serial path, the peer end (with --pty) and the
 * meter's identity (EUI, type and public keys), or {"event":"unavailable","error":...} when this host cannot
 * serve at all (no socat for --pty).
 */
import { type Eui } from '../../protocol/smki/eui.ts';
import { openPtyPair, type PtyPair, SocatMissingError } from '../transports/serial/pty-pair.ts';
import { SerialLink } from '../transports/serial/serial-link.ts';
import { anchorsSchema, type DeviceType, type WireAnchors } from './control.ts';
import { DeviceServer } from './device-server.ts';

export interface ServeOptions {
  type: DeviceType;
  /** The serial line; absent with `pty`. */
  serial?: string;
  /** Make a pty pair (socat) and serve on one end; the other is reported as `peer`. */
  pty?: boolean;
  baudRate?: number;
  eui: Eui;
  seed: string;
  twin?: boolean;
  fuel?: 'electricity' | 'gas';
  anchors?: WireAnchors;
  statePath?: string;
  clock?: Date;
  /** Exit when standard input closes (set by a parent that wants its emulators gone when it is). */
  exitWithStdin?: boolean;
  /** Where events go (default stdout as JSON lines). */
  emit?: (event: Record<string, unknown>) => void;
}

/** Trust anchors from the text of an anchors file; a RangeError says what is wrong with it. */
export function parseAnchors(text: string): WireAnchors {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RangeError(`not JSON (${(e as Error).message})`);
  }
  const parsed = anchorsSchema.safeParse(json);
  if (!parsed.success) throw new RangeError(parsed.error.issues.map((i) => `${i.path.join('.') || 'the file'}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * Runs until SIGINT/SIGTERM (or stdin closing, if asked); resolves when stopped so. Rejects when the meter can
 * no longer serve: its state could not be written, or its pty (socat) is gone.
 */
export async function serveDevice(o: ServeOptions): Promise<void> {
  const emit = o.emit ?? ((e) => process.stdout.write(JSON.stringify({ at: new Date().toISOString(), ...e }) + '\n'));
  let pty: PtyPair | null = null;
  let path = o.serial;
  if (o.pty) {
    try {
      pty = await openPtyPair();
    } catch (e) {
      // The parent (a rig) learns that this host cannot serve, which says nothing about the meter.
      if (e instanceof SocatMissingError) emit({ event: 'unavailable', error: e.message });
      throw e;
    }
    path = pty.a;
  }
  if (!path) throw new Error('name a serial line (--serial PATH) or ask for a pty pair (--pty)');
  const link = new SerialLink({ path, ...(o.baudRate ? { baudRate: o.baudRate } : {}), name: `serial:${path}:device` });
  let server: DeviceServer | undefined;
  let fault: (e: Error) => void = () => undefined;
  const faulted = new Promise<Error>((resolve) => (fault = resolve));
  try {
    server = new DeviceServer({
      link,
      type: o.type,
      eui: o.eui,
      seed: o.seed,
      ...(o.twin !== undefined ? { twin: o.twin } : {}),
      ...(o.fuel ? { fuel: o.fuel } : {}),
      ...(o.anchors ? { anchors: o.anchors } : {}),
      ...(o.statePath ? { statePath: o.statePath } : {}),
      ...(o.clock ? { clock: o.clock } : {}),
      log: emit,
      onFault: (e) => fault(e),
    });
    await server.start();
  } catch (e) {
    // Its reopen timer, or our socat, would keep the process alive with nobody served.
    await server?.stop().catch(() => undefined);
    await pty?.close();
    throw e;
  }
  // Listening for the signals before saying ready: a parent that stops us as soon as it reads the line must not
  // meet the default action (killed, with no cleanup).
  const ended = new Promise<Error | null>((resolve) => {
    const stop = () => resolve(null);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (o.exitWithStdin) {
      process.stdin.on('end', stop).on('close', stop).on('error', stop);
      process.stdin.resume();
    }
    // Our own cable gone for good: nothing left to serve, and nobody asked us to stop.
    void pty?.exited.then(() => resolve(new Error(`the pty pair (socat) ended, so ${path} is gone: nothing left to serve on`)));
    void faulted.then(resolve);
  });
  emit({ event: 'ready', pid: process.pid, serial: path, ...(pty ? { peer: pty.b } : {}), ...server.identity() });
  const failure = await ended;
  // Stopped by a signal: standard input (watched above) must not keep the process alive.
  if (o.exitWithStdin) process.stdin.destroy();
  await server.stop().catch(() => undefined);
  await pty?.close();
  emit({ event: 'stopped', stats: link.stats, ...(failure ? { error: failure.message } : {}) });
  if (failure) throw failure;
}
