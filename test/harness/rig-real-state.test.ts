/**
 * A real ZigBee meter's payment mode, read from its Prepayment cluster for the engine's comparisons: a read that
 * fails once (a timeout while the meter was busy) is tried again in later scenarios; a meter that does not serve
 * the read is not asked again. The meter is a rig "ZigBee" ESME whose link the test hands out.
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RigSession, type RigSessionOptions } from '../../devices/rig/session.ts';
import type { Link } from '../../devices/transports/link.ts';
import { createMemoryLinkPair } from '../../devices/transports/memory-link.ts';
import { NotServedError } from '../../devices/transports/zigbee/not-served.ts';
import { RigPool, rigS1spKey } from '../../harness/pools/rig.ts';
import { parseEui } from '../../protocol/smki/eui.ts';

const EUI = parseEui('00DB00000000C001');

/** Three scenarios in a row on one rig session, each reading the meter once; `read` answers the reads in turn. */
async function threeScenarios(t: { teardown(f: () => unknown): void }, read: (n: number) => Promise<string>) {
  const dir = mkdtempSync(join(tmpdir(), 'rig-real-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['ds.pem', 'ka.pem']) writeFileSync(join(dir, f), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
  const file = join(dir, 'rig.yaml');
  writeFileSync(file, `name: realstate\ndevices:\n  - { id: m1, kind: hardware, type: ESME, transport: { kind: zigbee, coordinator: /dev/ttyACM0 }, eui: ${EUI}, keys: { ds: ds.pem, ka: ka.pem } }\n`);
  let reads = 0;
  const zigbee: RigSessionOptions['zigbee'] = async () => {
    const pair = createMemoryLinkPair();
    await pair.device.open();
    return Object.assign(pair.dcc, { readPaymentMode: () => read(++reads) }) as Link;
  };
  const session = RigSession.open(file, { leaseDir: join(dir, 'leases'), logDir: join(dir, 'logs'), zigbee });
  t.teardown(() => session.close());
  const record = { eui: EUI, type: 'ESME', twin: false, fuel: 'electricity', supplier: parseEui('90B3D51F30010000'), networkOperator: null, smiStatus: 'commissioned' } as never;
  const plan = { alias: 'esme', eui: EUI, type: 'ESME' as const, twin: false, fuel: 'electricity' as const, initial: {}, requires: [] };
  const states: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const pool = new RigPool(session, { s1spKey: rigS1spKey('realstate') });
    await pool.plan([plan], new Date());
    await pool.provisioner.provision(record, {} as never);
    states.push(pool.port.state(EUI));
    await pool.close();
  }
  return { states, reads };
}

test("a read that fails once (a timeout) leaves that scenario's state unknown, and later scenarios read the meter again", async (t) => {
  const { states, reads } = await threeScenarios(t, async (n) => {
    if (n === 1) throw new Error('no answer from the Prepayment cluster within 10000 ms');
    return 'credit';
  });
  t.deepEqual(states, [undefined, { paymentMode: 'credit' }, { paymentMode: 'credit' }]);
  t.is(reads, 3);
});

test('a meter that does not serve the read is not asked again', async (t) => {
  const { states, reads } = await threeScenarios(t, async () => {
    throw new NotServedError('meter 00DB00000000C001 serves no Prepayment cluster');
  });
  t.deepEqual(states, [undefined, undefined, undefined]);
  t.is(reads, 1);
});
