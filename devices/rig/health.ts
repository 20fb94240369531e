/**
 * Health checks and power cycles for rig devices. A check is a probe that must answer in time (an emulator's
 * CONTROL ping; for a real meter, a CONTROL frame its link layer must acknowledge). A device that fails is
 * marked unhealthy in the lease store and not allocated until a check passes; a power-cycle command from the
 * inventory (a shell command, run with a timeout) may bring it back first.
 */
import { spawn } from 'node:child_process';
import type { LeaseStore } from './leases.ts';

export interface HealthResult {
  healthy: boolean;
  reason: string | null;
}

export async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<HealthResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { healthy: true, reason: null };
  } catch (e) {
    return { healthy: false, reason: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Probes a device and records the outcome; a failing device is taken out of service. */
export async function checkDevice(store: LeaseStore, rig: string, device: string, check: () => Promise<unknown>, timeoutMs: number): Promise<HealthResult> {
  const r = await probe(check, timeoutMs);
  store.markHealth(rig, device, r.healthy, r.reason);
  return r;
}

export interface PowerCycleResult {
  ok: boolean;
  code: number | null;
  output: string;
  timedOut: boolean;
}

/** Runs an inventory power-cycle command (sh -c), killing it after the timeout. */
export function powerCycle(command: string, timeoutMs: number): Promise<PowerCycleResult> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const take = (d: Buffer) => (output = (output + d.toString()).slice(-4000));
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: the command may have started its own children.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0 && !timedOut, code, output, timedOut });
    });
  });
}
