/** Shared checks for the use-case codec tests: round trips and strictness under mutation. */
import type { ExecutionContext } from 'ava';
import { ByteReader } from '../../../protocol/gbcs/bytes.ts';
import { type AccessRequest, readAccessRequest } from '../../../protocol/gbcs/dlms.ts';
import { type BuildContext, type UseCaseCodec } from '../../../protocol/gbcs/usecases/command-codec.ts';
import { type Component, readComponents } from '../../../protocol/gbcs/usecases/gbz-components.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';

export const SUPPLIER = parseEui('90B3D51F30010000');
export const ESME = parseEui('00DB1234567890A0');
export const GSME = parseEui('00DB1234567890A1');

export function ctx(counter = 1000n, recipient = ESME): BuildContext & { originator: typeof SUPPLIER; recipient: typeof ESME } {
  return { counter, originator: SUPPLIER, recipient };
}

/** Builds, parses back to the same parameters, and checks the rebuild is byte-identical. */
export function roundTrip<P>(t: ExecutionContext, codec: UseCaseCodec<P>, params: P, c = ctx()): Buffer {
  const content = codec.build(params, c);
  const parsed = codec.parse({ content, counter: c.counter, originator: c.originator, recipient: c.recipient });
  if (!parsed.ok) {
    t.fail(parsed.error.toString());
    return content;
  }
  t.deepEqual(parsed.value, params);
  t.deepEqual(codec.build(parsed.value, c), content);
  return content;
}

/** Every single-octet change of a valid content is either refused or parses to different parameters. */
export function mutationsNeverAlias<P>(t: ExecutionContext, codec: UseCaseCodec<P>, params: P, c = ctx()): void {
  const content = codec.build(params, c);
  let refused = 0;
  for (let i = 0; i < content.length; i++) {
    const m = Buffer.from(content);
    m[i] = m[i]! ^ 0x01;
    const p = codec.parse({ content: m, counter: c.counter, originator: c.originator, recipient: c.recipient });
    if (!p.ok) refused++;
    else t.notDeepEqual(p.value, params, `octet ${i}: a changed payload parsed to the same parameters`);
  }
  t.true(refused > 0);
  const truncated = codec.parse({ content: content.subarray(0, content.length - 1), counter: c.counter, originator: c.originator, recipient: c.recipient });
  t.false(truncated.ok, 'a truncated payload is refused');
  const longer = codec.parse({ content: Buffer.concat([content, Uint8Array.of(0)]), counter: c.counter, originator: c.originator, recipient: c.recipient });
  t.false(longer.ok, 'trailing octets are refused');
}

export function request(content: Uint8Array): AccessRequest {
  const r = new ByteReader(content);
  const req = readAccessRequest(r);
  r.expectEnd('request');
  return req;
}

export function components(content: Uint8Array): Component[] {
  return readComponents(content, 'test');
}

// ---------------------------------------------------------------- sample parameters for every use case

import { ByteWriter, toHex } from '../../../protocol/gbcs/bytes.ts';
import { type DlmsData, writeData } from '../../../protocol/gbcs/dlms.ts';
import { type Execution } from '../../../protocol/gbcs/datetime.ts';

export const FUTURE: Execution = { kind: 'at', at: new Date('2030-01-15T09:00:00Z') };

export function dlmsHex(d: DlmsData): string {
  const w = new ByteWriter();
  writeData(w, d);
  return toHex(w.finish());
}

const os = (hex: string): DlmsData => ({ type: 'octet-string', value: Buffer.from(hex, 'hex') });
const lu = (value: number): DlmsData => ({ type: 'long-unsigned', value });
const u8 = (value: number): DlmsData => ({ type: 'unsigned', value });

/** A special-days table: {index, date (year/month/day/dow unspecified where FF), day id}. */
export const SPECIAL_DAYS = dlmsHex({ type: 'array', items: [{ type: 'structure', items: [lu(1), os('FFFF071DFF'), u8(1)] }, { type: 'structure', items: [lu(2), os('FFFF0C19FF'), u8(2)] }] });
export const SEASONS = dlmsHex({ type: 'array', items: [{ type: 'structure', items: [os('616C6C'), os('07DF0101FF000000008000FF'), os('01')] }] });
export const WEEKS = dlmsHex({ type: 'array', items: [{ type: 'structure', items: [os('01'), u8(1), u8(1), u8(1), u8(1), u8(1), u8(2), u8(2)] }] });
export const DAYS = dlmsHex({ type: 'array', items: [{ type: 'structure', items: [u8(1), { type: 'array', items: [{ type: 'structure', items: [os('00000000'), os('00000A0064FF'), lu(101)] }] }] }] });
export const SCHEDULE = dlmsHex({ type: 'array', items: [{ type: 'structure', items: [lu(1), { type: 'boolean', value: true }, os('00000A006AFF'), lu(32), os('00000000'), lu(65535), { type: 'bit-string', bits: 7, bytes: Uint8Array.of(0x06) }, { type: 'bit-string', bits: 5, bytes: Uint8Array.of(0) }, os('07DE0A1BFF'), os('07DF031CFF')] }] });

/** Publish commands of the Calendar and Price clusters, start times zeroed (the codecs stamp them). */
const publish = (...parts: number[][]) => toHex(Buffer.from(parts.flat()));
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
export const GSME_CALENDAR = [
  { commandId: 0x00, payload: publish(le32(0), le32(0x1c374a80), le32(0x1c374a80), le32(0), [0x03, 0x00, 0x00, 0x01, 0x01, 0x01]) },
  { commandId: 0x01, payload: publish(le32(0), le32(0x1c374a80), le32(0x1c374a80), [0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]) },
  { commandId: 0x02, payload: publish(le32(0), le32(0x1c374a80), le32(0x1c374a80), [0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01]) },
  { commandId: 0x03, payload: publish(le32(0), le32(0x1c374a80), le32(0x1c374a80), [0x00, 0x01, 0xff, 0x03, 0x14, 0xff, 0x01]) },
  { commandId: 0x04, payload: publish(le32(0), le32(0x1c374a80), le32(0x1c374a80), le32(0), [0x00, 0x00, 0x00, 0x01]) },
];
export const TARIFF_INFORMATION = publish(le32(0), le32(0x1c374a80), le32(1), le32(0), [0x10, 0x00, 0x00, 0x03], le32(20000));
export const PRICE_MATRIX = publish(le32(0), le32(0x1c374a80), le32(0), le32(1), [0x00, 0x01, 0x01], [0x01], le32(9600), [0x02], le32(10200));
export const BLOCK_THRESHOLDS = publish(le32(0), le32(0x1c374a80), le32(0), le32(1), [0x00, 0x01, 0x01, 0x03], le32(1_000_000));
