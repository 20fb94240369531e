/**
 * The small part of DLMS/COSEM that GBCS ESME content uses: typed Data (A-XDR), and the ACCESS.request /
 * ACCESS.response APDUs (tags 0xD9 / 0xDA) with SET / GET / ACTION specifications.
 */
import { berLength, ByteReader, ByteWriter, hex2 } from './bytes.ts';
import { fail } from './errors.ts';

export type DlmsData =
  | { type: 'null' }
  | { type: 'array'; items: DlmsData[] }
  | { type: 'structure'; items: DlmsData[] }
  | { type: 'boolean'; value: boolean }
  | { type: 'bit-string'; bits: number; bytes: Uint8Array }
  | { type: 'double-long'; value: number }
  | { type: 'double-long-unsigned'; value: number }
  | { type: 'octet-string'; value: Uint8Array }
  | { type: 'visible-string'; value: string }
  | { type: 'integer'; value: number }
  | { type: 'long'; value: number }
  | { type: 'unsigned'; value: number }
  | { type: 'long-unsigned'; value: number }
  | { type: 'long64'; value: bigint }
  | { type: 'long64-unsigned'; value: bigint }
  | { type: 'enum'; value: number };

const TAG = {
  null: 0x00,
  array: 0x01,
  structure: 0x02,
  boolean: 0x03,
  'bit-string': 0x04,
  'double-long': 0x05,
  'double-long-unsigned': 0x06,
  'octet-string': 0x09,
  'visible-string': 0x0a,
  integer: 0x0f,
  long: 0x10,
  unsigned: 0x11,
  'long-unsigned': 0x12,
  long64: 0x14,
  'long64-unsigned': 0x15,
  enum: 0x16,
} as const;

/** Nesting deeper than this is refused: GBCS payloads nest three levels at most. */
const MAX_DEPTH = 8;

export const D = {
  null: (): DlmsData => ({ type: 'null' }),
  array: (items: DlmsData[]): DlmsData => ({ type: 'array', items }),
  structure: (...items: DlmsData[]): DlmsData => ({ type: 'structure', items }),
  boolean: (value: boolean): DlmsData => ({ type: 'boolean', value }),
  bits: (bits: number, bytes: Uint8Array): DlmsData => ({ type: 'bit-string', bits, bytes }),
  doubleLong: (value: number): DlmsData => ({ type: 'double-long', value }),
  doubleLongUnsigned: (value: number): DlmsData => ({ type: 'double-long-unsigned', value }),
  octets: (value: Uint8Array): DlmsData => ({ type: 'octet-string', value }),
  longUnsigned: (value: number): DlmsData => ({ type: 'long-unsigned', value }),
  unsigned: (value: number): DlmsData => ({ type: 'unsigned', value }),
  long64: (value: bigint): DlmsData => ({ type: 'long64', value }),
  enum: (value: number): DlmsData => ({ type: 'enum', value }),
};

