/**
 * Property-based tests against a model (property/model.ts): random sequences of requests from random roles (the
 * SoLR Contingency party, the failing supplier before and after its failure, a healthy supplier, a network
 * operator), to random meters, with random content (Credit, prepayment, other SRVs) and tampering. On every
 * sequence only SC Credit switches on the failed supplier's meters and legitimate supplier commands change device
 * state (each within the fields its use case may write, executed at most once), and every request has a terminal
 * outcome.
 *
 * Sizes: SMETS_HIL_PROPERTY_RUNS sequences of up to SMETS_HIL_PROPERTY_LENGTH actions (CI 24 of up to 8; nightly
 * 300 of up to 25). A world costs about 0.3 s.
 *
 * Counterexamples fast-check shrank (property/regressions.json, made with property/counterexamples.ts against
 * seeded defects) are replayed as fixed sequences: each must hold on the product and fail with its defect, so
 * they stay regression tests for the bug they found and prove this property sees that bug class.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import fc from 'fast-check';
import type { AnyDefect } from '../../harness/defects.ts';
import { sized } from '../helpers/level.ts';
import { type Action, arbSequence, describe, runSequence } from './property/model.ts';

const RUNS = sized('SMETS_HIL_PROPERTY_RUNS', 24, 300);
const LENGTH = sized('SMETS_HIL_PROPERTY_LENGTH', 8, 25);

interface Regression {
  name: string;
  /** The seeded defect this sequence was shrunk against (null: a product bug, fixed). */
  defect: AnyDefect | null;
  sequence: Action[];
}

/**
 * Run first, before the random sequences: an SC Credit switch on SMETS2+ and SMETS1, an SC prepayment switch and a
 * request before the failure. It makes the coverage check below independent of what the seed happens to draw (an
 * SC switch needs the failure, then an untampered SC Credit request to a failed supplier's meter: rare enough
 * that 24 random sequences sometimes contain none) while the random sequences keep their full budget.
 */
const WITNESS: Action[] = [
  { kind: 'request', as: 'srp', to: 'esme', content: 'credit' },
  { kind: 'fail' },
  { kind: 'request', as: 'srp', to: 'esme', content: 'credit' },
  { kind: 'request', as: 'srp', to: 'smets1-elec', content: 'credit' },
  { kind: 'request', as: 'srp', to: 'gsme', content: 'prepayment' },
];

const regressions = JSON.parse(readFileSync(new URL('./property/regressions.json', import.meta.url), 'utf8')) as Regression[];

test(`${RUNS} random sequences of up to ${LENGTH} requests: only SC Credit switches and legitimate supplier commands change meters`, async (t) => {
  const seed = Number(process.env.SMETS_HIL_FUZZ_SEED ?? Date.now() % 2 ** 31);
  t.log(`seed ${seed} (replay with SMETS_HIL_FUZZ_SEED=${seed})`);
  let actions = 0;
  const changed = { srp: 0, failing: 0, healthy: 0, network: 0 };
  let refused = 0;
  const result = await fc.check(
    fc.asyncProperty(arbSequence(LENGTH), async (sequence) => {
      actions += sequence.length;
      const r = await runSequence(sequence);
      for (const k of Object.keys(changed) as (keyof typeof changed)[]) changed[k] += r.stats.changed[k];
      refused += r.stats.refused;
      if (!r.ok) throw new Error(r.problem);
    }),
    { numRuns: RUNS + 1, seed, examples: [[WITNESS]] },
  );
  if (result.failed) {
    const shrunk = result.counterexample?.[0] ?? [];
    t.fail(`counterexample (seed ${seed}, shrunk ${result.numShrinks} times): ${(result.errorInstance as Error | undefined)?.message}\n${JSON.stringify(shrunk)}\n${shrunk.map((a, i) => `  ${i + 1}. ${describe(a)}`).join('\n')}`);
    return;
  }
  t.log(`${result.numRuns} sequences, ${actions} actions; requests that changed a meter: SC ${changed.srp}, failing supplier ${changed.failing}, healthy supplier ${changed.healthy}, network operator ${changed.network}; requests that had to change nothing: ${refused}`);
  t.is(result.numRuns, RUNS + 1, 'the witness and every random sequence ran');
  t.true(changed.srp > 0 && refused > 0, 'the sequences exercised both SC switches and refusals');
});

test('the stored counterexamples hold on the product and each still fails with the defect it was shrunk against', async (t) => {
  t.true(regressions.length > 0);
  for (const r of regressions) {
    const clean = await runSequence(r.sequence);
    t.true(clean.ok, `${r.name}: ${clean.problem}`);
    if (r.defect) {
      const seeded = await runSequence(r.sequence, { defects: [r.defect] });
      t.false(seeded.ok, `${r.name}: with ${r.defect} seeded the sequence must fail`);
      if (!seeded.ok) t.log(`${r.name}: ${seeded.problem?.replace(/^action \d+ of \d+ \(.*?\): /, '').slice(0, 110)}`);
    }
  }
});
