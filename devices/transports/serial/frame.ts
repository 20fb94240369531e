/**
 * The link-layer frame carried inside each SLIP frame on a serial line (see README, "Serial wire format"):
 *
 *   version (1) | type (1) | session (4) | seq (1) | payload (0..MAX_PAYLOAD) | CRC-32 (4)
 *
 * Integers are big-endian. The CRC is CRC-32/ISO-HDLC (the zlib/Ethernet one: reflected polynomial 0xEDB88320,
 * initial value and final XOR 0xFFFFFFFF) over every octet before it. zlib.crc32 is in Node since 20.15 and
 * 22.2; this package needs Node 20.19 or later.
 */
import { crc32 } from 'node:zlib';

export const WIRE_VERSION = 0x01;

export const FrameType = {
  /** An application frame: a GBCS APDU, an S1SP frame. Acknowledged; delivered once. */
  data: 0x01,
  /** Acknowledges the DATA or CONTROL frame with the same session and seq. Never acknowledged itself. */
  ack: 0x02,
  /** A management message for an emulated device (JSON); acknowledged like DATA. Real meters ack and drop it. */
  control: 0x03,
} as const;
export type FrameTypeName = keyof typeof FrameType;

export const HEADER_LENGTH = 7;
export const CRC_LENGTH = 4;
/** Largest payload a frame may carry (a GBCS APDU, with room to spare). */
export const MAX_PAYLOAD = 8192;

export interface LinkFrame {
  type: FrameTypeName;
  /** The sender's session id (for an ACK: the session of the frame it acknowledges). Random per open. */
  session: number;
  /** 0..255, the sender's sequence number (for an ACK: that of the frame it acknowledges). */
  seq: number;
  payload: Uint8Array;
}

export type FrameDecodeError = 'short' | 'crc' | 'version' | 'type' | 'length';

const TYPE_NAMES = new Map<number, FrameTypeName>(Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]));

export function encodeFrame(f: LinkFrame): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH + f.payload.length + CRC_LENGTH);
  out[0] = WIRE_VERSION;
  out[1] = FrameType[f.type];
  out.writeUInt32BE(f.session >>> 0, 2);
  out[6] = f.seq & 0xff;
  out.set(f.payload, HEADER_LENGTH);
  out.writeUInt32BE(crc32(out.subarray(0, HEADER_LENGTH + f.payload.length)), HEADER_LENGTH + f.payload.length);
  return out;
}

export function decodeFrame(bytes: Uint8Array): { ok: true; frame: LinkFrame } | { ok: false; error: FrameDecodeError } {
  if (bytes.length < HEADER_LENGTH + CRC_LENGTH) return { ok: false, error: 'short' };
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const end = b.length - CRC_LENGTH;
  // The CRC first: a damaged frame says nothing trustworthy about its version or type.
  if (crc32(b.subarray(0, end)) !== b.readUInt32BE(end)) return { ok: false, error: 'crc' };
  if (b[0] !== WIRE_VERSION) return { ok: false, error: 'version' };
  const type = TYPE_NAMES.get(b[1]!);
  if (!type) return { ok: false, error: 'type' };
  const payload = Uint8Array.prototype.slice.call(b, HEADER_LENGTH, end);
  const length = payload.length;
  if (type === 'ack' ? length !== 0 : length === 0 || length > MAX_PAYLOAD) return { ok: false, error: 'length' };
  return { ok: true, frame: { type, session: b.readUInt32BE(2), seq: b[6]!, payload } };
}
