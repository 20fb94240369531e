/** FaultLink over a serial link (mock wire) whose first frame stays unacknowledged: withdrawals pass through it. */
import test from 'ava';
import { FaultLink } from '../../../devices/rig/fault-link.ts';
import { LinkError } from '../../../devices/transports/link.ts';
import { MockWire } from '../transports/serial/mock-wire.ts';

async function stalled() {
  const wire = new MockWire();
  // The far end's first ACK is lost: the first frame stays on the wire for an ACK timeout, the next ones queue.
  wire.rule = (f) => (f.direction === 'b->a' && f.type === 'ack' && f.index === 0 ? 'drop' : 'pass');
  const dcc = new FaultLink(wire.link('a'));
  const device = wire.link('b');
  const got: string[] = [];
  device.onFrame((f) => got.push(Buffer.from(f).toString()));
  await Promise.all([dcc.open(), device.open()]);
  const until = async (n: number) => {
    for (let i = 0; i < 500 && got.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  };
  return { dcc, got, until, close: () => Promise.all([dcc.close(), device.close()]) };
}

test('a frame the link underneath still holds is withdrawn through a FaultLink, and never delivered', async (t) => {
  const p = await stalled();
  const first = p.dcc.send(Buffer.from('first'));
  const withdraw = new AbortController();
  const queued = p.dcc.send(Buffer.from('withdrawn'), { signal: withdraw.signal });
  withdraw.abort();
  const e = await t.throwsAsync(queued, { instanceOf: LinkError });
  t.is(e?.kind, 'withdrawn');
  await first;
  await p.dcc.send(Buffer.from('after'));
  await p.until(2);
  t.deepEqual(p.got, ['first', 'after']);
  await p.close();
});

test('a duplicated frame whose first copy went out is not withdrawn: the device gets both copies', async (t) => {
  const p = await stalled();
  p.dcc.faults.add({ action: 'duplicate', direction: 'to-device', frames: 0 });
  const withdraw = new AbortController();
  const sending = p.dcc.send(Buffer.from('twice'), { signal: withdraw.signal });
  withdraw.abort();
  await t.notThrowsAsync(sending);
  await p.until(2);
  t.deepEqual(p.got, ['twice', 'twice']);
  await p.close();
});
