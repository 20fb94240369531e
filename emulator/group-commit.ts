/**
 * Group commit for the DCC store. Every request the DCC takes writes a transaction or two; committing each on
 * its own made COMMIT (WAL frames written, locks taken and released) the store's largest cost under load. Here
 * the writes made in one turn of the event loop share one COMMIT, as databases group their log flushes: a
 * write joins the open group as a savepoint (a failing step still rolls back alone), and the group commits on
 * the next turn.
 *
 * The rule that keeps this safe: nothing a write causes may leave the DCC (an HTTP reply, a Command to a device,
 * an outbox delivery) before `durable()` resolves. A crash before the COMMIT then loses only work nobody has
 * heard of, exactly as a crash before the request arrived would.
 */
import Database from 'better-sqlite3';
import type { Db } from './store.ts';

interface Group {
  /** Groups are numbered from 1 in the order they open. */
  number: number;
  committed: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class StoreCommitError extends Error {
  override readonly name = 'StoreCommitError';
}

/**
 * The store refused a write: SQLite lost a group at its COMMIT (StoreCommitError) or refused a statement (a full
 * disk, an I/O error), as opposed to an error in the DCC's own code. What it refused may be written again later.
 */
export function isStoreRefusal(e: unknown): boolean {
  return e instanceof StoreCommitError || e instanceof Database.SqliteError;
}

export class GroupCommit {
  private group: Group | null = null;
  private opened = 0;
  /** The number of the last group SQLite lost (0: none). */
  private lastLost = 0;
  private readonly afterGroupEnds = new Set<() => void>();

  /** `onRollback` runs when a group is lost: whoever memoises what it read must forget it. */
  constructor(
    private readonly db: Db,
    private readonly onRollback: () => void = () => {},
  ) {}

  /** Runs `step` atomically inside the open group (opening one if needed) and returns what it returns. */
  write<T>(step: () => T): T {
    // SQLite rolled the open group back (a full disk, an I/O error): a SAVEPOINT now would start and commit a
    // transaction of its own, changing the store for a caller the group's failure is about to be reported to.
    if (this.group && !this.db.inTransaction) throw new StoreCommitError('the DCC store could not commit: SQLite rolled the transaction back');
    this.open();
    // A savepoint of our own: better-sqlite3's db.transaction(step) builds a new wrapper on every call, which
    // cost more than the statements of a typical step.
    this.db.prepare('SAVEPOINT step').run();
    let result: T;
    try {
      result = step();
    } catch (e) {
      if (this.db.inTransaction) {
        this.db.prepare('ROLLBACK TO step').run();
        this.db.prepare('RELEASE step').run();
      }
      throw e;
    }
    this.db.prepare('RELEASE step').run();
    return result;
  }

  /** Resolves once everything written so far is committed; rejects with StoreCommitError if that COMMIT failed. */
  durable(): Promise<void> {
    return this.group?.committed ?? Promise.resolve();
  }

  /**
   * A mark for `durableSince`, taken before work that writes, awaits something, and writes again: by the time it
   * asks durable(), the group its first write joined may be over, and lost.
   */
  mark(): number {
    return this.group ? this.group.number - 1 : this.opened;
  }

  /** Resolves once every group open at `mark` or opened since is over; rejects if any of them was lost. */
  async durableSince(mark: number): Promise<void> {
    await this.durable();
    if (this.lastLost > mark) throw new StoreCommitError('the DCC store could not commit: SQLite lost a group of writes made since');
  }

  /**
   * Runs `f` once the open group is over (now, if none is open): committed, or lost, so that what `f` reads is
   * what the store holds. The outbox looks for due messages this way; a lost group must not swallow its look.
   */
  afterGroup(f: () => void): void {
    if (this.group) this.afterGroupEnds.add(f);
    else f();
  }

  /** Commits the open group now (before the store closes). */
  flush(): void {
    const g = this.group;
    if (!g) return;
    this.group = null;
    const after = [...this.afterGroupEnds];
    this.afterGroupEnds.clear();
    try {
      // SQLite rolls a whole transaction back on some errors (a full disk, an I/O error): then there is
      // nothing to commit, and the group's work is lost, so it must not be reported done.
      if (!this.db.inTransaction) throw new Error('SQLite rolled the transaction back');
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.lastLost = g.number;
      this.onRollback();
      g.reject(new StoreCommitError(`the DCC store could not commit: ${(e as Error).message}`));
      for (const f of after) f();
      return;
    }
    g.resolve();
    for (const f of after) f();
  }

  private open(): void {
    // Inside a transaction opened elsewhere (better-sqlite3's db.transaction), the write simply nests in it.
    if (this.group || this.db.inTransaction) return;
    this.db.exec('BEGIN IMMEDIATE');
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const committed = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    committed.catch(() => {}); // a failed commit is reported to those who wait; nobody waiting is not an error
    this.group = { number: ++this.opened, committed, resolve, reject };
    setImmediate(() => this.flush());
  }
}
