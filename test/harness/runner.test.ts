/** The scenario runner's verdicts, retries and timeouts. */
import { join } from 'node:path';
import test from 'ava';
import { runScenarios } from '../../harness/engine/runner.ts';
import { InfrastructureError } from '../../harness/engine/failures.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { loadScenarioFile, ScenarioLoadError } from '../../harness/scenarios/loader.ts';
import { decodeFrame } from '../../protocol/gbcs/frame.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const WORLD = join(repoRoot, 'scenarios/worlds/standard.yaml');
const load = (scenario: string) => loadScenarioFile(join(repoRoot, 'scenarios/runner-test.yaml'), `world: ${WORLD}\nscenarios:\n${scenario}`);

test('an infrastructure error matching the retry pattern is retried, and every attempt is kept', async (t) => {
  const scenarios = load(`  - id: flaky
    title: t
    retry: { when: "flaky link", attempts: 3 }
    steps:
      - request: { as: srp, to: esme, expect: { code: E3 } }
`);
  let calls = 0;
  const run = await runScenarios(scenarios, {
    pool: async () => {
      if (++calls === 1) throw new InfrastructureError('flaky link to the rig');
      return new EmulatedPool();
    },
  });
  const test0 = run.tests[0]!;
  t.is(test0.verdict, 'pass');
  t.deepEqual(test0.attempts.map((a) => a.verdict), ['error', 'pass']);
  t.regex(test0.attempts[0]!.message!, /flaky link/);
});

test('a product failure is never retried, and an error that does not match the pattern is not either', async (t) => {
  const scenarios = load(`  - id: wrong-expectation
    title: t
    retry: { when: ".*", attempts: 3 }
    steps:
      - request: { as: srp, to: esme, expect: { code: I0 } }
  - id: other-error
    title: t
    retry: { when: "only this", attempts: 3 }
    steps:
      - request: { as: srp, to: esme, expect: { code: E3 } }
`);
  let calls = 0;
  const run = await runScenarios(scenarios, {
    pool: async () => {
      if (++calls === 2) throw new InfrastructureError('something else');
      return new EmulatedPool();
    },
  });
  t.deepEqual(
    run.tests.map((x) => [x.id, x.verdict, x.attempts.length]),
    [
      ['wrong-expectation', 'fail', 1],
      ['other-error', 'error', 1],
    ],
  );
  t.regex(run.tests[0]!.attempts[0]!.message!, /expected I0, got E3/);
  t.deepEqual(run.summary, { total: 2, passed: 0, failed: 1, errors: 1, skipped: 0 });
});

test('a step that overruns its timeout is an infrastructure error, not a product failure', async (t) => {
  const scenarios = load(`  - id: slow
    title: t
    timeouts: { step: 300ms }
    steps:
      - expect-alert: { at: srp, code: 8F66, within: 10s }
`);
  const run = await runScenarios(scenarios, { pool: async () => new EmulatedPool() });
  t.is(run.tests[0]!.verdict, 'error');
  t.is(run.tests[0]!.attempts[0]!.message, 'step 1 (expect-alert): the step did not finish within 300 ms', 'the step is named once');
});

test('a run that times out skips the scenarios it did not start', async (t) => {
  const scenarios = load(`  - id: a
    title: t
    steps:
      - request: { as: srp, to: esme, expect: { code: E3 } }
  - id: b
    title: t
    steps:
      - request: { as: srp, to: esme, expect: { code: E3 } }
`);
  const run = await runScenarios(scenarios, { runTimeoutMs: 0, pool: async () => new EmulatedPool() });
  t.deepEqual(run.tests.map((x) => x.verdict), ['pass', 'skip']);
  t.regex(run.tests[1]!.skipReason!, /timed out/);
});

