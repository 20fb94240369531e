import test from 'ava';
import fc from 'fast-check';
import { GbcsDecodeError } from '../../../protocol/gbcs/errors.ts';
import { decodeFrame, summarizeFrame } from '../../../protocol/gbcs/frame.ts';
import { parseResponseContent } from '../../../protocol/gbcs/usecases/responses.ts';
import { rtdsFrames } from '../../helpers/fixtures.ts';
import { fuzzSeed } from '../../helpers/gbcs-mutations.ts';

const frames = rtdsFrames().map((f) => f.bytes);
const RUNS = Number(process.env.SMETS_HIL_FUZZ_RUNS ?? 100_000);
/** fast-check's seed: printed by each test, and SMETS_HIL_FUZZ_SEED=N replays it (README, Adversarial testing). */
const SEED = fuzzSeed() | 0;

/** One mutation of a reference frame: the kinds a noisy line or a hostile sender produce. */
const arbMutation = fc.tuple(fc.nat(frames.length - 1), fc.nat(), fc.nat(255), fc.integer({ min: 0, max: 6 }), fc.nat(40)).map(([which, pos, value, kind, span]) => {
  const src = frames[which]!;
  const at = pos % (src.length + 1);
  switch (kind) {
    case 0: {
      const b = Buffer.from(src);
      if (at < b.length) b[at] = b[at]! ^ (1 << (value & 7));
      return b;
    }
    case 1: {
      const b = Buffer.from(src);
      if (at < b.length) b[at] = value;
      return b;
    }
    case 2:
      return src.subarray(0, at);
    case 3:
      return Buffer.concat([src.subarray(0, at), Buffer.of(value), src.subarray(at)]);
    case 4:
      return Buffer.concat([src.subarray(0, at), src.subarray(Math.min(src.length, at + 1 + span))]);
    case 5:
      return Buffer.concat([src.subarray(0, at), src.subarray(at, at + span), src.subarray(at)]);
    default: {
      // A length-looking byte set to an extreme: BER long forms and huge counts.
      const b = Buffer.from(src);
      if (at < b.length) b[at] = [0x80, 0x81, 0x82, 0x84, 0x85, 0xff, 0x7f][value % 7]!;
      return b;
    }
  }
});

test(`${RUNS} mutations of the reference frames decode to a frame or a typed error, never a crash`, (t) => {
  t.log(`seed ${SEED} (replay with SMETS_HIL_FUZZ_SEED=${SEED >>> 0})`);
  let decoded = 0;
  let refused = 0;
  fc.assert(
    fc.property(arbMutation, (bytes) => {
      const d = decodeFrame(bytes);
      if (d.ok) {
        decoded++;
        summarizeFrame(d.value); // content parsing must not throw either
        const c = parseResponseContent(d.value.apdu.content);
        return c.ok || c.error instanceof GbcsDecodeError;
      }
      refused++;
      return d.error instanceof GbcsDecodeError && d.error.offset >= 0 && d.error.offset <= bytes.length && d.error.message.length > 0;
    }),
    { numRuns: RUNS, seed: SEED },
  );
  t.true(decoded > 0 && refused > 0, `decoded ${decoded}, refused ${refused}`);
  t.log(`decoded ${decoded}, refused ${refused}`);
});

test('random bytes never crash the decoder', (t) => {
  t.log(`seed ${SEED} (replay with SMETS_HIL_FUZZ_SEED=${SEED >>> 0})`);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(0xdd, 0xdf), (bytes, tag) => {
      const d = decodeFrame(Uint8Array.from([tag, ...bytes]));
      return d.ok || d.error instanceof GbcsDecodeError;
    }),
    { numRuns: 20_000, seed: SEED },
  );
  t.pass();
});
