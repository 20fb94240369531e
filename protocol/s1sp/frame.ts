/**
 * The S1SP to SMETS1 meter instruction format. This is this project's own model (SMETS1 protocols are vendor
 * specific): a small binary frame, big-endian.
 *
 *   53 31            "S1"
 *   01               version
 *   <type:1>         1 instruction, 2 response, 3 alert
 *   <id:8>           instruction: the S1SP's instruction counter (strictly increasing: the meter's anti-replay
 *                    check); response: the id it answers; alert: the meter's alert counter
 *   <from:8> <to:8>  EUI-64s (S1SP and meter, either way round)
 *   <time:4>         sender's clock, seconds since 2000-01-01T00:00Z
 *   <length:2> <body>
 *   <auth-length:1> <auth>
 *
 * Instructions are authenticated with the S1SP's key: auth = ECDSA P-256/SHA-256 (raw r||s, 64 octets) over
 * every preceding octet. Responses and alerts carry a 4-octet integrity check (the first octets of SHA-256 over
 * the preceding octets): they detect corruption, not forgery; the meter-to-S1SP path is trusted in this model.
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { ByteReader, ByteWriter } from '../gbcs/bytes.ts';
import { type Decoded, decodeResult, fail } from '../gbcs/errors.ts';
import { timedCrypto } from '../smki/crypto-tally.ts';
import { type Eui, euiFromBytes, euiToBytes } from '../smki/eui.ts';
import { decodeOperation, decodeReadResult, encodeOperation, encodeReadResult, isOperationName } from './operation-codec.ts';
import { type MeterOperation, type ReadResult } from './operations.ts';

export const S1SP_MAGIC = 0x5331;
export const S1SP_VERSION = 1;
const SIGNATURE_LENGTH = 64;
const CHECK_LENGTH = 4;
const MAX_BODY = 4096;

export type S1spFrameType = 'instruction' | 'response' | 'alert';
const TYPE_CODE: Record<S1spFrameType, number> = { instruction: 1, response: 2, alert: 3 };
const TYPE_BY_CODE: Record<number, S1spFrameType | undefined> = { 1: 'instruction', 2: 'response', 3: 'alert' };

export interface S1spHeader {
  type: S1spFrameType;
  id: bigint;
  from: Eui;
  to: Eui;
  /** Seconds since 2000-01-01T00:00Z. */
  time: number;
}

export interface S1spInstruction extends S1spHeader {
  type: 'instruction';
  /** The DCC's reference for the request (its DUIS RequestID counter), for logs; not checked by the meter. */
  reference: bigint;
  operation: MeterOperation;
}

/** Outcome codes in a response. */
export type S1spStatus = 'executed' | 'scheduled' | 'cancelled' | 'refused' | 'rejected';
const STATUS_CODE: Record<S1spStatus, number> = { executed: 0, scheduled: 1, cancelled: 2, refused: 3, rejected: 4 };
const STATUS_BY_CODE = new Map(Object.entries(STATUS_CODE).map(([k, v]) => [v, k as S1spStatus]));

export interface S1spResponse extends S1spHeader {
  type: 'response';
  /** rejected: failed authentication or anti-replay (nothing changed); refused: the meter declined it. */
  status: S1spStatus;
  read?: ReadResult;
}

export interface S1spAlert extends S1spHeader {
  type: 'alert';
  /** GBCS-style alert code, e.g. 0x8F66 for a future-dated instruction executed. */
  code: number;
  /** For 0x8F66: the instruction executed and its operation. */
  instructionId?: bigint;
  operation?: MeterOperation['op'];
}

export type S1spFrame = S1spInstruction | S1spResponse | S1spAlert;

function writeHeader(w: ByteWriter, h: S1spHeader): void {
  w.u16(S1SP_MAGIC).u8(S1SP_VERSION).u8(TYPE_CODE[h.type]).u64(h.id).bytes(euiToBytes(h.from)).bytes(euiToBytes(h.to)).u32(h.time);
}

function check(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, CHECK_LENGTH);
}

function bodyOf(f: S1spFrame): Buffer {
  const w = new ByteWriter();
  if (f.type === 'instruction') {
    w.u64(f.reference).bytes(encodeOperation(f.operation));
  } else if (f.type === 'response') {
    w.u8(STATUS_CODE[f.status]);
    if (f.read) w.bytes(encodeReadResult(f.read));
  } else {
    w.u16(f.code);
    if (f.instructionId !== undefined) w.u64(f.instructionId).lengthPrefixed(Buffer.from(f.operation ?? '', 'latin1'));
  }
  return w.finish();
}

function unsigned(f: S1spFrame): Buffer {
  const body = bodyOf(f);
  if (body.length > MAX_BODY) throw new RangeError('S1SP body too long');
  const w = new ByteWriter();
  writeHeader(w, f);
  return w.u16(body.length).bytes(body).finish();
}

