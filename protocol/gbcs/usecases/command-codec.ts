/**
 * What every GBCS use-case module offers, and the helpers they share. A codec builds a command's content from
 * typed parameters and parses content back strictly: the parser reads the content into parameters, rebuilds
 * the content from them and refuses anything that is not byte-identical. So whatever parses is exactly what its
 * parameters describe, and nothing outside the model can slip past a device or the mock DCC.
 */
import { type Eui } from '../../smki/eui.ts';
import { type GeneralSigning } from '../apdu.ts';
import { berLength, ByteReader, ByteWriter, hex4, toHex } from '../bytes.ts';
import { type Execution, decodeDlmsExecution, encodeDlmsExecution } from '../datetime.ts';
import { ACCESS_REQUEST_TAG, type AccessRequest, type DlmsData, gbcsInvokeId, readAccessRequest, readData, writeData } from '../dlms.ts';

const ACCESS_KIND_TAG = { get: 1, set: 2, action: 3 } as const;
import { type Decoded, DecodeFailure, decodeResult, fail } from '../errors.ts';
import { type DeviceFamily } from '../message-codes.ts';

/** What a builder needs beyond the parameters. */
export interface BuildContext {
  /** The originator counter (DUIS RequestID counter). ESME invoke ids carry its low 24 bits. */
  counter: bigint;
  /** GSME only: ZCL Issuer Event ID; defaults to the RTDS reference clock (0x1C374A80). */
  issuerEventId?: number;
  /** Some payloads name the originator and recipient (the protected-attribute reads). */
  originator?: Eui;
  recipient?: Eui;
}

export interface UseCaseCodec<P> {
  name: string;
  code: number;
  srv: string;
  family: DeviceFamily;
  /** Critical Commands carry the User's signature; the others only the ACB's MAC. */
  critical: boolean;
  /** Whether the device's response header carries a date-time (per use case in GBCS, not per criticality). */
  responseDateTime: boolean;
  build(params: P, ctx: BuildContext): Buffer;
  /** Originator and recipient are needed only by payloads that name them (the protected-attribute reads). */
  parse(apdu: Pick<GeneralSigning, 'content' | 'counter'> & Partial<Pick<GeneralSigning, 'originator' | 'recipient'>>): Decoded<P>;
}

/** The RTDS reference clock, 2015-01-01T00:00:00Z, as ZigBee UTCTime: the default Issuer Event ID. */
export const DEFAULT_ISSUER_EVENT_ID = 0x1c374a80;

/** The unsigned Pre-Command (or, for non-critical use cases, the unsigned command the DCC MACs). */
export function buildCommandApdu<P>(codec: UseCaseCodec<P>, params: P, ctx: BuildContext & { originator: Eui; recipient: Eui }): GeneralSigning {
  return {
    cra: 'command',
    counter: ctx.counter,
    originator: ctx.originator,
    recipient: ctx.recipient,
    dateTime: null,
    messageCode: codec.code,
    supplementary: new Uint8Array(0),
    content: codec.build(params, ctx),
    signature: null,
  };
}

/**
 * Strict parsing by rebuilding: `read` turns content into parameters (it may be lenient about layout),
 * `rebuild` makes the canonical content for them, and any difference is refused.
 */
export function parseByRebuilding<P>(name: string, content: Uint8Array, read: () => P, rebuild: (p: P) => Buffer): Decoded<P> {
  return decodeResult(() => {
    const params = read();
    let canonical: Buffer;
    try {
      canonical = rebuild(params);
    } catch (e) {
      // Values a builder refuses (out of range, out of order) are content this model cannot describe.
      if (e instanceof DecodeFailure) throw e;
      return fail('bad-value', `${name}: ${(e as Error).message}`, 0);
    }
    if (!canonical.equals(content)) fail('bad-value', `${name} content differs from the canonical payload for what it describes`, 0);
    return params;
  });
}

// ---------------------------------------------------------------- ESME (DLMS)

/** Request data: typed, or verbatim A-XDR (tables carried as they came, so re-encoding cannot alter them). */
export type RequestData = DlmsData | { type: 'raw'; bytes: Uint8Array };

export interface DecodedRequest extends AccessRequest {
  /** Each data item's own octets, as received. */
  raw: Uint8Array[];
}

export function encodeRequest(req: { invokeId: number; specs: AccessRequest['specs']; data: RequestData[] }): Buffer {
  if (req.specs.length !== req.data.length) throw new RangeError('one data item per request specification');
  const w = new ByteWriter().u8(ACCESS_REQUEST_TAG).u32(req.invokeId).u8(0).bytes(berLength(req.specs.length));
  for (const s of req.specs) w.u8(ACCESS_KIND_TAG[s.kind]).u16(s.target.classId).bytes(Buffer.from(s.target.instance, 'hex')).u8(s.target.index);
  w.bytes(berLength(req.data.length));
  for (const d of req.data) {
    if (d.type === 'raw') w.bytes(d.bytes);
    else writeData(w, d);
  }
  return w.finish();
}

