/**
 * Bounded byte reading and writing. The reader checks every access against the end of its window, so a
 * malformed length can never make a decoder read past the input or allocate more than the input holds.
 */
import { fail } from './errors.ts';

export class ByteReader {
  private pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      fail('truncated', `${what}: needs ${n} byte(s), ${this.end - this.pos} left`, this.pos);
    }
  }

  peek(what = 'byte'): number {
    this.need(1, what);
    return this.bytes[this.pos]!;
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }

  u16(what = 'uint16'): number {
    this.need(2, what);
    const v = (this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u16le(what = 'uint16'): number {
    this.need(2, what);
    const v = this.bytes[this.pos]! | (this.bytes[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u32(what = 'uint32'): number {
    this.need(4, what);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;
  }

  u32le(what = 'uint32'): number {
    this.need(4, what);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return b[p]! + (b[p + 1]! << 8) + (b[p + 2]! << 16) + ((b[p + 3]! << 24) >>> 0);
  }

  u64(what = 'uint64'): bigint {
    this.need(8, what);
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(this.bytes[this.pos + i]!);
    this.pos += 8;
    return v;
  }

  /** A view (not a copy) of the next n bytes. */
  take(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  expect(value: number, what: string): void {
    const at = this.pos;
    const got = this.u8(what);
    if (got !== value) fail('bad-tag', `${what}: expected 0x${hex2(value)}, got 0x${hex2(got)}`, at);
  }

  /** BER definite length: short form, or long form with 1-4 length octets. */
  berLength(what = 'length'): number {
    const at = this.pos;
    const first = this.u8(what);
    if (first < 0x80) return first;
    const count = first & 0x7f;
    if (count === 0) fail('bad-length', `${what}: indefinite BER length is not allowed`, at);
    if (count > 4) fail('bad-length', `${what}: BER length with ${count} length octets`, at);
    let len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + this.u8(what);
    return len;
  }

  /** A BER length followed by that many bytes, checked against what is left. */
  lengthPrefixed(what: string): Uint8Array {
    const at = this.pos;
    const len = this.berLength(`${what} length`);
    if (len > this.remaining) fail('truncated', `${what}: length ${len} but ${this.remaining} byte(s) left`, at);
    return this.take(len, what);
  }

  /** A sub-reader over the next n bytes; this reader skips past them. */
  window(n: number, what: string): ByteReader {
    this.need(n, what);
    const sub = new ByteReader(this.bytes, this.pos, this.pos + n);
    this.pos += n;
    return sub;
  }

  expectEnd(what: string): void {
    if (this.pos < this.end) fail('trailing-bytes', `${this.end - this.pos} byte(s) after the end of ${what}`, this.pos);
  }
}

export function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

export function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/** BER definite length octets for n. */
export function berLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cannot encode BER length ${n}`);
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Uint8Array.from([0x80 | out.length, ...out]);
}

/** Growable byte buffer for encoders. */
export class ByteWriter {
  private parts: Uint8Array[] = [];
  private size = 0;

  u8(v: number): this {
    return this.bytes(Uint8Array.of(v & 0xff));
  }

  u16(v: number): this {
    return this.bytes(Uint8Array.of((v >>> 8) & 0xff, v & 0xff));
  }

  u16le(v: number): this {
    return this.bytes(Uint8Array.of(v & 0xff, (v >>> 8) & 0xff));
  }

  u32(v: number): this {
    return this.bytes(Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
  }

  u32le(v: number): this {
    return this.bytes(Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff));
  }

  u64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`uint64 out of range: ${v}`);
    const b = new Uint8Array(8);
    for (let i = 7, x = v; i >= 0; i--, x >>= 8n) b[i] = Number(x & 0xffn);
    return this.bytes(b);
  }

  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  /** BER length then the bytes. */
  lengthPrefixed(b: Uint8Array): this {
    return this.bytes(berLength(b.length)).bytes(b);
  }

  get length(): number {
    return this.size;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}

/** Parses hex, ignoring whitespace; throws on odd length or non-hex characters (input from users and files). */
/** Text that is not hex: `offset` is the octet (white space aside) where it stops being hex. */
export class HexError extends Error {
  override readonly name = 'HexError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function fromHex(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  const bad = clean.search(/[^0-9A-Fa-f]/);
  if (bad >= 0 || clean.length % 2 !== 0) {
    const at = bad >= 0 ? bad : clean.length - 1;
    throw new HexError(`not a hex string (${clean.length} characters${bad >= 0 ? `, non-hex characters from octet ${at >> 1}` : ', odd length'})`, at >> 1);
  }
  return Buffer.from(clean, 'hex');
}
