/**
 * One DCC per state directory. The registry, the SMKI directory and the ADT counts are kept in memory on the
 * understanding that this DCC is its store's only writer: a second one on the same directory would answer from
 * stale caches and overwrite what the first accepted. The lock is a file naming the owner's process, created
 * exclusively; one whose process is gone (killed with -9) is taken over.
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class StateDirInUse extends Error {}

const LOCK_FILE = 'dcc.lock';

/** Takes the directory's lock; the function returned gives it back. */
export function lockStateDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  // Written whole under a name of our own, then linked into place: the lock never exists without its owner.
  const draft = `${path}.${process.pid}`;
  writeFileSync(draft, `${process.pid}\n`);
  try {
    return take(dir, path, draft);
  } finally {
    unlinkSync(draft);
  }
}

function take(dir: string, path: string, draft: string): () => void {
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
    // Its process is gone: stale. (Two DCCs taking over one stale lock at the same instant is not guarded.)
    try {
      unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
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
