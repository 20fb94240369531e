/**
 * Z-Stack Monitor and Test (MT) frames as a ZNP coordinator speaks them on its serial line (TI's "UNPI"):
 *
 *   SOF 0xFE | LEN (data length, 1 octet) | CMD0 (type << 5 | subsystem) | CMD1 (command id) | DATA | FCS
 *
 * FCS is the XOR of LEN, CMD0, CMD1 and every data octet. The one-octet length caps data at 250 octets here
 * (the MT limit), which is why large application payloads travel through the AF "huge data" commands instead.
 */

export const SOF = 0xfe;
export const MT_MAX_DATA = 250;

export enum MtType {
  POLL = 0,
  SREQ = 1,
  AREQ = 2,
  SRSP = 3,
}

export enum MtSubsystem {
  RPC_ERROR = 0,
  SYS = 1,
  MAC = 2,
  NWK = 3,
  AF = 4,
  ZDO = 5,
  SAPI = 6,
  UTIL = 7,
  DEBUG = 8,
  APP = 9,
  APP_CNF = 15,
  GREENPOWER = 21,
}

export interface MtFrame {
  type: MtType;
  subsystem: MtSubsystem | number;
  command: number;
  data: Buffer;
}

export class MtFrameError extends Error {
  override readonly name = 'MtFrameError';
}

export function fcs(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let x = 0;
  for (let i = from; i < to; i++) x ^= bytes[i]!;
  return x;
}

export function encodeMt(f: MtFrame): Buffer {
  if (f.data.length > MT_MAX_DATA) throw new MtFrameError(`MT data is at most ${MT_MAX_DATA} octets, got ${f.data.length}`);
  const out = Buffer.alloc(f.data.length + 5);
  out[0] = SOF;
  out[1] = f.data.length;
  out[2] = ((f.type & 0x07) << 5) | (f.subsystem & 0x1f);
  out[3] = f.command & 0xff;
  f.data.copy(out, 4);
  out[out.length - 1] = fcs(out, 1, out.length - 1);
  return out;
}

/** Decodes exactly one frame (SOF included); throws on a bad length or FCS. */
export function decodeMt(bytes: Uint8Array): MtFrame {
  if (bytes.length < 5 || bytes[0] !== SOF) throw new MtFrameError('not an MT frame: missing SOF or too short');
  const len = bytes[1]!;
  if (bytes.length !== len + 5) throw new MtFrameError(`MT frame length ${bytes.length} does not match LEN ${len}`);
  const want = fcs(bytes, 1, len + 4);
  if (want !== bytes[len + 4]) throw new MtFrameError(`MT FCS mismatch: got 0x${bytes[len + 4]!.toString(16)}, computed 0x${want.toString(16)}`);
  return { type: (bytes[2]! >> 5) as MtType, subsystem: bytes[2]! & 0x1f, command: bytes[3]!, data: Buffer.from(bytes.subarray(4, 4 + len)) };
}

/**
 * Splits a byte stream into frames. Bytes before a SOF are skipped; a frame with a bad FCS is reported and
 * dropped, and parsing resumes at the next SOF after its first octet (the device would answer nothing).
 */
export class MtParser {
  private buf = Buffer.alloc(0);
  /** Octets skipped while looking for SOF (a CC253x bootloader-skip 0xEF shows up here). */
  skipped = 0;

  constructor(
    private readonly onFrame: (f: MtFrame) => void,
    private readonly onError: (e: MtFrameError, raw: Buffer) => void = () => undefined,
  ) {}

  push(chunk: Uint8Array): void {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const start = this.buf.indexOf(SOF);
      if (start < 0) {
        this.skipped += this.buf.length;
        this.buf = Buffer.alloc(0);
        return;
      }
      if (start > 0) {
        this.skipped += start;
        this.buf = this.buf.subarray(start);
      }
      if (this.buf.length < 5) return;
      const total = this.buf[1]! + 5;
      if (this.buf.length < total) return;
      const raw = this.buf.subarray(0, total);
      let frame: MtFrame | null = null;
      try {
        frame = decodeMt(raw);
      } catch (e) {
        this.onError(e as MtFrameError, Buffer.from(raw));
        this.buf = this.buf.subarray(1);
        continue;
      }
      this.buf = this.buf.subarray(total);
      this.onFrame(frame);
    }
  }
}

/** Little-endian field reader for MT payloads, with a clear error when a request is short. */
export class MtReader {
  private at = 0;
  constructor(private readonly b: Buffer) {}

  private need(n: number): void {
    if (this.at + n > this.b.length) throw new MtFrameError(`MT payload too short: need ${n} octets at ${this.at}, have ${this.b.length}`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.at++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  /** An IEEE address: 8 octets, least significant first on the wire; returned most significant first. */
  ieee(): Buffer {
    return Buffer.from(this.bytes(8)).reverse();
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  rest(): Buffer {
    const v = this.b.subarray(this.at);
    this.at = this.b.length;
    return v;
  }
  get remaining(): number {
    return this.b.length - this.at;
  }
}

/** Little-endian field writer for MT payloads. */
export class MtWriter {
  private parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.of(v & 0xff));
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v & 0xffff);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  /** `ieee` most significant octet first (as EUIs are written); goes on the wire reversed. */
  ieee(ieee: Uint8Array): this {
    if (ieee.length !== 8) throw new MtFrameError(`an IEEE address is 8 octets, got ${ieee.length}`);
    this.parts.push(Buffer.from(ieee).reverse());
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}
