import test from 'ava';
import { gbcsInvokeId } from '../../../protocol/gbcs/dlms.ts';
import { ECS09, GCS06 } from '../../../protocol/gbcs/usecases/emergency-credit.ts';
import { ECS04a, ECS04b, GCS40a, GCS40b, GCS40c, GCS40d } from '../../../protocol/gbcs/usecases/meter-balance.ts';
import { ECS42, ECS43, ECS44, GCS32, GCS39, supplyStatusResponse } from '../../../protocol/gbcs/usecases/supply.ts';
import { components, ctx, GSME, mutationsNeverAlias, request, roundTrip } from './usecases-support.ts';

test('ECS04a (SRV 1.5): ACTION update_amount on the Meter Balance with the unscaled DUIS amount', (t) => {
  const content = roundTrip(t, ECS04a, { amount: 1_200_000 });
  const req = request(content);
  t.is(req.invokeId, gbcsInvokeId(1000n));
  t.deepEqual(req.specs, [{ kind: 'action', target: { classId: 0x70, instance: '0000130A00FF', index: 1 } }]);
  t.deepEqual(req.data, [{ type: 'double-long', value: 1_200_000 }]);
  roundTrip(t, ECS04a, { amount: -5 });
  mutationsNeverAlias(t, ECS04a, { amount: 1_200_000 });
  t.throws(() => ECS04a.build({ amount: 2 ** 31 }, ctx()), { instanceOf: RangeError });
});

test('ECS04b (SRV 1.5): set_amount_to_value 0 on meter balance, emergency credit and accumulated debt', (t) => {
  const req = request(roundTrip(t, ECS04b, {}));
  t.deepEqual(req.specs.map((s) => [s.kind, s.target.instance, s.target.index]), [['action', '0000130A00FF', 2], ['action', '0000130A01FF', 2], ['action', '0000130A02FF', 2]]);
  t.true(req.data.every((d) => d.type === 'double-long' && d.value === 0));
  mutationsNeverAlias(t, ECS04b, {});
});

test('GCS40a-d (SRV 1.5): Credit Adjustment with the adjustment type of each variant', (t) => {
  for (const [codec, type] of [[GCS40a, 0], [GCS40b, 1], [GCS40c, 3], [GCS40d, 2]] as const) {
    const params = { amount: 23130, issuerEventId: 0x1c374a80 };
    const [c] = components(roundTrip(t, codec, params, ctx(1000n, GSME)));
    t.is(c?.clusterId, 0x0705);
    t.is(c?.commandId, 0x05);
    t.is(c?.payload[8], type, codec.name);
    t.is(Buffer.from(c!.payload).readInt32LE(9), 23130);
    mutationsNeverAlias(t, codec, params, ctx(1000n, GSME));
  }
  // The adjustment type names the use case: a GCS40a payload is not a GCS40b.
  const a = GCS40a.build({ amount: 1 }, ctx(1000n, GSME));
  t.false(GCS40b.parse({ content: a, counter: 1000n }).ok);
  t.true(GCS40a.parse({ content: GCS40a.build({ amount: -1 }, ctx(1000n, GSME)), counter: 1000n }).ok);
});

test('ECS09 / GCS06 (SRV 2.5): invoke emergency credit, Select Available Emergency Credit', (t) => {
  const req = request(roundTrip(t, ECS09, {}));
  t.deepEqual(req.specs[0]?.target, { classId: 0x70, instance: '0000130A01FF', index: 3 });
  t.deepEqual(req.data[0], { type: 'integer', value: 0 });
  const [c] = components(roundTrip(t, GCS06, {}, ctx(1000n, GSME)));
  t.deepEqual([c?.clusterId, c?.commandId, c?.payload.length], [0x0705, 0x00, 5]);
  mutationsNeverAlias(t, ECS09, {});
  mutationsNeverAlias(t, GCS06, {}, ctx(1000n, GSME));
});

test('ECS42/43/44 (SRV 7.1-7.3): the disconnect script table with scripts 51, 52, 54; each refuses the others', (t) => {
  for (const [codec, script] of [[ECS42, 51], [ECS43, 52], [ECS44, 54]] as const) {
    const content = roundTrip(t, codec, {});
    const req = request(content);
    t.deepEqual(req.specs[0]?.target, { classId: 9, instance: '00000A006AFF', index: 1 });
    t.deepEqual(req.data[0], { type: 'long-unsigned', value: script });
    for (const other of [ECS42, ECS43, ECS44]) if (other !== codec) t.false(other.parse({ content, counter: 1000n }).ok);
    mutationsNeverAlias(t, codec, {});
  }
});

test('GCS32 / GCS39 (SRV 7.2, 7.3): Change Supply off / armed; the Supply Status Response echoes the request', (t) => {
  for (const [codec, status] of [[GCS32, 0], [GCS39, 1]] as const) {
    const content = roundTrip(t, codec, { issuerEventId: 7 }, ctx(1000n, GSME));
    const [c] = components(content);
    t.deepEqual([c?.clusterId, c?.commandId, c?.payload[16], c?.payload[17]], [0x0702, 0x0b, status, 0x01]);
    const res = supplyStatusResponse(c!, codec.action as 'disable' | 'arm');
    t.deepEqual([res.commandId, res.frameControl, res.payload.length, res.payload[12]], [0x0c, 0x09, 13, status]);
    mutationsNeverAlias(t, codec, { issuerEventId: 7 }, ctx(1000n, GSME));
  }
  t.false(GCS39.parse({ content: GCS32.build({}, ctx(1000n, GSME)), counter: 1000n }).ok);
});
