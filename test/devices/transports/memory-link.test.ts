import test from 'ava';
import { ECS04a } from '../../../protocol/gbcs/usecases/meter-balance.ts';
import { connectInMemory } from '../../../devices/connect.ts';
import { linkContract } from '../../../devices/transports/contract.ts';
import { LinkError } from '../../../devices/transports/link.ts';
import { createMemoryLinkPair } from '../../../devices/transports/memory-link.ts';
import { TransportError } from '../../../devices/transports/transport.ts';
import { build, ESME_EUI, meter } from '../support.ts';

linkContract(test, {
  name: 'memory link',
  create: () => {
    const pair = createMemoryLinkPair();
    return { dcc: pair.dcc, device: pair.device, faults: pair.faults };
  },
  faults: true,
});

test('memory link: a close while opening stands (open rejects), as on a serial line', async (t) => {
  const pair = createMemoryLinkPair();
  const opening = pair.dcc.open();
  await pair.dcc.close();
  await t.throwsAsync(opening, { message: /closed while opening/ });
  t.is(pair.dcc.state, 'closed');
});

test('memory link: a connection cut while both ends open leaves them failed, and nothing crosses it', async (t) => {
  const pair = createMemoryLinkPair();
  const got: Uint8Array[] = [];
  pair.device.onFrame((f) => got.push(f));
  const opening = [pair.dcc.open(), pair.device.open()];
  pair.faults.disconnect();
  const outcomes = await Promise.allSettled(opening);
  t.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
  t.deepEqual([pair.dcc.state, pair.device.state], ['failed', 'failed']);
  await t.throwsAsync(pair.dcc.send(Uint8Array.of(1, 2, 3)));
  await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(got, []);
});

test('memory link: a closed far end is an infrastructure failure (disconnected), not a frame silently lost', async (t) => {
  const esme = meter('esme').meter;
  const adjust = (amount: number, counter: bigint) => build.command(ECS04a, { amount }, { device: ESME_EUI, counter });
  const balance = esme.meterBalance;
  const c = await connectInMemory([esme], { transport: { timeouts: { responseMs: 5000 } } });
  await c.host.stop();
  const e = await t.throwsAsync(c.transport.request(adjust(1, 1n)), { instanceOf: TransportError });
  t.is(e?.kind, 'disconnected');
  t.is(esme.meterBalance, balance);
  await t.throwsAsync(c.pair.device.send(Uint8Array.of(1)), { instanceOf: LinkError, message: /link is closed/ });
  // The device back: the same DCC end carries frames again.
  await c.host.start();
  await c.transport.request(adjust(2, 2n));
  t.is(esme.meterBalance, balance + 2);
  await c.close();
});