test('a live world (start: now) keeps real time: a future-dated request is dated from now, where a fixed start dates it from there', async (t) => {
  const world = (start: string) => `world:
  ${start}
  parties:
    failing: { eui: 90B3D51F30010001, name: Failing Energy Ltd, roles: [IS, GS], srp: srp }
    srp: { eui: 90B3D51F30050001, name: Shared Resources Ltd, roles: [SC] }
  devices:
    esme: { type: ESME, supplier: failing, state: { paymentMode: prepayment } }
scenarios:
  - id: dated
    title: t
    steps:
      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: credit, at: 1h, expect: { code: I99, response: I0, device: success } }
`;
  const executionOf = async (start: string) => {
    const run = await runScenarios(loadScenarioFile(join(repoRoot, 'scenarios/runner-test.yaml'), world(start)), { pool: async () => new EmulatedPool() });
    t.is(run.tests[0]!.verdict, 'pass', run.tests[0]!.attempts[0]!.message);
    const request = run.tests[0]!.attempts[0]!.steps[1]!.traffic.find((m) => m.kind === 'duis' && m.payload.includes('ExecutionDateTime'));
    return Date.parse(/<sr:ExecutionDateTime>([^<]+)</.exec(request?.payload ?? '')?.[1] ?? '');
  };
  const before = Date.now();
  const live = await executionOf('start: now');
  const after = Date.now();
  t.true(live >= before + 3_600_000 - 1000 && live <= after + 3_600_000, `${new Date(live).toISOString()} is an hour from now`);
  t.is(new Date(await executionOf('start: 2026-01-05T09:00:00Z')).toISOString(), '2026-01-05T10:00:00.000Z');
});

/**
 * A live world of one failed supplier, its SRP (an SC party) and one ESME, with the given steps. Its meters answer
 * within 40 s, so a test may hold an answer on the link long enough for a loaded machine.
 */
function liveWorld(esmeState: string, steps: string): ReturnType<typeof loadScenarioFile> {
  return loadScenarioFile(
    join(repoRoot, 'scenarios/runner-test.yaml'),
    `world:
  start: now
  parties:
    failing: { eui: 90B3D51F30010001, name: Failing Energy Ltd, roles: [IS, GS], srp: srp }
    srp: { eui: 90B3D51F30050001, name: Shared Resources Ltd, roles: [SC] }
  devices:
    esme: { type: ESME, supplier: failing, state: ${esmeState} }
scenarios:
  - id: live
    title: t
    timeouts: { device: 40s }
    steps:
${steps}`,
  );
}

test('in a live world emulated meters keep real time too: a switch future-dated 15 s falls due by itself and its 8F66 reaches the SRP, with no advance step', async (t) => {
  const run = await runScenarios(
    liveWorld(
      '{ paymentMode: prepayment }',
      `      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: credit, at: 15s, expect: { code: I99, response: I0, device: success } }
      - expect-state: { device: esme, paymentMode: prepayment }
      - expect-alert: { at: srp, device: esme, code: 8F66, within: 45s }
      - expect-state: { device: esme, paymentMode: credit }
`,
    ),
    { pool: async () => new EmulatedPool() },
  );
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(run.tests[0]!.verdict, 'pass', attempt.message ?? JSON.stringify(attempt.steps.map((x) => x.message)));
  const fellDue = attempt.steps[3]!.diffs.find((d) => d.device === 'esme')!;
  t.deepEqual(fellDue.unexpected, [], 'the switch falling due during the wait is time passing, not a violation');
  t.true(fellDue.changes.some((c) => c.path === 'paymentMode' && c.after === 'credit'));
});

/**
 * Steps in which the failed supplier's own switch to `pending`, dated 15 s ahead, falls due while the SC's switch
 * to `sc` is held 30 s on the link (step 4 of them): real time, so the margins are wide for a loaded machine.
 */
function dueDuringScSwitch(pending: 'credit' | 'prepayment', sc: 'credit' | 'prepayment'): string {
  return `      - request: { as: failing, to: esme, mode: ${pending}, at: 15s, expect: { code: I99, response: I0, device: success } }
      - solr-contingency: { failed: failing, contingency: srp }
      - link-fault: { action: delay, delay: 30s }
      - request: { as: srp, to: esme, mode: ${sc}, expect: { code: I99, response: I0, device: success } }
`;
}

