/**
 * The parent's side of the link host over a real pty: a close that comes right after open() (before the host has
 * said 'opening'), a host closed twice at once, and a queued frame withdrawn through the host.
 */
import test from 'ava';
import { LinkError } from '../../../../devices/transports/link.ts';
import { openPtyPair } from '../../../../devices/transports/serial/pty-pair.ts';
import { LinkHost } from '../../../../devices/transports/serial/remote-link.ts';
import { requireSocat } from './support.ts';

requireSocat();

test('a link closed right after open() stays closed: open rejects (closed) and the port is free for another', async (t) => {
  const [host, pty] = await Promise.all([LinkHost.start(), openPtyPair()]);
  try {
    const link = host.link({ path: pty.a });
    const opening = link.open();
    await link.close();
    const e = await t.throwsAsync(opening, { instanceOf: LinkError });
    t.is(e?.kind, 'closed');
    t.is(link.state, 'closed');
    // serialport locks the ports it opens: a port still held would refuse this one.
    const again = host.link({ path: pty.a });
    await t.notThrowsAsync(again.open());
    await again.close();
  } finally {
    await host.close();
    await pty.close();
  }
});

test('a link host closed twice at once (a session and an exit handler): both closes return once it has exited', async (t) => {
  const host = await LinkHost.start();
  await t.notThrowsAsync(Promise.all([host.close(), host.close()]));
  await t.notThrowsAsync(host.close());
  await t.throwsAsync(host.link({ path: '/dev/null' }).open(), { instanceOf: LinkError, message: /link host has exited/ });
});

test('a frame queued in the link host is withdrawn when its signal aborts, and never crosses', async (t) => {
  const [host, pty] = await Promise.all([LinkHost.start(), openPtyPair()]);
  try {
    // Nobody on the far end yet: the first frame goes unacknowledged (retransmitted each second), the next waits.
    const a = host.link({ path: pty.a, ackTimeoutMs: 1000 });
    const b = host.link({ path: pty.b });
    const got: string[] = [];
    b.onFrame((f) => got.push(Buffer.from(f).toString()));
    await a.open();
    const first = a.send(Buffer.from('first'));
    const withdraw = new AbortController();
    const queued = a.send(Buffer.from('withdrawn'), { signal: withdraw.signal });
    withdraw.abort();
    const e = await t.throwsAsync(queued, { instanceOf: LinkError });
    t.is(e?.kind, 'withdrawn');
    await b.open();
    await first;
    await a.send(Buffer.from('after'));
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    t.deepEqual(got, ['first', 'after']);
    await Promise.all([a.close(), b.close()]);
  } finally {
    await host.close();
    await pty.close();
  }
});

test("a synchronous exchange on a link that cannot send is answered with its error, and the host lives on: the reply's timeout ended the host, and every link with it", async (t) => {
  const [host, pty, gone] = await Promise.all([LinkHost.start(), openPtyPair(), openPtyPair()]);
  try {
    // Two links on either end of one pty pair, so a frame can cross (and be acknowledged).
    const a = host.link({ path: pty.a });
    const b = host.link({ path: pty.b });
    await Promise.all([a.open(), b.open()]);
    // Another device's link, closed (its device died, or was power cycled) before the engine's snapshot.
    const dead = host.link({ path: gone.a });
    await dead.open();
    await dead.close();
    const reply = host.exchangeSync([{ link: dead, id: -1, message: JSON.stringify({ op: 'snapshot', id: -1 }) }], 300);
    t.regex(reply.items[0]?.error ?? '', /link is closed/);
    const exited = await Promise.race([host.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1_500))]);
    t.false(exited, 'the link host is still running past the exchange timeout');
    t.is(a.state, 'open');
    await t.notThrowsAsync(a.send(Buffer.from('still there')));
  } finally {
    await host.close();
    await Promise.all([pty.close(), gone.close()]);
  }
});
