/**
 * GBCS APDU framing: the General-Signing APDU (tag 0xDF) that carries every Pre-Command, signed Pre-Command,
 * device response and alert, and the General-Ciphering APDU (tag 0xDD) in which the ACB wraps a signed
 * Pre-Command with its MAC to make the Command sent to the device.
 *
 * Decoding is strict: lengths must be minimal BER and every fixed-size field must have its GBCS size, so an
 * accepted frame re-encodes to exactly the bytes it came from (signatures and MACs cover those bytes).
 */
import { type Eui, euiFromBytes, euiToBytes } from '../smki/eui.ts';
import { ByteReader, ByteWriter, hex2 } from './bytes.ts';
import { type Decoded, decodeResult, fail } from './errors.ts';

export const GENERAL_SIGNING_TAG = 0xdf;
export const GENERAL_CIPHERING_TAG = 0xdd;

/** Largest frame a decoder will look at: GBCS messages are far smaller; this bounds work on hostile input. */
export const MAX_FRAME_BYTES = 64 * 1024;

export type Cra = 'command' | 'response' | 'alert';
const CRA_FLAG: Record<Cra, number> = { command: 1, response: 2, alert: 3 };
const CRA_BY_FLAG: Record<number, Cra | undefined> = { 1: 'command', 2: 'response', 3: 'alert' };

export function craFlag(cra: Cra): number {
  return CRA_FLAG[cra];
}

export interface GeneralSigning {
  cra: Cra;
  /** Originator counter: the DUIS RequestID counter for commands, the device's own counter for alerts. */
  counter: bigint;
  originator: Eui;
  recipient: Eui;
  /** 12-octet DLMS date-time, or null when absent (commands). */
  dateTime: Uint8Array | null;
  messageCode: number;
  /** Other-information octets after the message code (supplementary remote party fields); usually empty. */
  supplementary: Uint8Array;
  /** DLMS ACCESS.request/response (ESME) or GBZ (GSME) content. */
  content: Uint8Array;
  /** Raw r||s (64 octets), or null for an unsigned Pre-Command (encoded with no signature field at all). */
  signature: Uint8Array | null;
}

