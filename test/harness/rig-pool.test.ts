/**
 * The rig pool when a device goes away mid-scenario: the DCC gets a comms failure, the engine an infrastructure
 * error (verdict error, not fail); the next scenario finds the emulator restarted and works again.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandBuilder, makeTestPki } from '../../devices/testing/command-builder.ts';
import type { DeviceRecord } from '../../emulator/registry.ts';
import { InfrastructureError } from '../../harness/engine/failures.ts';
import { rigPools } from '../../harness/pools/rig.ts';
import { ECS04a } from '../../protocol/gbcs/usecases/meter-balance.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { requireSocat } from '../devices/transports/serial/support.ts';

requireSocat();
const EUI = parseEui('00DB00000000F201');
const pki = makeTestPki('rig pool');
const record: DeviceRecord = { eui: EUI, type: 'ESME', twin: false, fuel: 'electricity', supplier: pki.supplier.eui, networkOperator: null, smiStatus: 'commissioned' as DeviceRecord['smiStatus'] };
const anchors = { supplier: { eui: pki.supplier.eui, ds: pki.supplier.ds.publicKey, ka: pki.supplier.ka.publicKey }, acb: { eui: pki.acb.eui, ds: null, ka: pki.acb.ka.publicKey }, networkOperator: null };
const plan = { alias: 'esme', eui: EUI, type: 'ESME' as const, twin: false, fuel: 'electricity' as const, initial: { paymentMode: 'prepayment' as const }, requires: [] };
const start = new Date('2026-01-05T09:00:00Z');

test('a device that dies mid-scenario is an infrastructure error; the next scenario gets it back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-pool-'));
  const file = join(dir, 'rig.yaml');
  writeFileSync(file, `name: one\ndevices:\n  - { id: esme-1, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: ${EUI}, keys: { seed: rig-pool } }\n`);
  const pools = rigPools(file, { leaseDir: join(dir, 'leases'), logDir: join(dir, 'logs'), link: { ackTimeoutMs: 100, retries: 3 } });
  t.teardown(() => pools.close());

  const first = await pools.pool();
  await first.plan([plan], start);
  const keys = await first.provisioner.provision(record, anchors);
  const build = new CommandBuilder(pki, () => keys!.ka);
  const ok = await first.port.sendCommand(record, build.command(ECS04a, { amount: 5 }, { device: EUI, counter: 1n }), 10_000);
  t.is(ok.kind, 'response');
  t.is((first.snapshot(EUI) as { meterBalance: number }).meterBalance, 5);

  // The emulator goes away (and its pty pair with it) in the middle of the scenario.
  const runtime = pools.session.device('esme-1')!;
  const pid = runtime.emulator!.pid;
  process.kill(pid, 'SIGTERM');
  await runtime.emulator!.exited;
  for (let i = 0; i < 500 && runtime.serial!.state === 'open'; i++) await new Promise((r) => setTimeout(r, 10));
  const reply = await first.port.sendCommand(record, build.command(ECS04a, { amount: 5 }, { device: EUI, counter: 2n }), 10_000);
  t.is(reply.kind, 'comms-failure');
  const e = t.throws(() => first.snapshot(EUI), { instanceOf: InfrastructureError });
  t.regex(e?.message ?? '', /esme-1/);
  await first.close();

  // The next scenario: the rig restarts the emulator and provisions it afresh.
  const second = await pools.pool();
  await second.plan([plan], start);
  t.not(pools.session.device('esme-1')!.emulator!.pid, pid);
  await second.provisioner.provision(record, anchors);
  const again = await second.port.sendCommand(record, build.command(ECS04a, { amount: 7 }, { device: EUI, counter: 1n }), 10_000);
  t.is(again.kind, 'response');
  t.is((second.snapshot(EUI) as { meterBalance: number }).meterBalance, 7);
  await second.close();
});

test('follow moves emulated rig devices up to the live DCC time in the background, never back, and not before the world is planned', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-pool-'));
  const file = join(dir, 'rig.yaml');
  writeFileSync(file, `name: one\ndevices:\n  - { id: esme-1, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: ${EUI}, keys: { seed: rig-pool } }\n`);
  const pools = rigPools(file, { leaseDir: join(dir, 'leases'), logDir: join(dir, 'logs') });
  t.teardown(() => pools.close());
  const pool = await pools.pool();
  pool.follow(new Date()); // before the world is planned: its start is not known, so nothing moves
  await pool.plan([plan], start);
  await pool.provisioner.provision(record, anchors);
  const clock = () => (pool.snapshot(EUI) as { clock: string }).clock;
  const at = (minutes: number) => new Date(start.getTime() + minutes * 60_000);
  t.is(clock(), start.toISOString());
  // As a live world does: follow the DCC's time every little while until the device has caught up.
  const follow = async (to: Date) => {
    for (let i = 0; i < 300 && clock() !== to.toISOString(); i++) {
      pool.follow(to);
      await new Promise((r) => setTimeout(r, 10));
    }
    return clock();
  };

  t.is(await follow(at(1)), at(1).toISOString());
  t.is(await follow(at(2)), at(2).toISOString());
  pool.follow(at(1));
  await new Promise((r) => setTimeout(r, 100));
  t.is(clock(), at(2).toISOString(), 'an earlier time moves nothing');
  await pool.close();
});
