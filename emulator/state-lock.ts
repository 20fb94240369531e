/**
 * One DCC per state directory. The registry, the SMKI directory and the ADT counts are kept in memory on the
 * understanding that this DCC is its store's only writer: a second one on the same directory would answer from
 * stale caches and overwrite what the first accepted. The lock is a file naming the owner's process (its pid and,
 * where /proc tells it, when it started), created exclusively. One whose process is gone (killed with -9) is taken
 * over, by one DCC only when two try at once; so is one whose pid a later process has been given (a container's
 * DCC is pid 1 on every start).
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

export class StateDirInUse extends Error {}

const LOCK_FILE = 'dcc.lock';
/** Files this thread names, each its own: threads of one process share its pid. */
let names = 0;
const ownName = (path: string, what: string) => `${path}.${what}.${process.pid}.${threadId}.${++names}`;

export interface LockOptions {
  /** For tests: runs between judging the lock stale and taking it over, where another DCC may get in first. */
  beforeTakeover?: () => void;
}

/** Takes the directory's lock; the function returned gives it back. */
export function lockStateDir(dir: string, o: LockOptions = {}): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  // Written whole under a name of our own, then linked into place: the lock never exists without its owner.
  const draft = ownName(path, 'draft');
  const started = processStart(process.pid);
  writeFileSync(draft, `${process.pid}\n${started ?? ''}\n`);
  try {
    return take(dir, path, draft, o);
  } finally {
    unlinkSync(draft);
  }
}

function take(dir: string, path: string, draft: string, o: LockOptions): () => void {
  for (;;) {
    try {
      linkSync(draft, path);
      return () => {
        // Only our own: a lock taken over after ours was removed by hand is not ours to remove.
        if (readOwner(path)?.pid === process.pid) unlinkSync(path);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner(path);
    if (owner !== null && isRunning(owner)) throw new StateDirInUse(`${dir} is in use by the DCC of process ${owner.pid} (one DCC per state directory)`);
    // Its process is gone, or its pid is another process's now: stale.
    o.beforeTakeover?.();
    takeOverStale(path);
  }
}

/**
 * Removes a lock judged stale, unless another DCC has taken it over since. The lock is first moved aside under a
 * name of our own: a rename is atomic, so of two DCCs taking over at once only one moves the stale lock away. The
 * other moves the lock the first has just made, sees its owner running, and puts it back. Not guarded: a third
 * DCC starting in the microseconds the lock is aside takes the directory too, and the lock put back is then lost.
 */
function takeOverStale(path: string): void {
  const aside = ownName(path, 'stale');
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // taken and given back, or taken over: look again
    throw e;
  }
  const owner = readOwner(aside);
  if (owner !== null && isRunning(owner)) {
    try {
      linkSync(aside, path);
    } catch (e) {
      // Anything but a third DCC in its place: the live lock stays aside, for whoever reads the error.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  unlinkSync(aside);
}

interface Owner {
  pid: number;
  /** When the process started (clock ticks since boot), if the lock says. */
  started: string | null;
}

function readOwner(path: string): Owner | null {
  try {
    const [pidLine, startedLine] = readFileSync(path, 'utf8').split('\n');
    const pid = Number(pidLine?.trim());
    return Number.isSafeInteger(pid) && pid > 0 ? { pid, started: startedLine?.trim() || null } : null;
  } catch {
    return null;
  }
}

/**
 * Whether the lock's process still runs: its pid does and, where both are known, it started when the lock says. A
 * lock naming this process without a start time is an earlier version's, which this process never wrote.
 */
function isRunning(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: it runs, as another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStart(owner.pid);
  if (started === null) return true;
  return owner.started === null ? owner.pid !== process.pid : started === owner.started;
}

/** A process's start time in clock ticks since boot, from /proc (Linux); null where there is none. */
function processStart(pid: number): string | null {
  try {
    // pid (comm) state ppid ...: the command may hold spaces and parentheses; starttime is the 22nd field.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
