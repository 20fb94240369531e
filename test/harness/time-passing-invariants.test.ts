/**
 * What the clocks moving may change on a meter: only what the pending changes that fall due write (a switch to
 * Credit writes no prepayment settings), in an `advance` step and in a live world alike; and a change the SoLR
 * Contingency party scheduled stays under the SoLR invariant when it executes.
 *
 * Each test seeds a meter bug by patching the meters' scheduled-change execution: serial, and put back after.
 */
import { join } from 'node:path';
import test from 'ava';
import { Meter } from '../../devices/meter.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { SettleTimeout, WorldInstance } from '../../harness/engine/world.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { loadScenarioFile } from '../../harness/scenarios/loader.ts';
import { repoRoot } from '../helpers/fixtures.ts';

type Internals = { runPending(change: { op: { op: string; target?: { mode: string } } }): void; w(): { paymentMode: string; disablementThreshold: number } };
const meterProto = Meter.prototype as unknown as Internals;
const runPending = meterProto.runPending;

/** Seeds a meter bug: when a future-dated switch to Credit executes, `corrupt` also runs on the meter. */
function onScheduledCredit(corrupt: (m: Internals) => void): void {
  meterProto.runPending = function (this: Internals, change) {
    runPending.call(this, change);
    if (change.op.op === 'payment-mode' && change.op.target?.mode === 'credit') corrupt(this);
  };
}

test.afterEach.always(() => {
  meterProto.runPending = runPending;
});

const thresholdWritten = (m: Internals) => (m.w().disablementThreshold = 4242);
const wentToPrepayment = (m: Internals) => (m.w().paymentMode = 'prepayment');

/** Runs these steps in a world of one failed supplier, its SRP (an SC party) and an ESME in the given payment mode. */
function runInWorld(start: string, esmeMode: 'credit' | 'prepayment', steps: string) {
  const scenarios = loadScenarioFile(
    join(repoRoot, 'scenarios/runner-test.yaml'),
    `world:
  start: ${start}
  parties:
    failing: { eui: 90B3D51F30010001, name: Failing Energy Ltd, roles: [IS, GS], srp: srp }
    srp: { eui: 90B3D51F30050001, name: Shared Resources Ltd, roles: [SC] }
  devices:
    esme: { type: ESME, supplier: failing, state: { paymentMode: ${esmeMode} } }
scenarios:
  - id: due
    title: t
    steps:
${steps}`,
  );
  return runScenarios(scenarios, { pool: async () => new EmulatedPool() });
}

/** The SC party future-dates a switch to Credit on an ESME in credit, and time passes until it falls due. */
const scSchedulesCreditThenTimePasses = () =>
  runInWorld(
    '2026-01-05T09:00:00Z',
    'credit',
    `      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: credit, at: 1h, expect: { code: I99, response: I0, device: success } }
      - advance: 2h
`,
  );

const messages = (run: Awaited<ReturnType<typeof runScenarios>>) => JSON.stringify(run.tests[0]!.attempts[0]!.steps.map((s) => s.message));

test.serial('a future-dated switch to Credit falling due in an advance step may not write the prepayment settings', async (t) => {
  onScheduledCredit(thresholdWritten);
  const run = await runInWorld(
    '2026-01-05T09:00:00Z',
    'prepayment',
    `      - request: { as: failing, to: esme, mode: credit, at: 1h, expect: { code: I99, response: I0, device: success } }
      - advance: 2h
`,
  );
  const step = run.tests[0]!.attempts[0]!.steps[1]!;
  t.is(step.verdict, 'fail', messages(run));
  t.regex(step.message!, /invariant violated: esme changed where it must not: prepaymentSettings\.disablementThreshold 0 -> 4242$/);
});

test.serial('a switch to Credit the SC party scheduled is under the SoLR invariant when it falls due: the meter may not go to prepayment', async (t) => {
  onScheduledCredit(wentToPrepayment);
  const run = await scSchedulesCreditThenTimePasses();
  const step = run.tests[0]!.attempts[0]!.steps[2]!;
  t.is(step.verdict, 'fail', messages(run));
  t.regex(step.message!, /invariant violated: esme changed where it must not: paymentMode "credit" -> "prepayment"$/);
});

test.serial('in a live world a switch to Credit falling due may not write the prepayment settings either', async (t) => {
  onScheduledCredit(thresholdWritten);
  const run = await runInWorld(
    'now',
    'prepayment',
    `      - request: { as: failing, to: esme, mode: credit, at: 3s, expect: { code: I99, response: I0, device: success } }
      - expect-alert: { at: failing, device: esme, code: 8F66, within: 20s }
`,
  );
  t.is(run.tests[0]!.verdict, 'fail', messages(run));
  t.regex(run.tests[0]!.attempts[0]!.message!, /invariant violated: esme changed where it must not: prepaymentSettings\.disablementThreshold 0 -> 4242$/);
});

test.serial('in a live world a switch to Credit the SC party scheduled is under the SoLR invariant when it falls due in a later step', async (t) => {
  onScheduledCredit(wentToPrepayment);
  const run = await runInWorld(
    'now',
    'credit',
    `      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: credit, at: 3s, expect: { code: I99, response: I0, device: success } }
      - expect-alert: { at: srp, device: esme, code: 8F66, within: 20s }
`,
  );
  t.is(run.tests[0]!.verdict, 'fail', messages(run));
  t.regex(run.tests[0]!.attempts[0]!.message!, /invariant violated: esme changed where it must not: paymentMode "credit" -> "prepayment"$/);
});

test.serial('the same switches falling due on a sound meter are no violation', async (t) => {
  const run = await runInWorld(
    '2026-01-05T09:00:00Z',
    'prepayment',
    `      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: credit, at: 1h, expect: { code: I99, response: I0, device: success } }
      - advance: 2h
      - expect-state: { device: esme, paymentMode: credit, pending: none }
`,
  );
  t.is(run.tests[0]!.verdict, 'pass', messages(run));
  t.true(run.tests[0]!.attempts[0]!.steps[2]!.diffs[0]!.changes.some((c) => c.path === 'paymentMode'), 'the switch fell due in the advance step');
});

test.serial('an advance step that ends in an error still holds what an SC-scheduled change wrote as it fell due to the SoLR invariant: fail, not error', async (t) => {
  onScheduledCredit(wentToPrepayment);
  // The DCC does not settle once the clocks have moved (a stuck outbox): the advance step ends in an error.
  const world = WorldInstance.prototype as unknown as { advance(ms: number): void; settle(timeoutMs?: number): Promise<void> };
  const { advance, settle } = world;
  let moved = false;
  world.advance = function (ms) {
    moved = true;
    advance.call(this, ms);
  };
  world.settle = async function (timeoutMs) {
    if (moved) {
      moved = false;
      throw new SettleTimeout('the DCC did not settle within 15000 ms: 1 deliveries still pending');
    }
    return settle.call(this, timeoutMs);
  };
  try {
    const run = await scSchedulesCreditThenTimePasses();
    const step = run.tests[0]!.attempts[0]!.steps[2]!;
    t.is(step.verdict, 'fail', messages(run));
    t.regex(step.message!, /invariant violated: esme changed where it must not: paymentMode "credit" -> "prepayment" \(the step itself ended in an error: the DCC did not settle/);
  } finally {
    world.advance = advance;
    world.settle = settle;
  }
});
