import test from 'ava';
import { decodeReadAttributesResponse, ECS17b, ECS19, esmePrepayValuesData, GCS13a, GCS14, readAttributesResponse, readEsmePrepayValues, requestedAttributes, ZclType } from '../../../protocol/gbcs/usecases/reads.ts';
import { consumerTopUpResponse, CS01a, CS01b, decodeConsumerTopUpResponse, makeUtrn, readUtrn } from '../../../protocol/gbcs/usecases/top-up.ts';
import { codecByCode, USE_CASE_CODECS } from '../../../protocol/gbcs/usecases/catalogue.ts';
import { allUseCases, useCaseByCode } from '../../../protocol/gbcs/message-codes.ts';
import { components, ctx, GSME, mutationsNeverAlias, request, roundTrip } from './usecases-support.ts';

const UTRN = makeUtrn(12_345, 42n);

test('CS01a / CS01b (SRV 2.2): the UTRN as 20 ASCII digits, to the token gateway or as Consumer Top Up', (t) => {
  const req = request(roundTrip(t, CS01a, { utrn: UTRN }));
  t.deepEqual(req.specs[0]?.target, { classId: 0x73, instance: '0000132800FF', index: 1 });
  t.is(Buffer.from((req.data[0] as { value: Uint8Array }).value).toString('latin1'), UTRN);
  const [c] = components(roundTrip(t, CS01b, { utrn: UTRN }, ctx(1000n, GSME)));
  t.deepEqual([c?.clusterId, c?.commandId, c?.payload[0], c?.payload[1]], [0x0705, 0x04, 0x00, 20]);
  mutationsNeverAlias(t, CS01a, { utrn: UTRN });
  t.throws(() => CS01a.build({ utrn: '1234' }, ctx()), { instanceOf: RangeError });
  t.false(CS01a.critical);
});

test('[model] UTRN: an 8-digit amount then a 12-digit counter', (t) => {
  t.is(UTRN, '00012345000000000042');
  t.deepEqual(readUtrn(UTRN), { amount: 12_345, counter: 42n });
  const r = consumerTopUpResponse({ clusterId: 0x0705, frameControl: 1, sequence: 0, commandId: 4, payload: new Uint8Array() }, { result: 0, topUpValue: 12_345, creditRemaining: 99 });
  t.deepEqual(decodeConsumerTopUpResponse(r.payload), { ok: true, value: { result: 0, topUpValue: 12_345, creditRemaining: 99 } });
});

test('ECS17b / ECS19 (SRV 4.1.1, 4.3): get_protected_attributes binding the counter and both EUIs', (t) => {
  for (const [codec, object] of [[ECS17b, '00002B0208FF'], [ECS19, '00002B0201FF']] as const) {
    const content = roundTrip(t, codec, {});
    t.deepEqual(request(content).specs[0]?.target, { classId: 0x1e, instance: object, index: 1 });
    t.true(content.includes(Buffer.from('90B3D51F30010000', 'hex')), 'names the originator');
    // The same read for another counter or originator is a different payload.
    t.false(codec.parse({ content, counter: 1001n, originator: ctx().originator, recipient: ctx().recipient }).ok);
    t.false(codec.parse({ content, counter: 1000n }).ok, 'cannot be checked without the EUIs');
  }
});

test('GCS13a / GCS14 (SRV 4.1.1, 4.3): Read Attributes; the clear-text responses decode', (t) => {
  const [m] = components(roundTrip(t, GCS13a, {}, ctx(1000n, GSME)));
  t.deepEqual(requestedAttributes(m!), [0x0302, 0x0301, 0x0300, 0x0000]);
  const cs = components(roundTrip(t, GCS14, {}, ctx(1000n, GSME)));
  t.deepEqual(cs.map((c) => c.clusterId), [0x0700, 0x0705]);
  const res = readAttributesResponse(cs[1]!, [{ id: 0x0001, status: 0, type: ZclType.int32, value: -250 }, { id: 0x0002, status: 0x86 }]);
  t.deepEqual(decodeReadAttributesResponse(res.payload), { ok: true, value: [{ id: 0x0001, status: 0, type: ZclType.int32, value: -250 }, { id: 0x0002, status: 0x86 }] });
  const values = { paymentMode: 'prepayment' as const, meterBalance: -3, emergencyCreditBalance: 4, accumulatedDebt: 5, timeDebt1: 6, timeDebt2: 7, paymentDebt: 8 };
  t.deepEqual(readEsmePrepayValues(esmePrepayValuesData(values)), { ok: true, value: values });
});

test('the catalogue holds each use case once, consistent with the message code table', (t) => {
  const codes = new Set(USE_CASE_CODECS.map((c) => c.code));
  t.is(codes.size, USE_CASE_CODECS.length);
  for (const u of allUseCases()) {
    const c = codecByCode(u.code);
    t.truthy(c, `${u.name} has a codec`);
    t.is(c?.name, u.name);
    t.is(c?.critical, u.critical, u.name);
    t.is(c?.family, u.family, u.name);
  }
  // And the other way: a codec the table lacks has no name in `gbcs decode`, and no SRV for the SoLR content check.
  for (const c of USE_CASE_CODECS) t.like(useCaseByCode(c.code), { name: c.name, srv: c.srv }, `${c.name} is in the message code table`);
});