test('in a live world the SoLR invariant excuses what a pending change falling due during an SC step writes, and nothing else', async (t) => {
  // The failed supplier's own switch to prepayment falls due while the SC's switch to Credit is held on the
  // link: the prepayment settings it writes are time passing, not the SC's doing.
  const fellDue = await runScenarios(
    liveWorld('{ paymentMode: credit }', dueDuringScSwitch('prepayment', 'credit') + '      - expect-state: { device: esme, paymentMode: credit }\n'),
    { pool: async () => new EmulatedPool() },
  );
  const attempt = fellDue.tests[0]!.attempts[0]!;
  t.is(fellDue.tests[0]!.verdict, 'pass', attempt.message ?? JSON.stringify(attempt.steps.map((x) => x.message)));
  t.true(attempt.steps[3]!.diffs[0]!.changes.some((c) => c.path.startsWith('prepaymentSettings')), 'the pending switch fell due during the SC step');

  // With the clock ticking and nothing falling due, an SC switch to prepayment (a DCC that lets ECS03 through)
  // is still a violation, and the clock's moving is not.
  const violated = await runScenarios(
    liveWorld(
      '{ paymentMode: credit }',
      `      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: prepayment, expect: { code: I99, response: I0, device: success } }
`,
    ),
    { pool: async () => new EmulatedPool(), defects: ['sc-allowed-ecs03'] },
  );
  const step = violated.tests[0]!.attempts[0]!.steps[1]!;
  t.is(step.verdict, 'fail');
  t.regex(step.message!, /invariant violated: esme changed where it must not: .*paymentMode "credit" -> "prepayment"/);
  t.notRegex(step.message!, /clock/);
});

test('in a live world a pending switch to Credit falling due during an SC step does not excuse the meter going to prepayment', async (t) => {
  // The failed supplier's own switch to Credit falls due while the SC's switch to prepayment (a DCC that lets
  // ECS03 through) is held on the link: time explains the Credit switch, not the prepayment one.
  const run = await runScenarios(liveWorld('{ paymentMode: credit }', dueDuringScSwitch('credit', 'prepayment')), {
    pool: async () => new EmulatedPool(),
    defects: ['sc-allowed-ecs03'],
  });
  const step = run.tests[0]!.attempts[0]!.steps[3]!;
  t.is(step.verdict, 'fail', JSON.stringify(run.tests[0]!.attempts[0]!.steps.map((x) => x.message)));
  t.regex(step.message!, /invariant violated: esme changed where it must not: .*paymentMode "credit" -> "prepayment"/);
});

test('a future-dated switch to prepayment falling due in an advance step writes the prepayment settings, as the switch may', async (t) => {
  const run = await runScenarios(
    load(`  - id: dated-prepayment
    title: t
    steps:
      - request: { as: healthy, to: other-esme, mode: credit, expect: { code: I99, response: I0, device: success } }
      - request: { as: healthy, to: other-esme, mode: prepayment, at: 1h, expect: { code: I99, response: I0, device: success } }
      - advance: 2h
      - expect-state: { device: other-esme, paymentMode: prepayment }
`),
    { pool: async () => new EmulatedPool() },
  );
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(run.tests[0]!.verdict, 'pass', attempt.message ?? JSON.stringify(attempt.steps.map((x) => x.message)));
  t.true(attempt.steps[2]!.diffs.find((d) => d.device === 'other-esme')!.changes.some((c) => c.path.startsWith('prepaymentSettings')));
});

test('in a live world a switch an SC future-dates and that falls due within its own step is the switch executing, not a violation', async (t) => {
  // The meter's answer is held on the link for 20 s; the switch, dated 8 s on, executes meanwhile.
  const run = await runScenarios(
    liveWorld(
      '{ paymentMode: prepayment }',
      `      - solr-contingency: { failed: failing, contingency: srp }
      - link-fault: { action: delay, direction: to-dcc, delay: 20s }
      - request: { as: srp, to: esme, mode: credit, at: 8s, expect: { code: I99, response: I0, device: success } }
      - expect-state: { device: esme, paymentMode: credit }
`,
    ),
    { pool: async () => new EmulatedPool() },
  );
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(run.tests[0]!.verdict, 'pass', attempt.message ?? JSON.stringify(attempt.steps.map((x) => x.message)));
  t.true(attempt.steps[2]!.diffs[0]!.changes.some((c) => c.path === 'alertCounter'), 'the switch executed during the request step');
});

test('the SoLR invariant catches a switch to prepayment the SC party future-dates (the pending change appears whole)', async (t) => {
  const run = await runScenarios(
    load(`  - id: sc-future-prepayment
    title: t
    steps:
      - request: { as: failing, to: esme, mode: credit, expect: { code: I99, device: success } }
      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: prepayment, at: 1h, expect: { response: I0, device: success } }
`),
    { pool: async () => new EmulatedPool(), defects: ['sc-allowed-ecs03'] },
  );
  const step = run.tests[0]!.attempts[0]!.steps[2]!;
  t.is(step.verdict, 'fail');
  t.regex(step.message!, /invariant violated: esme changed where it must not: pending\.paymentMode null -> .*"mode":"prepayment"/);
});

