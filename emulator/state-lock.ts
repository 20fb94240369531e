/**
 * One DCC per state directory. The registry, the SMKI directory and the ADT counts are kept in memory on the
 * understanding that this DCC is its store's only writer: a second one on the same directory would answer from
 * stale caches and overwrite what the first accepted. The lock is a file naming the owner's process, created
 * exclusively; one whose process is gone (killed with -9) is taken over, by one DCC only when two try at once.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class StateDirInUse extends Error {}

const LOCK_FILE = 'dcc.lock';
/** Drafts made by this process, so that each has a name of its own. */
let drafts = 0;

export interface LockOptions {
  /** For tests: runs between judging the lock stale and taking it over, where another DCC may get in first. */
  beforeTakeover?: () => void;
}

/** Takes the directory's lock; the function returned gives it back. */
export function lockStateDir(dir: string, o: LockOptions = {}): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  // Written whole under a name of our own, then linked into place: the lock never exists without its owner.
  const draft = `${path}.${process.pid}.${++drafts}`;
  writeFileSync(draft, `${process.pid}\n`);
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
        if (readOwner(path) === process.pid) unlinkSync(path);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner(path);
    if (owner !== null && isRunning(owner)) throw new StateDirInUse(`${dir} is in use by the DCC of process ${owner} (one DCC per state directory)`);
    // Its process is gone: stale.
    o.beforeTakeover?.();
    takeOverStale(path);
  }
}

/**
 * Removes a lock judged stale, unless another DCC has taken it over since. The lock is first moved aside under a
 * name of our own: a rename is atomic, so of two DCCs taking over at once only one moves the stale lock away. The
 * other moves the lock the first has just made, sees its owner running, and puts it back. (Only a third DCC
 * starting within that instant could then still get in, when the lock is briefly aside.)
 */
function takeOverStale(path: string): void {
  const aside = `${path}.stale.${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // taken and given back, or taken over: look again
    throw e;
  }
  try {
    const owner = readOwner(aside);
    if (owner !== null && isRunning(owner)) linkSync(aside, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(aside);
  }
}

function readOwner(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
