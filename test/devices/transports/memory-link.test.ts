import test from 'ava';
import { linkContract } from '../../../devices/transports/contract.ts';
import { createMemoryLinkPair } from '../../../devices/transports/memory-link.ts';

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
