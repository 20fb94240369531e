/**
 * One DCC per state directory. The registry, the SMKI directory and the ADT counts are kept in memory on the
 * understanding that this DCC is its store's only writer: a second one on the same directory would answer from
 * stale caches and overwrite what the first accepted. The lock is a file naming the owner's process, created
 * exclusively: its pid, and where Linux's /proc tells them, its host, the machine's boot and when the process
 * started. One whose process is gone (killed with -9) is taken over, by one DCC only when two try at once; so is
 * one whose pid a later process has been given (a container's DCC is pid 1 on every start). A lock made on
 * another host (another container sharing the directory) is never taken over: its process cannot be seen from here.
 * An emulated meter's state file (`device serve --state`) is held the same way, by the lock file beside it.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
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

/** What a lock keeps, and for whom, as its refusal names them. */
interface Held {
  /** The directory or file the lock is for. */
  subject: string;
  /** Who holds it: "the DCC", "the emulator". */
  holder: string;
  rule: string;
}

/** Takes the directory's lock; the function returned gives it back. */
export function lockStateDir(dir: string, o: LockOptions = {}): () => void {
  mkdirSync(dir, { recursive: true });
  return lockWith(join(dir, LOCK_FILE), { subject: dir, holder: 'the DCC', rule: 'one DCC per state directory' }, o);
}

/** Takes the lock of an emulated meter's state file (the file `<path>.lock`); the function returned gives it back. */
export function lockStateFile(path: string, o: LockOptions = {}): () => void {
  return lockWith(`${path}.lock`, { subject: path, holder: 'the emulator', rule: 'one emulator per state file' }, o);
}

function lockWith(path: string, held: Held, o: LockOptions): () => void {
  // Written whole under a name of our own, then linked into place: the lock never exists without its owner.
  const draft = ownName(path, 'draft');
  writeFileSync(draft, ownerText());
  try {
    return take(held, path, draft, o);
  } finally {
    unlinkSync(draft);
  }
}

function take(held: Held, path: string, draft: string, o: LockOptions): () => void {
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
    if (owner !== null && isRunning(owner)) {
      const where = owner.host !== null && owner.host !== hostname() ? ` on host ${owner.host} (if ${held.holder.replace(/^the /, 'that ')} is gone, remove ${path})` : '';
      throw new StateDirInUse(`${held.subject} is in use by ${held.holder} of process ${owner.pid}${where} (${held.rule})`);
    }
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
  /** Where and when the process ran, as far as the lock says (an earlier version's lock says none of it). */
  host: string | null;
  boot: string | null;
  started: string | null;
}

/** "pid", then "key=value" lines: the pid alone is what an earlier version wrote. */
function ownerText(): string {
  const own = { host: hostname(), boot: bootId(), started: processStat(process.pid)?.started ?? null };
  return [String(process.pid), ...Object.entries(own).map(([k, v]) => `${k}=${v ?? ''}`)].join('\n') + '\n';
}

function readOwner(path: string): Owner | null {
  try {
    const [pidLine, ...rest] = readFileSync(path, 'utf8').split('\n');
    const pid = Number(pidLine?.trim());
    if (!Number.isSafeInteger(pid) || pid <= 0) return null;
    const fields = new Map(rest.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()] as const));
    const field = (k: string) => fields.get(k) || null;
    return { pid, host: fields.has('host') ? (field('host') ?? '') : null, boot: field('boot'), started: field('started') };
  } catch {
    return null;
  }
}

/**
 * Whether the lock's process may still run. Made on another host: it may, as far as anyone here can tell. Made
 * before the machine last booted: no. Else its pid must run (not as a zombie) and, where both are known, have
 * started when the lock says. A lock naming this process with no host is an earlier version's, which this
 * process never wrote.
 */
function isRunning(owner: Owner): boolean {
  if (owner.host !== null && owner.host !== hostname()) return true;
  const boot = bootId();
  if (owner.boot !== null && boot !== null && owner.boot !== boot) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: it runs, as another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.host === null && owner.pid === process.pid) return false;
  if (processStat(process.pid) === null) return true; // no /proc: the pid is all there is to go by
  const stat = processStat(owner.pid);
  if (stat === null || stat.state === 'Z') return false; // gone since, or dead and not yet reaped
  return owner.started === null || stat.started === owner.started;
}

/** A process's state and start time (clock ticks since boot), from /proc (Linux); null where there is none. */
function processStat(pid: number): { state: string; started: string } | null {
  try {
    // pid (comm) state ppid ...: the command may hold spaces and parentheses; starttime is the 22nd field.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ? { state: fields[0]!, started: fields[19] } : null;
  } catch {
    return null;
  }
}

/** This boot of the machine (Linux); null where there is no such file. */
function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}
