/** The DCC's delivery outbox: at-least-once, in order per endpoint, retried with backoff, one slow endpoint never holding up another. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { NO_ENDPOINT_YET, Outbox } from '../../emulator/outbox.ts';
import { openStore } from '../../emulator/store.ts';
import { startTestDcc, unreachableDevices } from '../helpers/dcc.ts';
import { until } from '../helpers/poll.ts';
import { scratchDir } from '../helpers/scratch.ts';

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

test("one endpoint's long backoff does not hold up another's first retry", async (t) => {
  const db = openStore(null);
  const failures = new Map<string, number>();
  const deliveredAt = new Map<string, number>();
  const t0 = Date.now();
  let aBackedOff!: () => void;
  const aWaits = new Promise<void>((resolve) => (aBackedOff = resolve));
  // A fails once and then waits 30 s; B fails once and may retry after 20 ms.
  const outbox = new Outbox(db, {
    initialBackoffMs: 20,
    maxBackoffMs: 20,
    post: async (url) => {
      const n = failures.get(url) ?? 0;
      if (n < 1) {
        failures.set(url, n + 1);
        if (url === 'http://a') {
          setImmediate(() => {
            db.prepare("UPDATE outbox SET next_attempt_at = ? WHERE endpoint = 'http://a'").run(Date.now() + 30_000);
            aBackedOff();
          });
        }
        return 503;
      }
      deliveredAt.set(url, Date.now() - t0);
      return 200;
    },
  });
  outbox.enqueue({ endpoint: 'http://a', recipient: 'X', kind: 'response', requestRow: null, body: 'a' });
  outbox.start();
  await aWaits; // A has failed and is in its long backoff
  outbox.enqueue({ endpoint: 'http://b', recipient: 'X', kind: 'response', requestRow: null, body: 'b' });
  outbox.kick();
  t.true(await until(() => deliveredAt.has('http://b')), 'B was retried and delivered while A was still waiting');
  t.false(deliveredAt.has('http://a'));
  await outbox.stop();
});

test('a delivery in flight does not make the outbox rescan its store in a loop', async (t) => {
  const db = openStore(null);
  let scans = 0;
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    if (sql.startsWith('SELECT DISTINCT endpoint')) scans++;
    return prepare(sql);
  }) as typeof db.prepare;
  let release!: () => void;
  const outbox = new Outbox(db, { post: () => new Promise<number>((r) => (release = () => r(200))) });
  outbox.enqueue({ endpoint: 'http://slow', recipient: 'X', kind: 'response', requestRow: null, body: 'x' });
  outbox.enqueue({ endpoint: 'http://slow', recipient: 'X', kind: 'response', requestRow: null, body: 'y' });
  outbox.start();
  await new Promise((r) => setTimeout(r, 300));
  t.true(scans <= 2, `${scans} scans while one POST was in flight`);
  release();
  await new Promise((r) => setTimeout(r, 20));
  release();
  await outbox.idle();
  await outbox.stop();
});

test('a message for a recipient with no endpoint waits, kept, and goes out once one is routed to it', async (t) => {
  const got: string[] = [];
  const { db, outbox } = harness(async (url, body) => {
    got.push(`${url} ${body}`);
    return 200;
  });
  outbox.enqueue({ endpoint: NO_ENDPOINT_YET, recipient: '90B3D51F30010001', kind: 'response', requestRow: null, body: 'kept' });
  outbox.start();
  await outbox.idle(); // nothing it can deliver
  t.deepEqual(got, []);
  t.regex((db.prepare('SELECT last_error FROM outbox').get() as { last_error: string }).last_error, /has no endpoint registered: kept until it has one/);
  outbox.route('90B3D51F30010001', 'http://now-known');
  outbox.kick();
  await outbox.idle();
  t.deepEqual(got, ['http://now-known kept']);
  await outbox.stop();
});

/** An HTTP endpoint that records what is POSTed to it. */
async function recordingEndpoint(t: { teardown(f: () => void): void }): Promise<{ url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/smartdcc/duis`, received };
}

test("a User that replaces a dead endpoint gets there, in order, what waited at the old one", async (t) => {
  const w = await startTestDcc(unreachableDevices(), { persistent: false });
  t.teardown(() => w.close());
  const user = '90B3D51F30010001';
  await w.admin.party({ eui: user, name: 'Moving supplier', roles: ['IS'], endpoint: 'http://127.0.0.1:1/gone' });
  for (const body of ['<one/>', '<two/>']) w.dcc.service.outbox.enqueue({ endpoint: 'http://127.0.0.1:1/gone', recipient: user, kind: 'response', requestRow: null, body });
  w.dcc.service.outbox.kick();
  t.true(await until(async () => (await w.admin.deliveries(user)).some((m) => m.attempts > 0)), 'tried (and refused) at the old endpoint');
  const now = await recordingEndpoint(t);
  await w.admin.party({ eui: user, name: 'Moving supplier', roles: ['IS'], endpoint: now.url });
  await w.dcc.service.settled();
  t.deepEqual(now.received, ['<one/>', '<two/>']);
});

test('a DCC restarted with a callback delivers there what it kept for a User that had no endpoint', async (t) => {
  const stateDir = scratchDir(t, 'outbox-callback');
  const first = await startTestDcc(unreachableDevices(), { stateDir });
  await first.admin.party({ eui: '90B3D51F30010001', name: 'No endpoint yet', roles: ['IS'] });
  first.dcc.service.outbox.enqueue({ endpoint: NO_ENDPOINT_YET, recipient: '90B3D51F30010001', kind: 'response', requestRow: null, body: '<kept/>' });
  await first.dcc.service.durable();
  await first.close();

  const { url, received } = await recordingEndpoint(t);
  const second = await startTestDcc(unreachableDevices(), { stateDir, extra: { callback: url } });
  t.teardown(() => second.close());
  await second.dcc.service.settled();
  t.deepEqual(received, ['<kept/>']);
});

test('waiting messages are rerouted as a whole, asking where each kind of message goes once: alerts of many meters, and responses, each to where the DCC says', (t) => {
  const db = openStore(null);
  t.teardown(() => db.close());
  const asked: string[] = [];
  const outbox = new Outbox(db, {}, undefined, (m) => {
    asked.push(`${m.kind}/${m.recipient}/${m.device}`);
    // A failed supplier's alerts go to the party instructed for their meter (odd meters to one, even to another).
    if (m.kind === 'device-alert') return { recipient: 'SRP', endpoint: Number.parseInt(m.device!.slice(-1), 16) % 2 ? 'http://odd' : 'http://even' };
    return null;
  });
  db.transaction(() => {
    for (let i = 0; i < 300; i++) {
      outbox.enqueue({ endpoint: NO_ENDPOINT_YET, recipient: 'SUP', addressee: 'SUP', device: `00DB0000000${i.toString(16).toUpperCase().padStart(5, '0')}`, kind: 'device-alert', requestRow: null, body: `a${i}` });
      outbox.enqueue({ endpoint: NO_ENDPOINT_YET, recipient: 'USER', kind: 'response', requestRow: null, body: `r${i}` });
    }
  })();
  t.true(db.transaction(() => outbox.rerouteWaiting())());
  t.is(asked.length, 301, 'once per meter, and once for the responses that all wait for one User');
  const at = (endpoint: string) => (db.prepare('SELECT body FROM outbox WHERE endpoint = ? ORDER BY id').all(endpoint) as { body: string }[]).map((r) => r.body);
  t.deepEqual(at('http://odd'), Array.from({ length: 150 }, (_, k) => `a${2 * k + 1}`), 'in order');
  t.deepEqual(at('http://even'), Array.from({ length: 150 }, (_, k) => `a${2 * k}`));
  t.is(at(NO_ENDPOINT_YET).length, 300, 'the responses still wait for their User');
});