/** An instruction signed with the S1SP's private key. */
export function encodeInstruction(i: S1spInstruction, s1spKey: KeyObject): Buffer {
  const head = unsigned(i);
  const signature = timedCrypto('sign', () => sign('sha256', head, { key: s1spKey, dsaEncoding: 'ieee-p1363' }));
  return new ByteWriter().bytes(head).u8(SIGNATURE_LENGTH).bytes(signature).finish();
}

/** A response or alert with its integrity check. */
export function encodeReply(f: S1spResponse | S1spAlert): Buffer {
  const head = unsigned(f);
  return new ByteWriter().bytes(head).u8(CHECK_LENGTH).bytes(check(head)).finish();
}

export interface DecodedS1sp {
  frame: S1spFrame;
  /** The octets the authenticator covers, and the authenticator. */
  signed: Uint8Array;
  auth: Uint8Array;
}

/** Reads the fixed header only (for routing and matching); null if the octets are not an S1SP frame header. */
export function peekS1spHeader(bytes: Uint8Array): S1spHeader | null {
  if (bytes.length < 34 || bytes[0] !== 0x53 || bytes[1] !== 0x31 || bytes[2] !== S1SP_VERSION) return null;
  const type = TYPE_BY_CODE[bytes[3]!];
  if (!type) return null;
  const r = new ByteReader(bytes, 4);
  return { type, id: r.u64(), from: euiFromBytes(r.take(8)), to: euiFromBytes(r.take(8)), time: r.u32() };
}

export function decodeS1sp(bytes: Uint8Array): Decoded<DecodedS1sp> {
  return decodeResult(() => {
    const r = new ByteReader(bytes);
    const at = r.offset;
    if (r.u16('magic') !== S1SP_MAGIC) fail('bad-tag', 'not an S1SP frame', at);
    const vAt = r.offset;
    if (r.u8('version') !== S1SP_VERSION) fail('unsupported', 'S1SP version', vAt);
    const tAt = r.offset;
    const type = TYPE_BY_CODE[r.u8('type')] ?? fail('bad-value', 'S1SP frame type', tAt);
    const header: S1spHeader = { type, id: r.u64('id'), from: euiFromBytes(r.take(8, 'from')), to: euiFromBytes(r.take(8, 'to')), time: r.u32('time') };
    const lAt = r.offset;
    const length = r.u16('body length');
    if (length > MAX_BODY) fail('bad-length', `S1SP body of ${length} octets`, lAt);
    const b = r.window(length, 'body');
    const signedEnd = r.offset;
    const aAt = r.offset;
    const authLength = r.u8('auth length');
    const want = type === 'instruction' ? SIGNATURE_LENGTH : CHECK_LENGTH;
    if (authLength !== want) fail('bad-length', `S1SP ${type} authenticator must be ${want} octets`, aAt);
    const auth = Uint8Array.from(r.take(authLength, 'authenticator'));
    r.expectEnd('S1SP frame');
    let frame: S1spFrame;
    if (type === 'instruction') {
      const reference = b.u64('reference');
      frame = { ...header, type, reference, operation: decodeOperation(b) };
    } else if (type === 'response') {
      const sAt = b.offset;
      const status = STATUS_BY_CODE.get(b.u8('status')) ?? fail('bad-value', 'S1SP status', sAt);
      frame = { ...header, type, status, ...(b.atEnd() ? {} : { read: decodeReadResult(b) }) };
    } else {
      const code = b.u16('alert code');
      let extra: Pick<S1spAlert, 'instructionId' | 'operation'> = {};
      if (!b.atEnd()) {
        const instructionId = b.u64('instruction id');
        const opAt = b.offset;
        const op = Buffer.from(b.lengthPrefixed('operation')).toString('latin1');
        if (op && !isOperationName(op)) fail('bad-value', `S1SP alert operation ${JSON.stringify(op.slice(0, 40))} is not one S1SP carries`, opAt);
        extra = { instructionId, ...(op ? { operation: op as MeterOperation['op'] } : {}) };
      }
      frame = { ...header, type, code, ...extra };
    }
    b.expectEnd('S1SP body');
    return { frame, signed: bytes.subarray(0, signedEnd), auth };
  });
}

export function verifyInstruction(d: DecodedS1sp, s1spPublicKey: KeyObject): boolean {
  if (d.frame.type !== 'instruction' || d.auth.length !== SIGNATURE_LENGTH) return false;
  return timedCrypto('verify', () => verify('sha256', d.signed, { key: s1spPublicKey, dsaEncoding: 'ieee-p1363' }, d.auth));
}

export function checkReply(d: DecodedS1sp): boolean {
  return d.frame.type !== 'instruction' && Buffer.from(d.auth).equals(check(d.signed));
}
