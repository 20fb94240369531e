/**
 * What a request step may change follows what the meter was asked to do with it: a cancellation or a date the
 * frozen clocks cannot reach in the step may only be scheduled (or cancel), never executed at once. A meter bug is
 * seeded by patching how meters perform operations: the tests are serial, and put it back after.
 */
import { join } from 'node:path';
import test from 'ava';
import { Meter } from '../../devices/meter.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { loadScenarioFile } from '../../harness/scenarios/loader.ts';
import { repoRoot } from '../helpers/fixtures.ts';

type Perform = (op: { execution?: unknown }, ctx: unknown, alertInfo?: unknown) => unknown;
const meterProto = Meter.prototype as unknown as { perform: Perform };
const perform = meterProto.perform;

/** A meter that ignores the execution date-time: every command executes at once. */
function ignoringExecutionTime(): void {
  meterProto.perform = function (this: unknown, op, ctx, alertInfo) {
    return perform.call(this, 'execution' in op ? { ...op, execution: { kind: 'now' } } : op, ctx, alertInfo);
  };
}

test.afterEach.always(() => {
  meterProto.perform = perform;
});

const run = (at: string) =>
  runScenarios(
    loadScenarioFile(
      join(repoRoot, 'scenarios/runner-test.yaml'),
      `world: ${join(repoRoot, 'scenarios/worlds/standard.yaml')}
scenarios:
  - id: dated
    title: t
    steps:
      - request: { as: healthy, to: other-esme, mode: credit, expect: { code: I99, device: success } }
      - request: { as: healthy, to: other-esme, mode: { prepayment: { suspendDebtDisabled: true, suspendDebtEmergency: false, disablementThreshold: 7 } }, at: ${at}, expect: { code: I99, device: success } }
`,
    ),
    { pool: async () => new EmulatedPool() },
  );

for (const at of ['cancel', '2h']) {
  test.serial(`a meter that executes a command dated ${at} at once fails the step`, async (t) => {
    ignoringExecutionTime();
    const r = await run(at);
    const step = r.tests[0]!.attempts[0]!.steps[1]!;
    t.is(step.verdict, 'fail', step.message ?? '');
    t.regex(step.message ?? '', /invariant violated: other-esme changed where it must not: paymentMode "credit" -> "prepayment"/);
  });

  test.serial(`the same command dated ${at} on a sound meter passes`, async (t) => {
    const r = await run(at);
    t.is(r.tests[0]!.verdict, 'pass', r.tests[0]!.attempts[0]!.message ?? '');
  });
}
