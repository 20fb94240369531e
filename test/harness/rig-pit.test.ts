/**
 * The MP134B PIT pack over the serial path: its devices are emulator processes behind pty pairs (rigs/
 * emulated-serial.yaml), started once by the rig pool and re-provisioned for every scenario. CI runs a
 * representative subset (every kind of step: SMETS2+ and SMETS1 requests, link faults, future-dated changes and
 * clock advances, alerts); the nightly level (`npm run test:nightly`, or SMETS_HIL_NIGHTLY=1) runs the whole
 * pack, one scenario file per test. A device the rig cannot provide is an infrastructure error, never a failure.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseStore } from '../../devices/rig/leases.ts';
import { DEFAULT_PACK } from '../../harness/commands/run.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { rigPools } from '../../harness/pools/rig.ts';
import { LEVEL } from '../helpers/level.ts';
import { loadScenarios } from '../../harness/scenarios/loader.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { requireSocat } from '../devices/transports/serial/support.ts';

requireSocat();
const temp = mkdtempSync(join(tmpdir(), 'rig-pit-'));
const pools = rigPools(join(repoRoot, 'rigs/emulated-serial.yaml'), { leaseDir: join(temp, 'leases'), logDir: join(temp, 'logs') });
test.after.always(() => pools.close());

const pack = loadScenarios([DEFAULT_PACK]);
/** Groups, each a test of its own so results keep coming on a loaded machine; the first starts the emulators. */
const SUBSET: [string, RegExp][] = [
  ['SMETS2+ switches to Credit (ESME, twin ESME, GSME)', /^BR5-smets2-credit-accepted\[/],
  ['SMETS1 via the S1SP; a prepayment switch refused', /^(BR5-smets1-credit-accepted\[device=smets1-gas\]|BR5-smets2-prepayment-refused\[device=esme\])$/],
  ['link faults above the serial link: a duplicate, a damaged MAC', /^(BR5-duplicated-command-executes-once|BR5-damaged-mac-refused)$/],
  ['future-dated changes, clock advances and alerts', /^(BR5-future-dated-credit\[device=gsme\]|BR7-alerts-reach-srp-after-revocation\[device=esme\])$/],
];

async function runOnRig(scenarios: typeof pack) {
  const run = await runScenarios(scenarios, { pool: pools.pool, target: pools.target });
  return { run, notPassed: run.tests.filter((x) => x.verdict !== 'pass').map((x) => `${x.id}: ${x.verdict}: ${x.attempts.at(-1)?.message}`) };
}

for (const [title, ids] of SUBSET) {
  test.serial(`PIT pack over the serial path: ${title}`, async (t) => {
    const subset = pack.filter((s) => ids.test(s.id));
    t.true(subset.length >= 2, `${subset.length} scenarios`);
    const { run, notPassed } = await runOnRig(subset);
    t.deepEqual(notPassed, []);
    t.is(run.target, pools.target);
    t.log(`${run.summary.passed} scenarios in ${(run.durationMs / 1000).toFixed(1)} s`);
  });
}

test.serial('devices stay leased and their emulators running between scenarios', (t) => {
  const session = pools.session()!;
  t.true(['esme-1', 'esme-2', 'esme-3', 'gsme-1', 'smets1-g1'].every((id) => session.device(id)?.emulator), 'emulators still up');
  t.true(['esme-1', 'gsme-1'].every((id) => session.store.holderOf('emulated-serial', id)?.holder.pid === process.pid));
});

if (LEVEL === 'nightly' || process.env.SMETS_HIL_NIGHTLY) {
  for (const file of [...new Set(pack.map((s) => s.file))]) {
    test.serial(`nightly: ${file.split('/').at(-1)} passes on the serial path`, async (t) => {
      const { notPassed } = await runOnRig(pack.filter((s) => s.file === file));
      t.deepEqual(notPassed, []);
    });
  }
}

test('a device the rig cannot provide ends the scenario in error, naming who holds it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-busy-'));
  const file = join(dir, 'one.yaml');
  writeFileSync(file, 'name: one-esme\ndevices:\n  - { id: esme-1, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00DB00000000F001 }\n');
  const store = new LeaseStore(join(dir, 'leases'));
  store.acquire('one-esme', 'esme-1', { name: 'alice', pid: 0, host: 'bench' }, 3_600_000);
  const busy = rigPools(file, { leaseDir: join(dir, 'leases'), logDir: join(dir, 'logs') });
  const run = await runScenarios(
    pack.filter((s) => s.id === 'BR5-smets2-credit-accepted[device=esme]'),
    { pool: busy.pool, target: busy.target },
  );
  await busy.close();
  const a = run.tests[0]!;
  t.is(a.verdict, 'error');
  t.regex(a.attempts[0]!.message ?? '', /esme-1 is leased to alice/);
});
