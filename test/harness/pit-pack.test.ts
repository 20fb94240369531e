/**
 * The MP134B PIT pack passes on emulated meters over the real mock DCC (HTTP, signed DUIS, GBCS, meters): every
 * business requirement BR1-BR7 has positive and negative scenarios, each asserting response codes and the
 * meters' state before and after every step. This is the black-box proof of the mock DCC (issue 5) and of the
 * pack (issue 6).
 */
import test from 'ava';
import { runScenarios } from '../../harness/engine/runner.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { loadScenarios } from '../../harness/scenarios/loader.ts';
import { DEFAULT_PACK } from '../../harness/commands/run.ts';

const pack = loadScenarios([DEFAULT_PACK]);

test('the pack has at least 40 scenarios, two or more per business requirement, positive and negative, on ESME, GSME and SMETS1', (t) => {
  t.true(pack.length >= 40, `${pack.length} tests`);
  for (const br of ['BR1', 'BR2', 'BR3', 'BR4', 'BR5', 'BR6', 'BR7']) {
    const tagged = pack.filter((s) => s.tags.includes(br));
    t.true(tagged.length >= 2, `${br}: ${tagged.length}`);
  }
  t.true(pack.some((s) => s.tags.includes('positive')) && pack.some((s) => s.tags.includes('negative')));
  const devices = new Set(pack.flatMap((s) => s.steps.flatMap((step) => ('request' in step ? [s.world.devices[step.request.to]?.type] : []))));
  t.deepEqual([...devices].sort(), ['ESME', 'GSME', 'SMETS1']);
});

test('every negative scenario names the seeded defects that must turn it red', (t) => {
  const missing = pack.filter((s) => s.tags.includes('negative') && s.defeatedBy.length === 0).map((s) => s.id);
  t.deepEqual(missing, []);
});

test('the MP134B PIT pack passes on emulated meters', async (t) => {
  const run = await runScenarios(pack, { pool: async () => new EmulatedPool() });
  const notPassed = run.tests.filter((x) => x.verdict !== 'pass').map((x) => `${x.id}: ${x.verdict}: ${x.attempts.at(-1)?.message}`);
  t.deepEqual(notPassed, []);
  t.is(run.summary.passed, pack.length);
  t.log(`${run.summary.passed} scenarios passed in ${(run.durationMs / 1000).toFixed(1)} s`);
});
