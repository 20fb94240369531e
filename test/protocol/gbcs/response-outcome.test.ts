/** parseResponseContent: an ESME's ACCESS.response reports success only for results that are there and all 0. */
import test from 'ava';
import { MAX_GBZ_COMPONENTS } from '../../../protocol/gbcs/gbz.ts';
import { defaultResponseFor, Fc, readComponents, writeComponents } from '../../../protocol/gbcs/usecases/gbz-components.ts';
import { encodeAccessResponse, parseResponseContent } from '../../../protocol/gbcs/usecases/responses.ts';

const outcome = (results: number[]) => {
  const o = parseResponseContent(encodeAccessResponse({ invokeId: 1, data: results.map(() => ({ type: 'null' as const })), results: results.map((result) => ({ kind: 'set' as const, result })) }));
  if (!o.ok) throw new Error(o.error.toString());
  return o.value;
};

test('an ACCESS.response with no results at all reports nothing done: not a success', (t) => {
  t.like(outcome([]), { family: 'esme', success: false, results: [] });
});

test('an ACCESS.response succeeds when every result is 0, and fails on any other', (t) => {
  t.like(outcome([0, 0, 0]), { family: 'esme', success: true });
  t.like(outcome([0, 3, 250]), { family: 'esme', success: false });
});

test('a GSME answer of as many components as a GBZ command may hold is read, one more is refused by every reader', (t) => {
  const answer = (n: number) => writeComponents(Array.from({ length: n }, (_, i) => defaultResponseFor({ clusterId: 0x0700, frameControl: Fc.clusterServerToClient, sequence: i, commandId: 0x01 }, i === n - 1 ? 0x81 : 0)));
  // A tariff (GCS01a) with many day profiles is a command of dozens of components, answered one by one.
  const most = parseResponseContent(answer(MAX_GBZ_COMPONENTS));
  t.true(most.ok, most.ok ? '' : most.error.toString());
  t.like(most.ok ? most.value : {}, { family: 'gsme', success: false, status: 0x81 });
  t.notThrows(() => readComponents(answer(MAX_GBZ_COMPONENTS), 'answer'));
  // One more (the writer refuses to make it): a copy of the first component appended, the count raised.
  const full = answer(MAX_GBZ_COMPONENTS);
  const over = Buffer.concat([full, full.subarray(3, 3 + (full.length - 3) / MAX_GBZ_COMPONENTS)]);
  over[2] = MAX_GBZ_COMPONENTS + 1;
  t.false(parseResponseContent(over).ok);
  t.throws(() => readComponents(over, 'answer'), { message: /GBZ component count 65/ });
});
