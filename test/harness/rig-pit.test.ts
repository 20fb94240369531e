/**
 * The MP134B PIT pack over the serial path: its devices are emulator processes behind pty pairs (rigs/
 * emulated-serial.yaml), started once by the rig pool and re-provisioned for every scenario: the whole pack,
 * unchanged, one scenario file per test. A device the rig cannot provide is an infrastructure error, never a
 * failure.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseStore } from '../../devices/rig/leases.ts';
import { DEFAULT_PACK } from '../../harness/commands/run.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { rigPools } from '../../harness/pools/rig.ts';
import { loadScenarios } from '../../harness/scenarios/loader.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { requireSocat } from '../devices/transports/serial/support.ts';

requireSocat();
const temp = mkdtempSync(join(tmpdir(), 'rig-pit-'));
const pools = rigPools(join(repoRoot, 'rigs/emulated-serial.yaml'), { leaseDir: join(temp, 'leases'), logDir: join(temp, 'logs') });
test.after.always(() => pools.close());

const pack = loadScenarios([DEFAULT_PACK]);
async function runOnRig(scenarios: typeof pack) {
  const run = await runScenarios(scenarios, { pool: pools.pool, target: pools.target });
  return { run, notPassed: run.tests.filter((x) => x.verdict !== 'pass').map((x) => `${x.id}: ${x.verdict}: ${x.attempts.at(-1)?.message}`) };
}

// The whole pack, one test per scenario file so results keep coming on a loaded machine (the pack takes about a
// minute over the serial path on an idle machine); the first starts the emulators.
for (const file of [...new Set(pack.map((s) => s.file))]) {
  test.serial(`PIT pack over the serial path: ${file.split('/').at(-1)}`, async (t) => {
    const scenarios = pack.filter((s) => s.file === file);
    const { run, notPassed } = await runOnRig(scenarios);
    t.deepEqual(notPassed, []);
    t.is(run.summary.passed, scenarios.length);
    t.is(run.target, pools.target);
    t.log(`${run.summary.passed} scenarios in ${(run.durationMs / 1000).toFixed(1)} s`);
  });
}

test.serial('devices stay leased and their emulators running between scenarios', (t) => {
  const session = pools.session;
  t.true(['esme-1', 'esme-2', 'esme-3', 'gsme-1', 'smets1-g1'].every((id) => session.device(id)?.emulator), 'emulators still up');
  t.true(['esme-1', 'gsme-1'].every((id) => session.store.holderOf('emulated-serial', id)?.holder.pid === process.pid));
});

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
