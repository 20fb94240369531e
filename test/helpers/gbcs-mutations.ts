/**
 * Byte-level mutations of GBCS frames for fuzzing the DCC's Signed Pre-Command checks and the meters: the kinds a
 * noisy line or a hostile sender produce (flipped bits, overwritten bytes, BER-length extremes, truncation,
 * over-long frames, deleted, duplicated or foreign spans). Driven by a small seeded generator so a failure is
 * reproduced from its seed and index alone, and a million mutations cost nothing but the code under test.
 */

/** mulberry32: tiny, fast and good enough to spread mutations; not for keys. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** 0 <= n < bound */
  int(bound: number): number {
    return bound <= 0 ? 0 : this.next() % bound;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** The seed a fuzz run uses: SMETS_HIL_FUZZ_SEED to replay one, else a fresh one (logged by the test). */
export function fuzzSeed(): number {
  const forced = process.env.SMETS_HIL_FUZZ_SEED;
  return forced ? Number(forced) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** Bytes that, written where a BER length or a count sits, push a decoder to its edges. */
const LENGTH_EXTREMES = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0xff];

export const MUTATION_KINDS = ['bit-flip', 'byte-set', 'length-extreme', 'truncate', 'over-long', 'insert', 'delete-span', 'duplicate-span', 'foreign-span', 'swap', 'multi-flip'] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

export interface Mutation {
  kind: MutationKind;
  bytes: Uint8Array;
}

/** One random mutation of `src`; `others` supplies foreign spans (other real frames). */
export function mutate(src: Uint8Array, rng: Rng, others: readonly Uint8Array[] = []): Mutation {
  const kind = rng.pick(MUTATION_KINDS);
  const at = rng.int(src.length);
  const copy = () => Uint8Array.from(src);
  const cat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));
  switch (kind) {
    case 'bit-flip': {
      const b = copy();
      b[at] = b[at]! ^ (1 << rng.int(8));
      return { kind, bytes: b };
    }
    case 'byte-set': {
      const b = copy();
      b[at] = rng.int(256);
      return { kind, bytes: b };
    }
    case 'length-extreme': {
      const b = copy();
      b[at] = rng.pick(LENGTH_EXTREMES);
      return { kind, bytes: b };
    }
    case 'truncate':
      return { kind, bytes: src.subarray(0, at) };
    case 'over-long':
      return { kind, bytes: cat(src, rng.bytes(1 + rng.int(rng.int(4) === 0 ? 2048 : 80))) };
    case 'insert':
      return { kind, bytes: cat(src.subarray(0, at), rng.bytes(1 + rng.int(8)), src.subarray(at)) };
    case 'delete-span':
      return { kind, bytes: cat(src.subarray(0, at), src.subarray(Math.min(src.length, at + 1 + rng.int(40)))) };
    case 'duplicate-span':
      return { kind, bytes: cat(src.subarray(0, at), src.subarray(at, at + 1 + rng.int(40)), src.subarray(at)) };
    case 'foreign-span': {
      const other = others.length ? rng.pick(others) : src;
      const from = rng.int(other.length);
      const span = other.subarray(from, from + 1 + rng.int(64));
      const b = copy();
      b.set(span.subarray(0, Math.max(0, b.length - at)), at);
      return { kind, bytes: b };
    }
    case 'swap': {
      const b = copy();
      const j = rng.int(b.length);
      [b[at], b[j]] = [b[j]!, b[at]!];
      return { kind, bytes: b };
    }
    case 'multi-flip': {
      const b = copy();
      for (let k = 2 + rng.int(6); k > 0; k--) {
        const i = rng.int(b.length);
        b[i] = b[i]! ^ (1 << rng.int(8));
      }
      return { kind, bytes: b };
    }
  }
}

/** Every byte position set to each length extreme: the exhaustive pass over one frame's length fields. */
export function* everyLengthExtreme(src: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < src.length; i++) {
    for (const v of LENGTH_EXTREMES) {
      if (src[i] === v) continue;
      const b = Uint8Array.from(src);
      b[i] = v;
      yield b;
    }
  }
}

/** Every proper prefix of a frame. */
export function* everyTruncation(src: Uint8Array): Generator<Uint8Array> {
  for (let n = 0; n < src.length; n++) yield src.subarray(0, n);
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