export function readData(r: ByteReader, depth = 0): DlmsData {
  const at = r.offset;
  if (depth > MAX_DEPTH) fail('bad-value', `DLMS data nested deeper than ${MAX_DEPTH}`, at);
  const tag = r.u8('DLMS data tag');
  switch (tag) {
    case TAG.null:
      return { type: 'null' };
    case TAG.array:
    case TAG.structure: {
      const count = r.berLength('DLMS element count');
      // Each element takes at least one byte: a count beyond what is left is malformed, and this bounds the loop.
      if (count > r.remaining) fail('bad-length', `DLMS ${tag === 1 ? 'array' : 'structure'} of ${count} elements in ${r.remaining} byte(s)`, at);
      const items: DlmsData[] = [];
      for (let i = 0; i < count; i++) items.push(readData(r, depth + 1));
      return { type: tag === TAG.array ? 'array' : 'structure', items };
    }
    case TAG.boolean:
      return { type: 'boolean', value: r.u8('boolean') !== 0 };
    case TAG['bit-string']: {
      const bits = r.berLength('bit-string length');
      return { type: 'bit-string', bits, bytes: Uint8Array.from(r.take(Math.ceil(bits / 8), 'bit-string')) };
    }
    case TAG['double-long']:
      return { type: 'double-long', value: r.u32('double-long') | 0 };
    case TAG['double-long-unsigned']:
      return { type: 'double-long-unsigned', value: r.u32('double-long-unsigned') };
    case TAG['octet-string']:
      return { type: 'octet-string', value: Uint8Array.from(r.lengthPrefixed('octet-string')) };
    case TAG['visible-string']:
      return { type: 'visible-string', value: Buffer.from(r.lengthPrefixed('visible-string')).toString('latin1') };
    case TAG.integer:
      return { type: 'integer', value: (r.u8('integer') << 24) >> 24 };
    case TAG.long:
      return { type: 'long', value: (r.u16('long') << 16) >> 16 };
    case TAG.unsigned:
      return { type: 'unsigned', value: r.u8('unsigned') };
    case TAG['long-unsigned']:
      return { type: 'long-unsigned', value: r.u16('long-unsigned') };
    case TAG.long64:
      return { type: 'long64', value: BigInt.asIntN(64, r.u64('long64')) };
    case TAG['long64-unsigned']:
      return { type: 'long64-unsigned', value: r.u64('long64-unsigned') };
    case TAG.enum:
      return { type: 'enum', value: r.u8('enum') };
    default:
      return fail('unsupported', `DLMS data type 0x${hex2(tag)}`, at);
  }
}

export function writeData(w: ByteWriter, d: DlmsData): void {
  w.u8(TAG[d.type]);
  switch (d.type) {
    case 'null':
      return;
    case 'array':
    case 'structure':
      w.bytes(berLength(d.items.length));
      for (const item of d.items) writeData(w, item);
      return;
    case 'boolean':
      w.u8(d.value ? 1 : 0);
      return;
    case 'bit-string':
      w.bytes(berLength(d.bits)).bytes(d.bytes);
      return;
    case 'double-long':
    case 'double-long-unsigned':
      w.u32(d.value >>> 0);
      return;
    case 'octet-string':
      w.lengthPrefixed(d.value);
      return;
    case 'visible-string':
      w.lengthPrefixed(Buffer.from(d.value, 'latin1'));
      return;
    case 'integer':
    case 'unsigned':
    case 'enum':
      w.u8(d.value);
      return;
    case 'long':
    case 'long-unsigned':
      w.u16(d.value & 0xffff);
      return;
    case 'long64':
    case 'long64-unsigned':
      w.u64(BigInt.asUintN(64, d.value));
      return;
  }
}

/** A COSEM attribute or method: class id, 6-octet OBIS instance, attribute or method index. */
export interface CosemDescriptor {
  classId: number;
  /** OBIS code as 12 hex digits ("0000130A00FF"). */
  instance: string;
  index: number;
}

export type AccessKind = 'get' | 'set' | 'action';
const ACCESS_TAG: Record<AccessKind, number> = { get: 1, set: 2, action: 3 };
const ACCESS_BY_TAG: Record<number, AccessKind | undefined> = { 1: 'get', 2: 'set', 3: 'action' };

export interface AccessRequest {
  /** long-invoke-id-and-priority (32 bits). */
  invokeId: number;
  specs: { kind: AccessKind; target: CosemDescriptor }[];
  /** One Data per spec (null-data for GETs). */
  data: DlmsData[];
}

export interface AccessResponse {
  invokeId: number;
  data: DlmsData[];
  /** Per spec: kind and data-access-result (0 = success). */
  results: { kind: AccessKind; result: number }[];
}

export const ACCESS_REQUEST_TAG = 0xd9;
export const ACCESS_RESPONSE_TAG = 0xda;