/** An ACCESS.request read with each data item's octets kept alongside its decoded value. */
export function decodeRequest(content: Uint8Array, name: string): DecodedRequest {
  const r = new ByteReader(content);
  const header = readAccessRequest(new ByteReader(content)); // validates the whole request first
  r.expect(ACCESS_REQUEST_TAG, 'ACCESS.request tag');
  r.take(5, 'invoke id and date-time');
  r.berLength('request specification count');
  r.take(header.specs.length * 10, 'request specifications');
  r.berLength('request data count');
  const raw: Uint8Array[] = [];
  for (let i = 0; i < header.data.length; i++) {
    const start = r.offset;
    readData(r);
    raw.push(content.subarray(start, r.offset));
  }
  r.expectEnd(`${name} ACCESS.request`);
  return { ...header, raw };
}

export function invokeIdFor(counter: bigint): number {
  return gbcsInvokeId(counter);
}

/** Spec i of a request, which must be `kind` on the given object; returns its data. */
export function specData(req: AccessRequest, i: number, kind: 'get' | 'set' | 'action', classId: number, instance: string, index: number, name: string): DlmsData {
  const s = req.specs[i];
  const d = req.data[i];
  if (!s || !d) return fail('bad-value', `${name}: expected at least ${i + 1} request specifications`, 0);
  const t = s.target;
  if (s.kind !== kind || t.classId !== classId || t.instance !== instance || t.index !== index) {
    return fail('bad-value', `${name}: specification ${i + 1} is ${s.kind} 0x${hex4(t.classId)}/${t.instance}/${t.index}, expected ${kind} 0x${hex4(classId)}/${instance}/${index}`, 0);
  }
  return d;
}

export function asDoubleLong(d: DlmsData, what: string): number {
  if (d.type !== 'double-long') return fail('bad-value', `${what}: expected double-long, got ${d.type}`, 0);
  return d.value;
}

export function asDoubleLongUnsigned(d: DlmsData, what: string): number {
  if (d.type !== 'double-long-unsigned') return fail('bad-value', `${what}: expected double-long-unsigned, got ${d.type}`, 0);
  return d.value;
}

export function asLongUnsigned(d: DlmsData, what: string): number {
  if (d.type !== 'long-unsigned') return fail('bad-value', `${what}: expected long-unsigned, got ${d.type}`, 0);
  return d.value;
}

export function asOctets(d: DlmsData, what: string): Uint8Array {
  if (d.type !== 'octet-string') return fail('bad-value', `${what}: expected octet-string, got ${d.type}`, 0);
  return d.value;
}

export function asArray(d: DlmsData, what: string): DlmsData[] {
  if (d.type !== 'array') return fail('bad-value', `${what}: expected array, got ${d.type}`, 0);
  return d.items;
}

export function asStructure(d: DlmsData, what: string, n: number): DlmsData[] {
  if (d.type !== 'structure' || d.items.length !== n) return fail('bad-value', `${what}: expected structure of ${n}`, 0);
  return d.items;
}

/** A 12-octet activation date-time ("now", "never" or an instant). */
export function asExecution(d: DlmsData, what: string): Execution {
  return decodeDlmsExecution(asOctets(d, what), 0);
}

export function executionData(e: Execution): DlmsData {
  return { type: 'octet-string', value: encodeDlmsExecution(e) };
}

/** A data item kept verbatim (calendars, special-day tables): hex of its octets as received. */
export function rawHex(req: DecodedRequest, i: number): string {
  const raw = req.raw[i];
  return raw ? toHex(raw) : fail('bad-value', `no data item ${i + 1}`, 0);
}

/** Verbatim data for a builder: must be exactly one A-XDR data item. */
export function rawData(hex: string, what: string): RequestData {
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length === 0 || bytes.toString('hex').toUpperCase() !== hex.toUpperCase()) throw new RangeError(`${what}: not a hex string`);
  const r = new ByteReader(bytes);
  readData(r);
  r.expectEnd(what);
  return { type: 'raw', bytes };
}

/** DLMS boolean as GBCS writes it: TRUE is 0xFF. */
export function gbcsBoolean(v: boolean): RequestData {
  return { type: 'raw', bytes: Uint8Array.of(0x03, v ? 0xff : 0x00) };
}

export const int = (value: number): DlmsData => ({ type: 'integer', value });
export const long = (value: number): DlmsData => ({ type: 'long', value });

/** Range checks for builders (inputs from Users and scenarios, not from the wire). */
export function checkInt32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`${what} ${v} is not a 32-bit signed integer`);
}

export function checkUint(v: number, bits: 8 | 16 | 32, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 2 ** bits - 1) throw new RangeError(`${what} ${v} is not an unsigned ${bits}-bit integer`);
}

export function checkInt16(v: number, what: string): void {
  if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new RangeError(`${what} ${v} is not a 16-bit signed integer`);
}
