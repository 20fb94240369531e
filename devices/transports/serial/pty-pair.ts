/**
 * A pair of connected pseudo-terminals from socat (`socat -d -d pty,raw,echo=0 pty,raw,echo=0`): what is written
 * to one end is read from the other, like a null-modem cable. Killing socat pulls the cable: both ends hang up.
 * CI installs socat (.ci/run); without it this fails with a message that says so.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

export class SocatMissingError extends Error {
  override readonly name = 'SocatMissingError';
  constructor() {
    super('socat is not installed: the serial tests and process-serial rigs need a pty pair from it (apt-get install socat; .ci/run installs it)');
  }
}

export interface PtyPair {
  /** The two ends, e.g. /dev/pts/3 and /dev/pts/4. */
  a: string;
  b: string;
  readonly pid: number;
  /** Resolves when socat has exited (the cable is gone). */
  readonly exited: Promise<void>;
  /** Pulls the cable: kills socat and waits for it to exit. */
  close(): Promise<void>;
}

/** socat processes still running: killed when this process (or worker) exits, so no cable outlives us. */
const live = new Set<ChildProcess>();
let hooked = false;

const SOCAT = ['socat', '-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'];
let launcher: string[] | undefined;

/**
 * socat started through util-linux's setpriv (on every Debian) with a parent-death signal: the kernel sends it
 * SIGTERM when the thread that started it ends, also when that is a SIGKILL or a hang cut short, where no exit
 * handler runs. Without setpriv, socat alone, and only the exit handler below.
 */
function socatCommand(): string[] {
  launcher ??= spawnSync('setpriv', ['--pdeathsig', 'TERM', '--', 'true'], { stdio: 'ignore' }).status === 0 ? ['setpriv', '--pdeathsig', 'TERM', '--'] : [];
  return [...launcher, ...SOCAT];
}

export async function openPtyPair(o: { timeoutMs?: number } = {}): Promise<PtyPair> {
  let child: ChildProcess;
  try {
    const [command, ...args] = socatCommand();
    child = spawn(command!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SocatMissingError();
    throw e;
  }
  live.add(child);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGTERM');
    });
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  let stderr = '';
  const paths = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`socat did not report its ptys within ${o.timeoutMs ?? 10_000} ms: ${stderr.trim()}`));
    }, o.timeoutMs ?? 10_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new SocatMissingError() : e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      // setpriv's answer when it cannot find socat to run.
      if (code === 127 && launcher?.length) return reject(new SocatMissingError());
      reject(new Error(`socat exited (${code}) before reporting its ptys: ${stderr.trim()}`));
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const found = [...stderr.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!);
      // Both ends exist once socat says it is transferring.
      if (found.length === 2 && /starting data transfer loop/.test(stderr)) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  // Keep draining stderr so socat never blocks on it.
  child.stderr!.resume();
  return {
    a: paths[0]!,
    b: paths[1]!,
    pid: child.pid!,
    exited,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
