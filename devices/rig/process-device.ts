/**
 * An emulator process for a `process-serial` rig device: `smets-hil device serve --pty`, which makes its own pty
 * pair (socat) and serves on one end; the harness opens the other (`peer`). It exits when our stdin closes, so
 * it never outlives the harness, and takes its socat with it. Its JSON events go to the device's log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const BIN = fileURLToPath(new URL('../../bin/smets-hil.mjs', import.meta.url));

/** This host cannot run the emulator (socat missing, say): no fault of the device's, which stays in service. */
export class EmulatorUnavailableError extends Error {
  override readonly name = 'EmulatorUnavailableError';
}

export interface EmulatorProcess {
  readonly pid: number;
  /** The pty end the harness opens. */
  readonly peer: string;
  readonly ready: Record<string, unknown>;
  readonly exited: Promise<number | null>;
  /** Whether the process has exited (read synchronously: a race against `exited` cannot tell). */
  readonly hasExited: boolean;
  stop(): Promise<void>;
  /** Kills it at once (process exit hooks: no waiting). */
  killNow(): void;
}

export async function startEmulatorProcess(o: {
  type: 'ESME' | 'GSME' | 'SMETS1';
  eui: string;
  seed: string;
  fuel?: 'electricity' | 'gas';
  baud?: number;
  log: (line: string) => void;
  timeoutMs?: number;
  /** Kills the emulator if it is still starting (its starter no longer wants it). */
  signal?: AbortSignal;
}): Promise<EmulatorProcess> {
  const args = [BIN, 'device', 'serve', '--pty', '--exit-with-stdin', '--type', o.type.toLowerCase(), '--eui', o.eui, '--seed', o.seed];
  if (o.fuel && o.type === 'SMETS1') args.push('--fuel', o.fuel);
  if (o.baud) args.push('--baud', String(o.baud));
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stdin!.on('error', () => undefined);
  // Its last words say why it could not start; they go into the error as well as the device's log.
  let lastStderr = '';
  createInterface({ input: child.stderr! }).on('line', (l) => {
    o.log(`emulator stderr: ${l}`);
    if (l.trim()) lastStderr = l.trim();
  });
  const streamsClosed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let unavailable: string | null = null;
  const lines = createInterface({ input: child.stdout! });
  // Until it is ready it does not watch its stdin: stopping it then takes a signal.
  const abort = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', abort, { once: true });
  if (o.signal?.aborted) abort();
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the emulator did not report ready within ${o.timeoutMs ?? 60_000} ms`));
    }, o.timeoutMs ?? 60_000);
    lines.on('line', (l) => {
      o.log(`emulator: ${l}`);
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(l) as Record<string, unknown>;
      } catch {
        return;
      }
      if (e.event === 'ready') {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', abort);
        resolve(e);
      }
      if (e.event === 'unavailable') unavailable = String(e.error);
    });
    void exited.then(async (code) => {
      clearTimeout(timer);
      // Its last lines may still be on their way when it has exited.
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([streamsClosed, new Promise((r) => (wait = setTimeout(r, 1000)))]);
      clearTimeout(wait);
      if (unavailable) reject(new EmulatorUnavailableError(`the emulator cannot run on this host: ${unavailable}`));
      else reject(new Error(`the emulator exited (${code}) before it was ready${lastStderr ? `: ${lastStderr}` : ''}`));
    });
  });
  return {
    pid: child.pid!,
    peer: String(ready.peer),
    ready,
    exited,
    get hasExited() {
      return child.exitCode !== null || child.signalCode !== null;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    killNow() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    // Let the harness exit while emulators idle; they follow it out when stdin closes.
    ...unrefHandles(child),
  };
}

function unrefHandles(child: ChildProcess): object {
  return {
    unref() {
      child.unref();
      for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    },
    ref() {
      child.ref();
      for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { ref?: () => void } | null)?.ref?.();
    },
  };
}

export type RefControl = { unref(): void; ref(): void };
