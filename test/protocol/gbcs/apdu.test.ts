import test from 'ava';
import type { DecodeErrorCode } from '../../../protocol/gbcs/errors.ts';
import {
  decodeGeneralCiphering,
  decodeGeneralSigning,
  encodeGeneralCiphering,
  encodeGeneralSigning,
} from '../../../protocol/gbcs/apdu.ts';
import { rtdsFrame, rtdsFrames } from '../../helpers/fixtures.ts';

const commandFrames = rtdsFrames().filter((f) => f.name.includes('_COMMAND_'));
const signingFrames = rtdsFrames().filter((f) => !f.name.includes('_COMMAND_'));

for (const { name, bytes } of signingFrames) {
  test(`General-Signing ${name} decodes and re-encodes byte-identically`, (t) => {
    const d = decodeGeneralSigning(bytes);
    if (!d.ok) return t.fail(d.error.toString());
    t.deepEqual(encodeGeneralSigning(d.value), bytes);
  });
}

for (const { name, bytes } of commandFrames) {
  test(`General-Ciphering ${name} decodes, its payload is a signed APDU, and it re-encodes`, (t) => {
    const c = decodeGeneralCiphering(bytes);
    if (!c.ok) return t.fail(c.error.toString());
    t.is(c.value.securityControl, 0x11);
    t.is(c.value.mac.length, 12);
    const inner = decodeGeneralSigning(c.value.payload);
    if (!inner.ok) return t.fail(inner.error.toString());
    t.is(inner.value.signature?.length, 64);
    t.deepEqual(encodeGeneralCiphering(c.value), bytes);
  });
}

test('ECS02 Pre-Command header fields', (t) => {
  const d = decodeGeneralSigning(rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX'));
  if (!d.ok) return t.fail(d.error.toString());
  const a = d.value;
  t.is(a.cra, 'command');
  t.is(a.counter, 1002n);
  t.is<string, string>(a.originator, '90B3D51F30010000');
  t.is<string, string>(a.recipient, '00DB1234567890A0');
  t.is(a.dateTime, null);
  t.is(a.messageCode, 0x001a);
  t.is(a.signature, null);
  t.is(a.content[0], 0xd9);
});

test('a response carries its date-time and the device as originator', (t) => {
  const d = decodeGeneralSigning(rtdsFrame('GCS02_1.6_IMMEDIATE_SUCCESS_RESPONSE_GBCS.HEX'));
  if (!d.ok) return t.fail(d.error.toString());
  t.is(d.value.cra, 'response');
  t.is<string, string>(d.value.originator, '00DB1234567890A1');
  t.is(Buffer.from(d.value.dateTime!).toString('hex').toUpperCase(), '07DF0101FF000000008000FF');
});

test('malformed frames give typed errors with offsets', (t) => {
  const pre = rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX');
  const cases: [Uint8Array, DecodeErrorCode, number][] = [
    [new Uint8Array(0), 'truncated', 0],
    [Uint8Array.of(0xde), 'bad-tag', 0],
    [pre.subarray(0, 5), 'truncated', 3],
    [Buffer.concat([pre, Buffer.of(0, 0)]), 'trailing-bytes', pre.length + 1],
    [Buffer.concat([pre, Buffer.of(5)]), 'bad-length', pre.length],
  ];
  const badCra = Buffer.from(pre);
  badCra[2] = 0x07;
  cases.push([badCra, 'bad-value', 2]);
  const badTx = Buffer.from(pre);
  badTx[1] = 0x08;
  cases.push([badTx, 'bad-length', 1]);
  for (const [bytes, code, offset] of cases) {
    const d = decodeGeneralSigning(bytes);
    t.false(d.ok);
    if (!d.ok) {
      t.is(d.error.code, code, d.error.toString());
      t.is(d.error.offset, offset, d.error.toString());
    }
  }
});

test('non-minimal BER lengths are refused, so accepted frames re-encode exactly', (t) => {
  const pre = rtdsFrame('GCS02_1.6_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX');
  // other-information length 02 written as 81 02
  const at = 1 + 10 + 9 + 9 + 1;
  t.is(pre[at], 0x02);
  const long = Buffer.concat([pre.subarray(0, at), Buffer.of(0x81), pre.subarray(at)]);
  const d = decodeGeneralSigning(long);
  t.false(d.ok);
  if (!d.ok) t.is(d.error.code, 'bad-length');

  // Every other length of the header too: a long form would decode, verify, and re-encode to other bytes.
  const lengths: [string, number, number][] = [
    ['transaction-id', 1, 0x09],
    ['originator system title', 1 + 10, 0x08],
    ['recipient system title', 1 + 10 + 9, 0x08],
    ['date-time', 1 + 10 + 9 + 9, 0x00],
  ];
  for (const [what, offset, value] of lengths) {
    t.is(pre[offset], value, what);
    for (const form of [[0x81, value], [0x84, 0, 0, 0, value]]) {
      const bytes = Buffer.concat([pre.subarray(0, offset), Buffer.from(form), pre.subarray(offset + 1)]);
      const r = decodeGeneralSigning(bytes);
      t.false(r.ok, `${what} written ${Buffer.from(form).toString('hex')}`);
      if (!r.ok) t.regex(r.error.message, /non-minimal BER length/, what);
    }
  }
  const ciphering = decodeGeneralCiphering(Buffer.of(0xdd, 0x81, 0x00, 0, 0, 0, 0, 0, 0x02, 0x11, 0x00));
  t.false(ciphering.ok);
  if (!ciphering.ok) t.regex(ciphering.error.message, /transaction-id length: non-minimal BER length/);
});