/**
 * SC traffic whose leaves never name prepayment: the meter stays out of Credit (a cancelled or replaced pending
 * switch to Credit, a switch to prepayment with the settings the meter already had, a pending prepayment switch
 * brought forward). Each needs a DCC defect to reach the meter; each must fail the step that sent it.
 */
const SC_WITHOUT_PREPAYMENT_LEAVES: [id: string, defect: string, steps: string, message: RegExp][] = [
  [
    'sc-cancels-pending-credit',
    'content-check-message-code-only',
    `      - request: { as: failing, to: esme, mode: credit, at: 6h, expect: { code: I99, device: success } }
      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: credit, at: cancel, expect: { code: I99 } }`,
    /esme changed where it must not: .*pending\.paymentMode \{[^}]*"mode":"credit".* -> null; eventLog\[\d+\] .*"event":"cancelled"/,
  ],
  [
    'sc-prepayment-same-settings',
    'sc-allowed-ecs03',
    `      - request: { as: failing, to: esme, mode: credit, at: 6h, expect: { code: I99, device: success } }
      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: { prepayment: { suspendDebtDisabled: false, suspendDebtEmergency: false, disablementThreshold: 0 } }, expect: { code: I99 } }`,
    /esme changed where it must not: .*eventLog\[\d+\] .*"event":"executed".*"useCase":"ECS03"/,
  ],
  [
    'sc-brings-prepayment-forward',
    'sc-allowed-ecs03',
    `      - request: { as: failing, to: esme, mode: credit, expect: { code: I99, device: success } }
      - request: { as: failing, to: esme, mode: prepayment, at: 6h, expect: { code: I99, device: success } }
      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: prepayment, at: 1h, expect: { code: I99 } }`,
    /esme changed where it must not: .*pending\.paymentMode \{.*"mode":"prepayment".*\} -> \{.*"mode":"prepayment".*; eventLog\[\d+\] .*"event":"scheduled".*"useCase":"ECS03"/,
  ],
];

for (const [id, defect, steps, message] of SC_WITHOUT_PREPAYMENT_LEAVES) {
  test(`the SoLR invariant judges what SC traffic leaves on a meter whole: ${id}`, async (t) => {
    const run = await runScenarios(load(`  - id: ${id}\n    title: t\n    steps:\n${steps}\n`), { pool: async () => new EmulatedPool(), defects: [defect as never] });
    const attempt = run.tests[0]!.attempts[0]!;
    const step = attempt.steps.at(-1)!;
    t.is(step.verdict, 'fail', attempt.message ?? '');
    t.regex(step.message ?? '', message);
  });
}

test('a request step expecting a DCC alert fails when nothing was quarantined, and one expecting the device answer fails when the request was', async (t) => {
  const run = await runScenarios(
    load(`  - id: alert-expected
    title: t
    timeouts: { device: 1s }
    steps:
      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: credit, expect: { code: I99, dccAlert: AD1 } }
  - id: answer-expected
    title: t
    steps:
      - solr-contingency: { failed: failing, contingency: srp, quarantine: 1 }
      - request: { as: srp, to: esme, mode: credit, repeat: 2, expect: { code: I99, response: I0, device: success } }
  - id: quarantined
    title: t
    steps:
      - solr-contingency: { failed: failing, contingency: srp, quarantine: 1 }
      - request: { as: srp, to: esme, mode: credit, repeat: 2, expect: { code: I99, dccAlert: AD1 } }
`),
    { pool: async () => new EmulatedPool() },
  );
  const message = (i: number) => run.tests[i]!.attempts[0]!.message ?? '';
  t.deepEqual(run.tests.map((x) => x.verdict), ['fail', 'fail', 'pass'], JSON.stringify(run.tests.map((x) => x.attempts[0]!.message)));
  t.regex(message(0), /no DCC alert AD1 .* \(the request was not quarantined\)/);
  t.regex(message(1), /expected a response from the device, but the DCC quarantined the request/);
});

test('expect-alert counts each alert once: an alert an earlier step counted does not pass a later one', async (t) => {
  const run = await runScenarios(
    load(`  - id: spent-alert
    title: t
    steps:
      - request: { as: healthy, to: other-gsme, mode: credit, at: 1h, expect: { code: I99, response: I0 } }
      - advance: 2h
      - expect-alert: { at: healthy, device: other-gsme, code: 8F66 }
      - request: { as: healthy, to: other-gsme, mode: prepayment, at: 1h, expect: { code: I99, response: I0 } }
      - expect-alert: { at: healthy, device: other-gsme, code: 8F66, within: 1s }
`),
    { pool: async () => new EmulatedPool() },
  );
  const steps = run.tests[0]!.attempts[0]!.steps;
  t.is(steps[2]!.verdict, 'pass');
  t.is(steps[4]!.verdict, 'fail');
  t.regex(steps[4]!.message!, /no 8F66 alert/);
});

test('expect-alert absent waits its whole window: an alert arriving late in it is seen', async (t) => {
  const run = await runScenarios(
    liveWorld(
      '{ paymentMode: prepayment }',
      `      - request: { as: failing, to: esme, mode: credit, at: 3s, expect: { code: I99, response: I0 } }
      - expect-alert: { at: failing, device: esme, code: 8F66, absent: true, within: 6s }
`,
    ),
    { pool: async () => new EmulatedPool() },
  );
  const step = run.tests[0]!.attempts[0]!.steps[1]!;
  t.is(step.verdict, 'fail');
  t.regex(step.message!, /failing receives no 8F66 alert from esme: one arrived/);
});

test('a scenario that runs out of time stops where it is: the steps it finished are kept, and its devices are let go before the run goes on', async (t) => {
  let closedAt = 0;
  // A world of one meter sets up in well under the 15 s; the second step would wait a minute.
  const run = await runScenarios(
    loadScenarioFile(
      join(repoRoot, 'scenarios/runner-test.yaml'),
      `world:
  parties:
    failing: { eui: 90B3D51F30010001, name: Failing Energy Ltd, roles: [IS, GS] }
  devices:
    esme: { type: ESME, supplier: failing, state: { paymentMode: prepayment } }
scenarios:
  - id: slow
    title: t
    timeouts: { scenario: 15s }
    steps:
      - expect-alert: { at: failing, code: 8F66, absent: true, within: 300ms }
      - expect-alert: { at: failing, code: 8F66, absent: true, within: 60s }
      - request: { as: failing, to: esme, mode: credit, expect: { code: I99 } }
`,
    ),
    {
      pool: async () => {
        const pool = new EmulatedPool();
        const close = pool.close.bind(pool);
        pool.close = () => ((closedAt = Date.now()), close());
        return pool;
      },
    },
  );
  const returnedAt = Date.now();
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'error');
  t.deepEqual(attempt.steps.map((s) => s.verdict), ['pass', 'error'], 'the finished step is kept; the third never started');
  t.regex(attempt.message!, /^step 2 .*: scenario slow did not finish within 15000 ms$/);
  t.true(closedAt > 0 && closedAt <= returnedAt, 'its device pool was closed before the run went on');
});

