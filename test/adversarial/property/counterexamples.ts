/**
 * Finds and shrinks a counterexample to the model property with a seeded defect, and prints it as an entry for
 * regressions.json. Usage: npx tsx test/adversarial/property/counterexamples.ts DEFECT... [--runs N] [--length N]
 * A defect this property cannot see (it needs revocations, ADT limits, link faults...) is reported as such.
 */
import fc from 'fast-check';
import { ALL_DEFECTS, type AnyDefect, isDefect } from '../../../harness/defects.ts';
import { arbSequence, describe, runSequence } from './model.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args.splice(i, 2)[1]) : fallback;
};
const runs = option('--runs', 150);
const length = option('--length', 10);
const defects = args.length ? args : Object.keys(ALL_DEFECTS);

for (const defect of defects) {
  if (!isDefect(defect)) throw new Error(`unknown defect ${defect}`);
  const started = Date.now();
  const result = await fc.check(
    fc.asyncProperty(arbSequence(length), async (sequence) => {
      const r = await runSequence(sequence, { defects: [defect as AnyDefect] });
      if (!r.ok) throw new Error(r.problem);
    }),
    { numRuns: runs },
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  if (!result.failed) {
    process.stderr.write(`${defect}: not seen in ${runs} sequences (${seconds} s)\n`);
    continue;
  }
  const sequence = result.counterexample![0];
  process.stderr.write(`${defect}: shrunk ${result.numShrinks} times in ${seconds} s: ${(result.errorInstance as Error).message}\n${sequence.map((a, i) => `  ${i + 1}. ${describe(a)}`).join('\n')}\n`);
  process.stdout.write(JSON.stringify({ name: `${defect}: ${(result.errorInstance as Error).message.replace(/^action \d+ of \d+ \((.*?)\):.*$/, '$1')}`, defect, sequence }) + '\n');
}
