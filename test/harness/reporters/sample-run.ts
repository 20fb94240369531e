/**
 * A RunRecord built in code with every shape reporters must handle: a pass, a product failure with an unexpected
 * state change, an error retried into a pass, an error on every attempt, a skip, and hostile payloads.
 */
import type { AttemptRecord, RunRecord, StepRecord, TestRecord, TrafficRecord } from '../../../harness/results.ts';
import { summarize } from '../../../harness/results.ts';

export const HOSTILE_XML =
  '<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1001</sr:RequestID></sr:Header>' +
  '<sr:Body><script>window.__pwned = true; document.title = "pwned"</script><img src=x onerror="window.__pwned=true"><![CDATA[ ]]> & "quotes" \'apos\' \u0001ctl</sr:Body></sr:Request>';

export const GBCS_HEX = 'DF09000000000000000108' + '00DB1234567890A0' + '0102030405060708090A0B0C0D0E0F10111213141516171819';

function traffic(at: string, direction: TrafficRecord['direction'], kind: TrafficRecord['kind'], summary: string, payload: string, party?: string): TrafficRecord {
  return { at, direction, kind, summary, payload, ...(party ? { party } : {}) };
}

function step(index: number, title: string, over: Partial<StepRecord> = {}): StepRecord {
  return { index, title, kind: over.kind ?? 'send', verdict: 'pass', durationMs: 12 + index, traffic: [], diffs: [], ...over };
}

function attempt(n: number, steps: StepRecord[], over: Partial<AttemptRecord> = {}): AttemptRecord {
  return { attempt: n, verdict: 'pass', startedAt: `2026-11-01T07:20:0${n}.000Z`, durationMs: steps.reduce((a, s) => a + s.durationMs, 0), steps, ...over };
}

export function sampleRun(): RunRecord {
  const passSteps = [
    step(0, 'IS switches ESME-1 to Prepayment (CV1)', {
      traffic: [
        traffic('2026-11-01T07:20:01.100Z', 'user->dcc', 'duis', 'CV1 SRV 1.6 Prepayment', '<sr:Request><sr:Body>ok</sr:Body></sr:Request>', '90-B3-D5-1F-30-01-00-00'),
        traffic('2026-11-01T07:20:01.150Z', 'dcc->device', 'gbcs', 'Command ECS03', GBCS_HEX, '00-DB-12-34-56-78-90-A0'),
      ],
      diffs: [{ device: 'ESME-1', changes: [{ path: 'paymentMode', before: 'credit', after: 'prepayment' }], unexpected: [] }],
    }),
  ];
  const failStep = step(1, 'SC sends an altered Pre-Command to ESME-1 (CV5)', {
    verdict: 'fail',
    message: 'expected response code E53, got I0',
    traffic: [
      traffic('2026-11-01T07:20:02.100Z', 'user->dcc', 'duis', 'CV5 SRV 1.6 Signed Pre-Command <altered> & "re-signed"', HOSTILE_XML, '90-B3-D5-1F-30-0C-00-00'),
      traffic('2026-11-01T07:20:02.200Z', 'dcc->user', 'duis', 'Response I0', '<sr:Response><sr:ResponseCode>I0</sr:ResponseCode></sr:Response>'),
    ],
    diffs: [
      {
        device: 'ESME-1',
        changes: [
          { path: 'paymentMode', before: 'prepayment', after: 'credit' },
          { path: 'tariff.price', before: 1200, after: 1 },
        ],
        unexpected: [{ path: 'tariff.price', before: 1200, after: 1 }],
      },
    ],
  });
  const tests: TestRecord[] = [
    {
      id: 'BR1-sc-credit-esme',
      title: 'SC switches a prepayment ESME of the failed supplier to Credit',
      file: 'scenarios/mp134b/br1-switch.yaml',
      tags: ['BR1', 'esme', 'smoke'],
      level: 'smoke',
      verdict: 'pass',
      attempts: [attempt(1, passSteps)],
      durationMs: 1230,
    },
    {
      id: 'BR5-altered-precommand[esme]',
      title: 'Altered Pre-Command <refused> & "no change"',
      file: 'scenarios/mp134b/br5-precommand.yaml',
      tags: ['BR5', 'esme'],
      level: 'pit',
      verdict: 'fail',
      attempts: [attempt(1, [step(0, 'set up world', { kind: 'setup' }), failStep], { verdict: 'fail', message: 'step 2 (SC sends an altered Pre-Command to ESME-1 (CV5)): expected response code E53, got I0' })],
      durationMs: 2450,
    },
    {
      id: 'BR5-altered-precommand[gsme]',
      title: 'Altered Pre-Command refused on a GSME (retried after a link error)',
      file: 'scenarios/mp134b/br5-precommand.yaml',
      tags: ['BR5', 'gsme'],
      level: 'pit',
      verdict: 'pass',
      attempts: [
        attempt(1, [step(0, 'set up world', { kind: 'setup', verdict: 'error', message: 'serial link /dev/ttyUSB0 closed' })], { verdict: 'error', message: 'step 1 (set up world): serial link /dev/ttyUSB0 closed' }),
        attempt(2, [step(0, 'set up world', { kind: 'setup' })]),
      ],
      durationMs: 3100,
    },
    {
      id: 'BR3-smets1-prepayment',
      title: 'SMETS1 Prepayment request refused',
      file: 'scenarios/mp134b/br3-smets1.yaml',
      tags: ['BR3', 'smets1'],
      level: 'pit',
      verdict: 'error',
      attempts: [
        attempt(1, [], { verdict: 'error', message: 'setting up the world failed: S1SP did not answer within 10000 ms' }),
        attempt(2, [], { verdict: 'error', message: 'setting up the world failed: S1SP did not answer within 10000 ms' }),
      ],
      durationMs: 20_010,
    },
    {
      id: 'BR7-nightly-soak',
      title: 'Nightly soak',
      file: 'scenarios/mp134b/br7-soak.yaml',
      tags: ['BR7', 'nightly'],
      level: 'nightly',
      verdict: 'skip',
      attempts: [],
      durationMs: 0,
      skipReason: 'the run timed out before this scenario started',
    },
  ];
  return {
    runId: '3f9c2a8e-6b1d-4e7a-9c55-0d2f1e3a4b5c',
    startedAt: '2026-11-01T07:20:00.000Z',
    finishedAt: '2026-11-01T07:20:26.790Z',
    durationMs: 26_790,
    target: 'emulated',
    options: { tags: ['BR1', 'BR5'] },
    summary: summarize(tests),
    tests,
    deviceLogs: {
      'BR1-sc-credit-esme/ESME-1': ['2026-11-01T07:20:01.150Z rx Command ECS03', '2026-11-01T07:20:01.160Z paymentMode credit -> prepayment'],
      'BR5-altered-precommand[esme]/ESME-1': ['2026-11-01T07:20:02.150Z rx Command ECS02', '2026-11-01T07:20:02.160Z multi\nline entry'],
      '../escape/attempt': ['2026-11-01T07:20:03.000Z a device id that tries to leave the bundle'],
    },
    environment: { node: 'v20.20.2', platform: 'linux-x64', smetsHil: '0.1.0', host: 'ci-runner-1' },
  };
}
