/**
 * Group commit: the writes of one event-loop turn share a COMMIT, and nothing they cause leaves before it. A
 * second connection to the same file plays the part of whoever reads the store after a crash.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupCommit, StoreCommitError } from '../../emulator/group-commit.ts';
import { Outbox } from '../../emulator/outbox.ts';
import { openStore } from '../../emulator/store.ts';

function stores(t: { teardown(f: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
  const db = openStore(join(dir, 'dcc.sqlite'));
  const reader = new Database(join(dir, 'dcc.sqlite'), { readonly: true });
  t.teardown(() => {
    reader.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const seen = () => (reader.prepare('SELECT count(*) AS n FROM meta').get() as { n: number }).n;
  const put = (key: string) => db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(key, 'v');
  return { db, seen, put };
}

test('writes of one turn commit together on the next turn; durable() resolves only after that COMMIT', async (t) => {
  const { db, seen, put } = stores(t);
  const commits = new GroupCommit(db);
  for (let i = 0; i < 5; i++) commits.write(() => put(`k${i}`));
  t.true(db.inTransaction, 'the group is open');
  t.is(seen(), 0, 'another connection sees nothing before the COMMIT');
  let durable = false;
  const waiting = commits.durable().then(() => {
    durable = true;
    return seen();
  });
  t.false(durable);
  t.is(await waiting, 5, 'all five writes are visible when durable() resolves');
  t.false(db.inTransaction);
});

test('a failing step rolls back alone; the rest of its group commits', async (t) => {
  const { db, seen, put } = stores(t);
  const commits = new GroupCommit(db);
  commits.write(() => put('a'));
  const failed = (() => {
    try {
      commits.write(() => (put('b'), put('a')));
      return null;
    } catch (e) {
      return (e as { code?: string }).code;
    }
  })();
  t.is(failed, 'SQLITE_CONSTRAINT_PRIMARYKEY', 'the step fails on its duplicate key');
  commits.write(() => put('c'));
  await commits.durable();
  t.is(seen(), 2);
  t.deepEqual((db.prepare('SELECT key FROM meta ORDER BY key').all() as { key: string }[]).map((r) => r.key), ['a', 'c']);
});

test('a group SQLite rolled back is reported as not durable, and what waited for the group runs on what is committed', async (t) => {
  const { db, seen, put } = stores(t);
  let forgotten = 0;
  const commits = new GroupCommit(db, () => forgotten++);
  commits.write(() => put('a'));
  let sawThen = -1;
  commits.afterGroup(() => (sawThen = (db.prepare('SELECT count(*) AS n FROM meta').get() as { n: number }).n));
  db.exec('ROLLBACK'); // what SQLite does on its own after a full disk or an I/O error
  await t.throwsAsync(commits.durable(), { instanceOf: StoreCommitError, message: /rolled the transaction back/ });
  t.is(sawThen, 0, 'it ran once the group was lost, and saw none of it');
  t.is(forgotten, 1, 'memos of what the lost group wrote are dropped');
  t.is(seen(), 0);
  commits.write(() => put('b'));
  await commits.durable();
  t.is(seen(), 1, 'the next group commits normally');
});

test('after SQLite rolled a group back, a write in the same turn is refused and changes nothing', async (t) => {
  const { db, seen, put } = stores(t);
  const commits = new GroupCommit(db);
  commits.write(() => put('a'));
  db.exec('ROLLBACK'); // what SQLite does on its own after a full disk or an I/O error
  t.throws(() => commits.write(() => put('c')), { instanceOf: StoreCommitError });
  await t.throwsAsync(commits.durable(), { instanceOf: StoreCommitError });
  t.is(seen(), 0, 'neither write reached the store');
});

test('flush() commits the open group at once (before the store closes)', (t) => {
  const { db, seen, put } = stores(t);
  const commits = new GroupCommit(db);
  commits.write(() => put('a'));
  commits.flush();
  t.false(db.inTransaction);
  t.is(seen(), 1);
});

test('the outbox delivers a message only once the group that queued it has committed', async (t) => {
  const { db } = stores(t);
  const commits = new GroupCommit(db);
  const posted: string[] = [];
  let release: (status: number) => void = () => {};
  const outbox = new Outbox(db, { post: (_url, body) => (posted.push(body), new Promise<number>((r) => (release = r))) }, commits);
  const queue = (body: string) => commits.write(() => outbox.enqueue({ endpoint: 'http://user', recipient: 'X', kind: 'response', requestRow: null, body }));
  outbox.start();
  queue('first');
  outbox.kick();
  t.deepEqual(posted, [], 'nothing goes out before the COMMIT');
  await commits.durable();
  t.deepEqual(posted, ['first'], 'out as soon as it is committed');
  // While 'first' is being delivered, a later group queues 'second'; the same connection already sees its row.
  queue('second');
  outbox.kick();
  release(200);
  for (let i = 0; i < 10; i++) await Promise.resolve();
  t.true(db.inTransaction, "the second group has not committed yet");
  t.deepEqual(posted, ['first'], 'the delivery loop does not take the uncommitted message');
  await commits.durable();
  t.deepEqual(posted, ['first', 'second']);
  release(200);
  await outbox.idle();
  await outbox.stop();
  commits.flush();
});

test('a lost group does not swallow the outbox look it carried: a committed message still goes out', async (t) => {
  const { db, put } = stores(t);
  const commits = new GroupCommit(db);
  const posted: string[] = [];
  const outbox = new Outbox(db, { post: async (_url, body) => (posted.push(body), 200) }, commits);
  outbox.enqueue({ endpoint: 'http://user', recipient: 'X', kind: 'response', requestRow: null, body: 'committed' }); // no group open: committed at once
  commits.write(() => put('a'));
  outbox.start(); // its look waits for the open group
  db.exec('ROLLBACK'); // ... which SQLite then loses
  await t.throwsAsync(commits.durable(), { instanceOf: StoreCommitError });
  await Promise.race([outbox.idle(), new Promise((r) => setTimeout(r, 1_000))]);
  t.deepEqual(posted, ['committed']);
  await outbox.stop();
});

test('durableSince(mark) rejects when a group open at the mark, or opened since, was lost, even once it is over', async (t) => {
  const { db, put } = stores(t);
  const commits = new GroupCommit(db);
  const before = commits.mark();
  commits.write(() => put('a'));
  const during = commits.mark(); // the open group counts for a mark taken while it is open
  db.exec('ROLLBACK'); // what SQLite does on its own after a full disk or an I/O error
  await t.throwsAsync(commits.durable(), { instanceOf: StoreCommitError });
  await t.throwsAsync(commits.durableSince(before), { instanceOf: StoreCommitError }, 'durable() alone would now resolve: no group is open');
  await t.throwsAsync(commits.durableSince(during), { instanceOf: StoreCommitError });
  const after = commits.mark();
  commits.write(() => put('b'));
  await t.notThrowsAsync(commits.durableSince(after), 'later work is not held to the lost group');
});

test('a store refusing the write that marks a delivery does not stop the DCC: the outbox carries on, and the message goes out again once the store takes writes', async (t) => {
  const { db, put } = stores(t);
  const commits = new GroupCommit(db);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.prependListener('unhandledRejection', onUnhandled);
  t.teardown(() => process.removeListener('unhandledRejection', onUnhandled));
  let posts = 0;
  const outbox = new Outbox(
    db,
    {
      initialBackoffMs: 5,
      maxBackoffMs: 20,
      post: async () => {
        if (++posts === 1) {
          // Other work opens a group in this turn, and SQLite rolls it back on its own (a full disk): the mark of
          // this delivery, in the same turn, is refused.
          commits.write(() => put('x'));
          db.exec('ROLLBACK');
        }
        return 200;
      },
    },
    commits,
  );
  commits.write(() => outbox.enqueue({ endpoint: 'http://user', recipient: 'X', kind: 'response', requestRow: null, body: 'm' }));
  outbox.start();
  await commits.durable().catch(() => {});
  await outbox.idle();
  await outbox.stop();
  commits.flush();
  t.deepEqual(unhandled, [], 'no unhandled rejection from the delivery loop');
  t.is(posts, 2, 'delivered once more after the refusal, as at-least-once allows');
  t.like(db.prepare('SELECT delivered_at IS NOT NULL AS done, attempts FROM outbox').get(), { done: 1, attempts: 1 });
});
