/**
 * What a request step checks of the DCC and the device whatever their answers: a DCC alert it expects must come
 * even when the request was refused; the User signs only a Pre-Command from the key owner and checks the meter's
 * answer against the command it signed and the execution it asked for; an `expect-state` step must check something.
 *
 * The meter bugs are seeded by patching the emulated meters: serial, and put back after.
 */
import { join } from 'node:path';
import test from 'ava';
import { Smets1Meter } from '../../devices/smets1/meter.ts';
import { Smets2Meter } from '../../devices/smets2/meter.ts';
import { transformPaymentMode } from '../../emulator/transform.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { ProductFailure, runStep } from '../../harness/engine/steps.ts';
import { WorldInstance } from '../../harness/engine/world.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { loadScenarioFile } from '../../harness/scenarios/loader.ts';
import { stepSchema } from '../../harness/scenarios/schema.ts';
import type { GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const WORLD = join(repoRoot, 'scenarios/worlds/standard.yaml');
const load = (scenario: string) => loadScenarioFile(join(repoRoot, 'scenarios/runner-test.yaml'), `world: ${WORLD}\nscenarios:\n${scenario}`);
const run = (scenario: string) => runScenarios(load(scenario), { pool: async () => new EmulatedPool() });

type Sign = (this: unknown, apdu: GeneralSigning) => Uint8Array;
type Reply = (this: unknown, to: string, id: bigint, outcome: { status: string }) => Uint8Array;
const smets2 = Smets2Meter.prototype as unknown as { sign: Sign };
const smets1 = Smets1Meter.prototype as unknown as { reply: Reply };
const { sign } = smets2;
const { reply } = smets1;
test.afterEach.always(() => {
  smets2.sign = sign;
  smets1.reply = reply;
});

test.serial('a DCC alert a request step expects must come even when the request was refused', async (t) => {
  // No Authority instruction: the SC party's request is refused (E3), and nothing raises AD1.
  const r = await run(`  - id: vacuous-alert
    title: t
    timeouts: { device: 1s }
    steps:
      - request: { as: srp, to: esme, mode: credit, expect: { dccAlert: AD1 } }
`);
  t.is(r.tests[0]!.verdict, 'fail');
  t.regex(r.tests[0]!.attempts[0]!.message!, /no DCC alert AD1 .*\(the request was answered E3\)$/);
});

/** Runs `use` on the standard world, made for it and closed after: for steps built by code, past the loader. */
async function inStandardWorld(use: (world: WorldInstance) => Promise<void>): Promise<void> {
  const [scenario] = load(`  - id: w
    title: t
    steps:
      - advance: 1h
`);
  const pool = new EmulatedPool();
  const world = await WorldInstance.create(scenario!.world, { pool });
  try {
    await use(world);
  } finally {
    await world.close();
    await pool.close();
  }
}

test.serial('an expect-state step that names nothing to check is refused on load, and by the engine if one reaches it', async (t) => {
  t.throws(() => load(`  - id: empty-state
    title: t
    steps:
      - expect-state: { device: esme }
`), { message: /expect-state: names nothing to check/ });
  // A step built by code, past the loader, is stopped by the engine.
  await inStandardWorld(async (world) => {
    const empty = { 'expect-state': { device: 'esme' } } as Parameters<typeof runStep>[0];
    await t.throwsAsync(runStep(empty, { world, deviceTimeoutMs: 2_000 }), { message: /^expect-state for esme names nothing to check/ });
  });
});

test.serial("the User does not sign a Pre-Command whose originator is not the key owner's (for SC, the failed supplier's)", async (t) => {
  await inStandardWorld(async (world) => {
    // A DCC that names another supplier as the command's originator.
    const healthy = world.party('healthy').eui;
    world.dcc.service.addTransformer('1.6', (request, device, _originator, at) => transformPaymentMode(request, device, healthy, at));
    const step = (as: string) => stepSchema.parse({ request: { as, to: 'esme', mode: 'credit', expect: { transform: 'I0' } } });
    const refused = async (as: string) => {
      const e = await t.throwsAsync(runStep(step(as), { world, deviceTimeoutMs: 2_000 }), { instanceOf: ProductFailure }, as);
      t.regex(e!.message, new RegExp(`Pre-Command refused: its originator is ${healthy}, not ${world.party('failing').eui}`), as);
    };
    await refused('failing');
    // Once the supplier has failed, its SRP signs with the failed supplier's key: the originator must be that supplier.
    await runStep(stepSchema.parse({ 'solr-contingency': { failed: 'failing', contingency: 'srp' } }), { world, deviceTimeoutMs: 2_000 });
    await refused('srp');
  });
});

test.serial("a meter's answer that does not carry the message code of the command the User signed is not believed", async (t) => {
  smets2.sign = function (apdu) {
    return sign.call(this, apdu.cra === 'response' ? { ...apdu, messageCode: apdu.messageCode + 1 } : apdu);
  };
  const r = await run(`  - id: wrong-code
    title: t
    steps:
      - request: { as: failing, to: esme, mode: credit, expect: { code: I99, response: I0, device: success } }
`);
  t.is(r.tests[0]!.verdict, 'fail');
  t.regex(r.tests[0]!.attempts[0]!.message!, /the device's answer fails the sender's checks: the meter's answer has message code .*, not the command's/);
});

test.serial('an S1SP answer that reports a cancellation executed is not a successful cancellation', async (t) => {
  smets1.reply = function (to, id, outcome) {
    return reply.call(this, to, id, outcome.status === 'cancelled' ? { ...outcome, status: 'executed' } : outcome);
  };
  const r = await run(`  - id: cancel-executed
    title: t
    steps:
      - request: { as: failing, to: smets1-elec, mode: credit, at: cancel, expect: { code: I99, response: I0, device: success } }
`);
  t.is(r.tests[0]!.verdict, 'fail');
  t.regex(r.tests[0]!.attempts[0]!.message!, /the device's answer: expected success, got failure/);
});