test('a transform expectation on a request that is not transformed is an error in the scenario, not a silent pass', async (t) => {
  const text = `  - id: smets1-transform
    title: t
    steps:
      - request: { as: failing, to: smets1-elec, mode: credit, expect: { transform: E99, code: I99 } }
`;
  // Refused on load; built without the loader, the step still errors rather than pass.
  t.throws(() => load(text), { instanceOf: ScenarioLoadError, message: /expect\.transform is the answer to the CV 4 transform request, and this request has none/ });
  const [valid] = load(text.replace('transform: E99, ', ''));
  const step = valid!.steps[0]!;
  if (!('request' in step)) return t.fail();
  step.request.expect = { ...step.request.expect, transform: 'E99' };
  const run = await runScenarios([valid!], { pool: async () => new EmulatedPool() });
  t.is(run.tests[0]!.verdict, 'error');
  t.regex(run.tests[0]!.attempts[0]!.message!, /expect\.transform is the answer to a CV 4 transform request, and this request goes as CV 1/);
});

// Serial (ava runs these before the others): it counts the thread's listening servers.
test.serial("a world whose set-up fails closes every party's endpoint it opened: the run's process can end", async (t) => {
  // Loads as a valid world would, then SMKI refuses the Digital Signing certificate of the IS+SC party midway
  // through its set-up (the loader now refuses such a world: here it stands for any set-up failure).
  const [scenario] = load(`  - id: setup-fails
    title: t
    steps:
      - advance: 1h
`);
  const world = { ...scenario!.world, parties: { ...scenario!.world.parties, both: { roles: ['IS', 'SC'] as ('IS' | 'SC')[], status: 'active' as const } } };
  const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
  const before = servers();
  const run = await runScenarios([{ ...scenario!, world }], { pool: async () => new EmulatedPool() });
  t.is(run.tests[0]!.verdict, 'error');
  t.regex(run.tests[0]!.attempts[0]!.message!, /setting up the world failed: .*SoLR Contingency \(SC\) party/);
  // A closed server's handle goes a tick or so after close() resolves; a leaked one stays.
  for (let i = 0; i < 50 && servers() > before; i++) await new Promise((r) => setTimeout(r, 100));
  t.is(servers(), before, 'no server left listening');
});

