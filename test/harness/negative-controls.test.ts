/**
 * Negative controls: each seeded defect switches one of the mock DCC's or the meters' controls off; the
 * scenarios that rely on that control must then fail. A pack that stayed green with a control removed would
 * prove nothing about that control.
 */
import test from 'ava';
import { ALL_DEFECTS, type AnyDefect, splitDefects } from '../../harness/defects.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { loadScenarios } from '../../harness/scenarios/loader.ts';
import { DEFAULT_PACK } from '../../harness/commands/run.ts';

const pack = loadScenarios([DEFAULT_PACK]);

test('every seeded defect (DCC and meters) is caught by at least one scenario of the pack', (t) => {
  const uncaught = (Object.keys(ALL_DEFECTS) as AnyDefect[]).filter((d) => !pack.some((s) => s.defeatedBy.includes(d)));
  t.deepEqual(uncaught, []);
});

for (const defect of Object.keys(ALL_DEFECTS) as AnyDefect[]) {
  test(`with '${defect}' seeded (${ALL_DEFECTS[defect]}), the scenarios relying on that control go red`, async (t) => {
    const relying = pack.filter((s) => s.defeatedBy.includes(defect));
    const { dcc, meter } = splitDefects([defect]);
    const run = await runScenarios(relying, { defects: dcc, pool: async () => new EmulatedPool({ defects: meter }) });
    const survivors = run.tests.filter((x) => x.verdict !== 'fail').map((x) => `${x.id}: ${x.verdict}`);
    t.deepEqual(survivors, [], 'a scenario that stays green (or errors) did not detect the missing control');
    t.is(run.summary.failed, relying.length);
  });
}
