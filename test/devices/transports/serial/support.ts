/**
 * Helpers for the serial tests over real ptys: socat required, device-emulator processes. (serialport itself is
 * never used in these test threads: its native binding crashes in ava's worker threads; see link-host.ts.)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SocatMissingError } from '../../../../devices/transports/serial/pty-pair.ts';
import { repoRoot } from '../../../helpers/fixtures.ts';

/** These tests need socat; CI installs it. Missing, they fail and say so: never a silent skip. */
export function requireSocat(): void {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  if (r.error) throw new SocatMissingError();
}

export interface DeviceProcess {
  child: ChildProcess;
  ready: Record<string, unknown> & { eui: string; keys: { ds: string; ka: string } | null; serial: string; peer?: string };
  events: Record<string, unknown>[];
  stop(): Promise<Record<string, unknown> | undefined>;
}

/** Starts `smets-hil device serve` and waits for its ready line. */
export async function startDeviceProcess(args: string[], timeoutMs = 60_000): Promise<DeviceProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'device', 'serve', '--exit-with-stdin', ...args], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<DeviceProcess['ready']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`device serve not ready within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    lines.on('line', (line) => {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      if (e.event === 'ready') {
        clearTimeout(timer);
        resolve(e as DeviceProcess['ready']);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`device serve exited before it was ready: ${stderr}`));
    });
  });
  return {
    child,
    ready,
    events,
    async stop() {
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      return events.find((e) => e.event === 'stopped');
    },
  };
}
