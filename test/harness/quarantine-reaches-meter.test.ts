/**
 * A request the DCC quarantined must leave no trace on its meter, even where a step sends it among others that
 * may change the same fields (`repeat`). The DCC defect is seeded by patching its dispatch: serial, put back after.
 */
import { join } from 'node:path';
import test from 'ava';
import { DccService } from '../../emulator/service.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { loadScenarioFile } from '../../harness/scenarios/loader.ts';
import { repoRoot } from '../helpers/fixtures.ts';

type Internals = {
  dispatch(...a: unknown[]): unknown;
  queueQuarantineAlert(...a: unknown[]): unknown;
  track(p: Promise<unknown>): void;
  options: { devices: { sendCommand(device: unknown, command: unknown, timeoutMs: number): Promise<unknown> } };
};
const service = DccService.prototype as unknown as Internals;
const { dispatch, queueQuarantineAlert } = service;

/** A DCC that records a request as quarantined and raises AD1, and sends its Command to the meter all the same. */
function sendingQuarantined(): void {
  let quarantining = false;
  service.queueQuarantineAlert = function (this: Internals, ...a) {
    quarantining = true;
    return queueQuarantineAlert.apply(this, a);
  };
  service.dispatch = function (this: Internals, ...a) {
    quarantining = false;
    const reply = dispatch.apply(this, a);
    const [, , , device, , command] = a;
    if (quarantining && command) this.track(this.options.devices.sendCommand(device, command, 5000).then(() => undefined, () => undefined));
    return reply;
  };
}

test.afterEach.always(() => {
  service.dispatch = dispatch;
  service.queueQuarantineAlert = queueQuarantineAlert;
});

const run = () =>
  runScenarios(
    loadScenarioFile(
      join(repoRoot, 'scenarios/runner-test.yaml'),
      `world: ${join(repoRoot, 'scenarios/worlds/standard.yaml')}
scenarios:
  - id: quarantine-repeat
    title: t
    steps:
      - solr-contingency: { failed: failing, contingency: srp, quarantine: 2 }
      - request: { as: srp, to: esme, mode: credit, repeat: 3, expect: { code: I99, dccAlert: AD1 } }
`,
    ),
    { pool: async () => new EmulatedPool() },
  );

test.serial('a quarantined request that reaches its meter fails the step, though the requests before it were allowed the same fields', async (t) => {
  sendingQuarantined();
  const r = await run();
  const step = r.tests[0]!.attempts[0]!.steps[1]!;
  t.is(step.verdict, 'fail', step.message ?? '');
  t.regex(step.message ?? '', /invariant violated: esme changed where it must not: eventLog\[2\] .*"event":"executed".*"useCase":"ECS02"/);
});

test.serial('on a sound DCC the same step passes: the quarantined request never reaches the meter', async (t) => {
  const r = await run();
  t.is(r.tests[0]!.verdict, 'pass', r.tests[0]!.attempts[0]!.message ?? '');
});