/**
 * The SC party's request to the ESME, whose answer comes back after the step's 2 s limit (which every step has: the
 * others need far less, even on a loaded machine).
 */
const LATE_ANSWER = (id: string, mode: string, retry = '') => `  - id: ${id}
    title: t
    timeouts: { step: 2s }${retry}
    steps:
      - solr-contingency: { failed: failing, contingency: srp }
      - link-fault: { action: delay, direction: to-dcc, delay: 5s }
      - request: { as: srp, to: esme, mode: ${mode}, expect: { code: I99 } }
`;

/** An SC command held on the link past the device timeout: the DCC answers E21, and the meter executes it later. */
const LATE_COMMAND = (mode: string, after = '') => `  - id: late-command
    title: t
    timeouts: { device: 300ms }
    steps:
      - solr-contingency: { failed: failing, contingency: srp }
      - link-fault: { action: delay, direction: to-device, delay: 1s }
      - request: { as: srp, to: esme, mode: ${mode}, expect: { code: I99, response: E21 } }
${after}`;

test('an SC command the DCC gave up on (E21) that lands after the last step is still held to the SoLR invariant', async (t) => {
  const run = await runScenarios(load(LATE_COMMAND('prepayment')), { pool: async () => new EmulatedPool(), defects: ['sc-allowed-ecs03'] });
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'fail', attempt.message ?? '');
  const last = attempt.steps.at(-1)!;
  t.is(last.kind, 'after-steps');
  t.regex(attempt.message ?? '', /^step 4 \(after the last step \(commands the DCC gave up on may still land\)\): invariant violated: esme changed where it must not: .*"ECS03"/);
});

test('an SC command the DCC gave up on that lands during a later step is held to the SoLR invariant there, though that step allows the same fields', async (t) => {
  // Another supplier's switches keep the step going well past the second the SC command is held on the link; the
  // step allows esme every field the late command changes.
  const later = '      - request: { as: healthy, to: other-esme, mode: credit, repeat: 150, changes: { esme: [prepaymentSettings, eventLog, counters] }, expect: { code: I99, response: I0 } }\n';
  const run = await runScenarios(load(LATE_COMMAND('prepayment', later)), { pool: async () => new EmulatedPool(), defects: ['sc-allowed-ecs03'] });
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'fail', attempt.message ?? '');
  t.regex(attempt.message ?? '', /^step 4 \(healthy sends SRV 1\.6 \(credit\) to other-esme x150\): invariant violated: esme changed where it must not: .*"ECS03"/);
});

test('an SC switch to Credit the DCC gave up on (E21) that lands after the last step is no violation', async (t) => {
  const run = await runScenarios(load(LATE_COMMAND('credit')), { pool: async () => new EmulatedPool() });
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'pass', attempt.message ?? '');
  const last = attempt.steps.at(-1)!;
  t.is(last.kind, 'after-steps');
  t.true(last.diffs.some((d) => d.device === 'esme' && d.changes.some((c) => c.path === 'paymentMode' && c.after === 'credit')), 'the late switch landed and was looked at');
});

test('a step that ends in an error still holds the meters SoLR Contingency traffic reached to the invariant: a violation fails, and is not retried', async (t) => {
  const run = await runScenarios(load(LATE_ANSWER('late-violation', 'prepayment', '\n    retry: { when: ".*", attempts: 3 }')), {
    pool: async () => new EmulatedPool(),
    defects: ['sc-allowed-ecs03'],
  });
  const test0 = run.tests[0]!;
  t.is(test0.verdict, 'fail');
  t.is(test0.attempts.length, 1, 'a product failure is final');
  t.regex(test0.attempts[0]!.message!, /^step 3 \(request\): invariant violated: esme changed where it must not: .*\(the step itself ended in an error: the step did not finish within 2000 ms\)$/);
});

