/** parseResponseContent: an ESME's ACCESS.response reports success only for results that are there and all 0. */
import test from 'ava';
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
