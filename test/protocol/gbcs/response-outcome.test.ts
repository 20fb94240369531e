/** parseResponseContent: an ESME's ACCESS.response reports success only for results that are there and all 0. */
import test from 'ava';
import { ByteReader, ByteWriter, fromHex, toHex } from '../../../protocol/gbcs/bytes.ts';
import { MAX_GBZ_COMPONENTS, readGbz, writeGbz } from '../../../protocol/gbcs/gbz.ts';
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

/**
 * The GBZ content of DCC RTDS 4.5.0 GCS13a_4.1.1_ERROR_RESPONSE (a GSME read, encrypted for the User): control
 * 0x03 (last, encrypted), then the additional header 00 00, the ZCL header 18 00 01 (Read Attributes Response),
 * the ciphered information. The error is inside the ciphertext.
 */
const ENCRYPTED_READ_ERROR = fromHex('01090103070200310000180001002A31000000004B711A713941AFCD706623D5612F7115956EF8966230013AAEC45DBF90313AE26FCE17334E');

test('an encrypted GBZ component is read past its additional header, and its outcome is never taken for a success', (t) => {
  const gbz = readGbz(new ByteReader(ENCRYPTED_READ_ERROR));
  const c = gbz.components[0]!;
  t.deepEqual([c.control, c.clusterId, toHex(c.additionalHeader!), c.frame.frameControl, c.frame.commandId], [0x03, 0x0702, '0000', 0x18, 0x01]);
  const w = new ByteWriter();
  writeGbz(w, gbz);
  t.is(toHex(w.finish()), toHex(ENCRYPTED_READ_ERROR), 'written back byte for byte');
  const o = parseResponseContent(ENCRYPTED_READ_ERROR);
  t.false(o.ok, 'it read as a success (command 0x18) before');
  t.is(o.ok ? '' : o.error.code, 'unsupported');
  t.regex(o.ok ? '' : o.error.message, /encrypted GBZ component .*only the User's key reads it/);
});

test('a GBZ component with a From Date Time is read past it; unknown extended header bits are refused', (t) => {
  // control 0x11 (last, From Date Time), cluster 0x0705, length 4 + 3 + 2, the time, ZCL 18 00 0B (Default Response), 05 00.
  const content = fromHex('01090111070500091E2D3C4B18000B0500');
  const c = readGbz(new ByteReader(content)).components[0]!;
  t.deepEqual([c.fromDateTime, c.frame.frameControl, c.frame.commandId, toHex(c.frame.payload)], [0x1e2d3c4b, 0x18, 0x0b, '0500']);
  t.like(parseResponseContent(content), { ok: true, value: { family: 'gsme', success: true, status: 0 } });
  const unknown = parseResponseContent(fromHex('01090121070500051900' + '0B0500'));
  t.like(unknown.ok ? {} : unknown.error, { code: 'bad-value', message: 'extended header control 0x21' });
});