export interface GeneralCiphering {
  securityControl: number;
  invocationCounter: number;
  /** The whole signed General-Signing APDU. */
  payload: Uint8Array;
  /** 12-octet AES-GCM tag. */
  mac: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function readSystemTitle(r: ByteReader, what: string): Eui {
  const at = r.offset;
  const len = readMinimalLength(r, `${what} length`);
  if (len !== 8) fail('bad-length', `${what} must be 8 octets, got ${len}`, at);
  return euiFromBytes(r.take(8, what));
}

/** Minimal-BER check: a length that could have been written shorter is refused (re-encoding must be exact). */
function readMinimalLength(r: ByteReader, what: string): number {
  const at = r.offset;
  const first = r.peek(what);
  const len = r.berLength(what);
  const minimalOctets = len < 0x80 ? 0 : len < 0x100 ? 1 : len < 0x10000 ? 2 : len < 0x1000000 ? 3 : 4;
  const used = first < 0x80 ? 0 : first & 0x7f;
  if (used !== minimalOctets) fail('bad-length', `${what}: non-minimal BER length`, at);
  return len;
}

function readOctets(r: ByteReader, what: string): Uint8Array {
  const at = r.offset;
  const len = readMinimalLength(r, `${what} length`);
  if (len > r.remaining) fail('truncated', `${what}: length ${len} but ${r.remaining} byte(s) left`, at);
  return r.take(len, what);
}

function readGeneralSigning(r: ByteReader): GeneralSigning {
  r.expect(GENERAL_SIGNING_TAG, 'General-Signing tag');
  const txAt = r.offset;
  const txLen = readMinimalLength(r, 'transaction-id length');
  if (txLen !== 9) fail('bad-length', `transaction-id must be 9 octets, got ${txLen}`, txAt);
  const flagAt = r.offset;
  const flag = r.u8('CRA flag');
  const cra = CRA_BY_FLAG[flag];
  if (!cra) fail('bad-value', `CRA flag 0x${hex2(flag)} is not 01 (command), 02 (response) or 03 (alert)`, flagAt);
  const counter = r.u64('originator counter');
  const originator = readSystemTitle(r, 'originator system title');
  const recipient = readSystemTitle(r, 'recipient system title');
  const dtAt = r.offset;
  const dtLen = readMinimalLength(r, 'date-time length');
  if (dtLen !== 0 && dtLen !== 12) fail('bad-length', `date-time must be absent or 12 octets, got ${dtLen}`, dtAt);
  const dateTime = dtLen === 0 ? null : Uint8Array.from(r.take(12, 'date-time'));
  const oiAt = r.offset;
  const other = readOctets(r, 'other-information');
  if (other.length < 2) fail('bad-length', `other-information must hold a 2-octet message code, got ${other.length}`, oiAt);
  const messageCode = (other[0]! << 8) | other[1]!;
  const content = Uint8Array.from(readOctets(r, 'content'));
  // An unsigned Pre-Command ends after its content (the RTDS form); a zero signature length is read the same.
  if (r.atEnd()) return { cra, counter, originator, recipient, dateTime, messageCode, supplementary: Uint8Array.from(other.subarray(2)), content, signature: null };
  const sigAt = r.offset;
  const sigLen = readMinimalLength(r, 'signature length');
  if (sigLen !== 0 && sigLen !== 64) fail('bad-length', `signature must be absent or 64 octets, got ${sigLen}`, sigAt);
  const signature = sigLen === 0 ? null : Uint8Array.from(r.take(64, 'signature'));
  return {
    cra,
    counter,
    originator,
    recipient,
    dateTime,
    messageCode,
    supplementary: Uint8Array.from(other.subarray(2)),
    content,
    signature,
  };
}

function checkSize(bytes: Uint8Array): void {
  if (bytes.length > MAX_FRAME_BYTES) fail('bad-length', `frame of ${bytes.length} bytes exceeds ${MAX_FRAME_BYTES}`, 0);
  if (bytes.length === 0) fail('truncated', 'empty frame', 0);
}

export function decodeGeneralSigning(bytes: Uint8Array): Decoded<GeneralSigning> {
  return decodeResult(() => {
    checkSize(bytes);
    const r = new ByteReader(bytes);
    const apdu = readGeneralSigning(r);
    r.expectEnd('the General-Signing APDU');
    return apdu;
  });
}

/** Every byte after the DF tag up to the end of the content: what the ECDSA signature covers. */
export function encodeSignedPart(a: GeneralSigning): Buffer {
  if (a.dateTime && a.dateTime.length !== 12) throw new RangeError('date-time must be 12 octets');
  const w = new ByteWriter()
    .u8(9)
    .u8(CRA_FLAG[a.cra])
    .u64(a.counter)
    .u8(8)
    .bytes(euiToBytes(a.originator))
    .u8(8)
    .bytes(euiToBytes(a.recipient));
  if (a.dateTime) w.u8(12).bytes(a.dateTime);
  else w.u8(0);
  const other = new ByteWriter().u16(a.messageCode).bytes(a.supplementary).finish();
  return w.lengthPrefixed(other).lengthPrefixed(a.content).finish();
}

export function encodeGeneralSigning(a: GeneralSigning): Buffer {
  if (a.signature && a.signature.length !== 64) throw new RangeError('signature must be 64 octets');
  const w = new ByteWriter().u8(GENERAL_SIGNING_TAG).bytes(encodeSignedPart(a));
  if (a.signature) w.u8(64).bytes(a.signature);
  return w.finish();
}

/** Security header of a GBCS Command: authentication only (0x11), invocation counter 0. */
export const GBCS_SECURITY_CONTROL = 0x11;
export const MAC_LENGTH = 12;

export function decodeGeneralCiphering(bytes: Uint8Array): Decoded<GeneralCiphering> {
  return decodeResult(() => {
    checkSize(bytes);
    const r = new ByteReader(bytes);
    r.expect(GENERAL_CIPHERING_TAG, 'General-Ciphering tag');
    // transaction-id, originator and recipient system titles, date-time, other-information: all empty in GBCS.
    for (const what of ['transaction-id', 'originator system title', 'recipient system title', 'date-time', 'other-information']) {
      const at = r.offset;
      const len = readMinimalLength(r, `${what} length`);
      if (len !== 0) fail('bad-length', `General-Ciphering ${what} must be empty in a GBCS Command, got ${len} octets`, at);
    }
    const kiAt = r.offset;
    const keyInfo = r.u8('key-info presence');
    if (keyInfo !== 0) fail('unsupported', 'General-Ciphering key-info must be absent in a GBCS Command', kiAt);
    const ccAt = r.offset;
    const cc = readOctets(r, 'ciphered-content');
    const ccStart = r.offset - cc.length;
    r.expectEnd('the General-Ciphering APDU');
    if (cc.length < 5 + MAC_LENGTH + 1) fail('bad-length', `ciphered-content of ${cc.length} octets is too short`, ccAt);
    const inner = new ByteReader(bytes, ccStart, ccStart + cc.length);
    const securityControl = inner.u8('security control');
    if (securityControl !== GBCS_SECURITY_CONTROL) {
      fail('unsupported', `security control 0x${hex2(securityControl)} (GBCS Commands are authenticated only, 0x11)`, ccStart);
    }
    const invocationCounter = inner.u32('invocation counter');
    const payload = Uint8Array.from(inner.take(cc.length - 5 - MAC_LENGTH, 'payload'));
    const mac = Uint8Array.from(inner.take(MAC_LENGTH, 'MAC'));
    return { securityControl, invocationCounter, payload, mac };
  });
}

export function encodeGeneralCiphering(c: GeneralCiphering): Buffer {
  if (c.mac.length !== MAC_LENGTH) throw new RangeError('MAC must be 12 octets');
  const cc = new ByteWriter().u8(c.securityControl).u32(c.invocationCounter).bytes(c.payload).bytes(c.mac).finish();
  return new ByteWriter().u8(GENERAL_CIPHERING_TAG).bytes(Uint8Array.of(0, 0, 0, 0, 0, 0)).lengthPrefixed(cc).finish();
}

/** The security header octets (security control || invocation counter) that prefix the MAC's AAD. */
export function securityHeader(c: Pick<GeneralCiphering, 'securityControl' | 'invocationCounter'>): Buffer {
  return new ByteWriter().u8(c.securityControl).u32(c.invocationCounter).finish();
}

export { EMPTY as EMPTY_BYTES };