/** GBCS invoke id: break-on-error flag (0x20 in the top octet) and the low 24 bits of the originator counter. */
export function gbcsInvokeId(counter: bigint): number {
  return ((0x20 << 24) >>> 0) + Number(counter & 0xffffffn);
}

function readDescriptor(r: ByteReader): CosemDescriptor {
  const classId = r.u16('class id');
  const instance = Buffer.from(r.take(6, 'instance id')).toString('hex').toUpperCase();
  return { classId, instance, index: r.u8('attribute or method id') };
}

function writeDescriptor(w: ByteWriter, d: CosemDescriptor): void {
  w.u16(d.classId).bytes(Buffer.from(d.instance, 'hex')).u8(d.index);
}

function readCount(r: ByteReader, what: string): number {
  const at = r.offset;
  const n = r.berLength(what);
  if (n > r.remaining) fail('bad-length', `${what} ${n} exceeds the ${r.remaining} byte(s) left`, at);
  return n;
}

export function readAccessRequest(r: ByteReader): AccessRequest {
  r.expect(ACCESS_REQUEST_TAG, 'ACCESS.request tag');
  const invokeId = r.u32('long-invoke-id-and-priority');
  const dtAt = r.offset;
  if (r.u8('date-time length') !== 0) fail('unsupported', 'ACCESS.request with a date-time', dtAt);
  const n = readCount(r, 'request specification count');
  const specs: AccessRequest['specs'] = [];
  for (let i = 0; i < n; i++) {
    const at = r.offset;
    const kind = ACCESS_BY_TAG[r.u8('access request kind')];
    if (!kind) fail('bad-value', 'access request kind must be get (1), set (2) or action (3)', at);
    specs.push({ kind, target: readDescriptor(r) });
  }
  const dAt = r.offset;
  const m = readCount(r, 'request data count');
  if (m !== n) fail('bad-length', `${n} request specifications but ${m} data items`, dAt);
  const data: DlmsData[] = [];
  for (let i = 0; i < m; i++) data.push(readData(r));
  return { invokeId, specs, data };
}

export function writeAccessRequest(w: ByteWriter, req: AccessRequest): void {
  w.u8(ACCESS_REQUEST_TAG).u32(req.invokeId).u8(0).bytes(berLength(req.specs.length));
  for (const s of req.specs) {
    w.u8(ACCESS_TAG[s.kind]);
    writeDescriptor(w, s.target);
  }
  w.bytes(berLength(req.data.length));
  for (const d of req.data) writeData(w, d);
}

export function readAccessResponse(r: ByteReader): AccessResponse {
  r.expect(ACCESS_RESPONSE_TAG, 'ACCESS.response tag');
  const invokeId = r.u32('long-invoke-id-and-priority');
  const dtAt = r.offset;
  if (r.u8('date-time length') !== 0) fail('unsupported', 'ACCESS.response with a date-time', dtAt);
  const specAt = r.offset;
  if (r.u8('access-request-specification presence') !== 0) fail('unsupported', 'ACCESS.response echoing the request specification', specAt);
  const n = readCount(r, 'response data count');
  const data: DlmsData[] = [];
  for (let i = 0; i < n; i++) data.push(readData(r));
  const m = readCount(r, 'response specification count');
  const results: AccessResponse['results'] = [];
  for (let i = 0; i < m; i++) {
    const at = r.offset;
    const kind = ACCESS_BY_TAG[r.u8('access response kind')];
    if (!kind) fail('bad-value', 'access response kind must be get (1), set (2) or action (3)', at);
    results.push({ kind, result: r.u8('data-access-result') });
  }
  return { invokeId, data, results };
}

export function writeAccessResponse(w: ByteWriter, res: AccessResponse): void {
  w.u8(ACCESS_RESPONSE_TAG).u32(res.invokeId).u8(0).u8(0).bytes(berLength(res.data.length));
  for (const d of res.data) writeData(w, d);
  w.bytes(berLength(res.results.length));
  for (const x of res.results) w.u8(ACCESS_TAG[x.kind]).u8(x.result);
}
