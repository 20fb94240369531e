/** The DCC's delivery outbox: at-least-once, in order per endpoint, retried with backoff, one slow endpoint never holding up another. */
import test from 'ava';
import { Outbox } from '../../emulator/outbox.ts';
import { openStore } from '../../emulator/store.ts';

function harness(post: (url: string, body: string) => Promise<number>) {
  const db = openStore(null);
  const outbox = new Outbox(db, { initialBackoffMs: 5, maxBackoffMs: 20, timeoutMs: 2_000, post: (url, body) => post(url, body) });
  const queue = (endpoint: string, body: string) => outbox.enqueue({ endpoint, recipient: 'X', kind: 'response', requestRow: null, body });
  return { db, outbox, queue };
}

test('a dead endpoint is retried until it answers, in order, and another endpoint is served meanwhile', async (t) => {
  const got: string[] = [];
  let deadFailures = 0;
  let fastDelivered = 0;
  const { outbox, queue, db } = harness(async (url, body) => {
    if (url === 'http://dead') {
      if (deadFailures < 5) {
        deadFailures++;
        return 503;
      }
      got.push(body);
      return 200;
    }
    fastDelivered++;
    return 200;
  });
  queue('http://dead', 'first');
  queue('http://dead', 'second');
  for (let i = 0; i < 20; i++) queue('http://fast', `f${i}`);
  outbox.start();
  await outbox.idle();
  t.deepEqual(got, ['first', 'second'], 'delivered in order once the endpoint came back');
  t.is(fastDelivered, 20);
  t.is(deadFailures, 5);
  const attempts = db.prepare("SELECT attempts FROM outbox WHERE endpoint = 'http://dead' ORDER BY id").all() as { attempts: number }[];
  t.deepEqual(attempts.map((a) => a.attempts), [6, 1]);
  await outbox.stop();
});

test('a hanging endpoint does not delay the others', async (t) => {
  const order: string[] = [];
  let release!: () => void;
  const hang = new Promise<number>((r) => (release = () => r(200)));
  const { outbox, queue } = harness(async (url, body) => {
    if (url === 'http://slow') {
      order.push(`slow:${body}`);
      return hang;
    }
    order.push(`fast:${body}`);
    return 200;
  });
  queue('http://slow', 's1');
  queue('http://fast', 'a');
  queue('http://fast', 'b');
  outbox.start();
  while (order.filter((o) => o.startsWith('fast')).length < 2) await new Promise((r) => setTimeout(r, 5));
  t.deepEqual(order.filter((o) => o.startsWith('fast')), ['fast:a', 'fast:b'], 'the fast endpoint was served while the slow one hung');
  release();
  await outbox.idle();
  await outbox.stop();
});

test('messages queued before a restart are delivered by the next outbox on the same store', async (t) => {
  const first = harness(async () => 503);
  first.queue('http://e', 'kept');
  // No start(): the process "dies" with the message queued.
  const delivered: string[] = [];
  const second = new Outbox(first.db, { initialBackoffMs: 5, post: async (_url, body) => (delivered.push(body), 200) });
  second.start();
  await second.idle();
  t.deepEqual(delivered, ['kept']);
  await second.stop();
});