test('a step that ends in an error calls no change unexpected that it may have been allowed: a late answer to a switch to Credit is an error, not a violation', async (t) => {
  const run = await runScenarios(load(LATE_ANSWER('late-credit', 'credit')), { pool: async () => new EmulatedPool() });
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'error');
  const step = attempt.steps[2]!;
  t.true(step.diffs.some((d) => d.changes.some((c) => c.path === 'paymentMode')), 'the meter switched before the step gave up');
  t.deepEqual(step.diffs.flatMap((d) => d.unexpected), []);
});

test("a step's traffic holds what crossed the device link: the DCC's Command and the meter's answer, as hex, and its alerts", async (t) => {
  const run = await runScenarios(
    load(`  - id: link
    title: t
    steps:
      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: esme, mode: credit, expect: { code: I99, response: I0 } }
      - request: { as: srp, to: smets1-elec, mode: credit, expect: { code: I99, response: I0 } }
      - request: { as: srp, to: gsme, mode: credit, at: 2h, expect: { code: I99, response: I0, device: success } }
      - advance: 3h
`),
    { pool: async () => new EmulatedPool() },
  );
  const steps = run.tests[0]!.attempts[0]!.steps;
  t.is(run.tests[0]!.verdict, 'pass');
  const device = (i: number) => steps[i]!.traffic.filter((r) => r.direction === 'dcc->device' || r.direction === 'device->dcc');
  t.deepEqual(device(1).map((r) => [r.direction, r.kind, r.party, r.summary]), [
    ['dcc->device', 'gbcs', 'esme', 'to esme: command ECS02 (credit)'],
    ['device->dcc', 'gbcs', 'esme', 'esme answers: response ECS02 (credit): success'],
  ]);
  const command = decodeFrame(Buffer.from(device(1)[0]!.payload, 'hex'));
  t.true(command.ok && command.value.kind === 'command');
  t.deepEqual(device(2).map((r) => [r.direction, r.kind, r.summary.replace(/counter \d+/, 'counter N')]), [
    ['dcc->device', 's1sp', 'to smets1-elec via the S1SP: SRV 1.6, DUIS counter N'],
    ['device->dcc', 's1sp', 'smets1-elec answers: S1SP response, executed'],
  ]);
  t.deepEqual(device(0), [], 'the instruction itself sends nothing to a device');
  t.deepEqual(device(4).map((r) => [r.direction, r.kind, r.summary.replace(/at \S+\)/, 'at T)')]), [['device->dcc', 'gbcs', 'gsme alerts: alert 0x8F66 (credit, at T)']]);
});

const REVOKED_DEVICE = (certificate: string, expect: string) => `  - id: revoked-${certificate}
    title: t
    steps:
      - revoke: { device: other-esme, certificate: ${certificate} }
      - request: { as: healthy, to: other-esme, mode: { prepayment: { suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 } }, expect: ${expect} }
`;

test("a meter whose SMKI Key Agreement certificate is revoked gets no Command: the DCC answers E5 and the meter stays as it was", async (t) => {
  const run = await runScenarios(load(REVOKED_DEVICE('device-ka', '{ code: E5 }')), { pool: async () => new EmulatedPool() });
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'pass', attempt.message ?? '');
  t.is(attempt.steps[0]!.title, "SMKI revokes other-esme's device-ka");
  t.deepEqual(attempt.steps[1]!.diffs, [], 'nothing changed on the meter');
});

test("a meter whose SMKI Digital Signing certificate is revoked: its signed answer is not believed, and the step fails", async (t) => {
  const run = await runScenarios(load(REVOKED_DEVICE('device-ds', '{ code: I99, response: I0 }')), { pool: async () => new EmulatedPool() });
  const attempt = run.tests[0]!.attempts[0]!;
  t.is(attempt.verdict, 'fail');
  t.regex(attempt.message ?? '', /^step 2 .*the device's answer fails the sender's checks: no valid Digital Signing certificate is known for 00DB000000000201/);
});
