/** `smets-hil dcc serve` as a real child process, for drop-in and restart tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fixtures.ts';

export interface DccProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGKILL: no shutdown code runs (the crash the durability tests need). */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export function startDccProcess(args: string[], timeoutMs = 60_000): Promise<DccProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'dcc', 'serve', '--port', '0', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dcc serve did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          output: () => out,
          kill9: async () => {
            child.kill('SIGKILL');
            await exited;
          },
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dcc serve exited with ${code} before listening:\n${out}`));
    });
  });
}
