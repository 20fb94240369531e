/**
 * The opt-in real-meter job's code, run in CI against the fake coordinator as a user would run it locally
 * (serve.ts + check.ts): a blank coordinator (herdsman forms a new network), the meter joins with its install
 * code, a tunnel opens,
 * the payment mode reads, and an SRV 1.6 command built with the serve PKI executes.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { ECS02 } from '../../../../protocol/gbcs/usecases/catalogue.ts';
import { parseEui } from '../../../../protocol/smki/eui.ts';
import { deriveDeviceKeys } from '../../../../devices/smets2/keys.ts';
import { CommandBuilder, makeTestPki } from '../../../../devices/testing/command-builder.ts';
import { checkOptionsFrom, checkZigbeeMeter } from '../../../../devices/transports/zigbee/check.ts';
import { FAKE_SERVE_PKI_SEED, serveFakeZigbee, testEsme } from '../../../../devices/transports/zigbee/fake/serve.ts';

const EUI = parseEui('00DB1234567890A7');
const INSTALL_CODE = Buffer.from('83fed3407a939723a5c639b26916d505', 'hex');

test('check.ts against serve.ts: join with an install code, tunnel, payment mode, and an SRV 1.6 command to Credit', async (t) => {
  const esme = testEsme(EUI, 'prepayment');
  const served = await serveFakeZigbee({ eui: EUI, meters: [esme], prepayment: () => esme.snapshot(), installCode: INSTALL_CODE });
  try {
    const build = new CommandBuilder(makeTestPki(FAKE_SERVE_PKI_SEED), (eui) => deriveDeviceKeys(FAKE_SERVE_PKI_SEED, eui).ka.publicKey);
    const command = build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { device: EUI, counter: 1n });
    const o = checkOptionsFrom(['--port', served.path, '--meter', EUI, '--join-seconds', '60', '--install-code', `${EUI}|${INSTALL_CODE.toString('hex')}`, '--command-hex', Buffer.from(command).toString('hex')], {});
    t.truthy(o);
    const r = await checkZigbeeMeter(o!);
    t.log(JSON.stringify(r));
    t.is(r.startResult, 'reset', 'herdsman commissioned the blank fake');
    t.not(r.tunnelId, null);
    t.is(r.paymentMode, 'prepayment', 'read before the command');
    t.truthy(r.command?.replyOctets, r.command?.error);
    t.is(esme.paymentMode, 'credit');
    t.deepEqual(served.fake.unhandled, []);
    t.true(served.fake.requests.some((q) => q.name === 'APP_CNF_BDB_ADD_INSTALLCODE'), 'the install code reached the coordinator');
    t.log(`blank start: ${served.fake.requests.length} MT requests, ${served.fake.distinctCommands().length} distinct commands`);
  } finally {
    await served.stop();
  }
});

test('without a coordinator named, the check is not run', (t) => {
  t.is(checkOptionsFrom([], {}), null);
  t.throws(() => checkOptionsFrom(['--port', '/dev/ttyACM0'], {}), { message: /name the meter/ });
});

test('from the command line: exit code 1 when the meter joined but did not answer the command', async (t) => {
  const eui = parseEui('00DB1234567890A8');
  const served = await serveFakeZigbee({ eui, meters: [testEsme(eui, 'credit')] });
  try {
    // 01 02 is no GBCS command: the check cannot have it answered.
    const args = ['--import', 'tsx', 'devices/transports/zigbee/check.ts', '--port', served.path, '--meter', eui, '--join-seconds', '60', '--command-hex', '0102'];
    const r = await promisify(execFile)(process.execPath, args, { cwd: join(import.meta.dirname, '../../../..'), timeout: 120_000 }).then(
      (out) => ({ code: 0, ...out }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    const report = JSON.parse(r.stdout) as { tunnelId: number | null; command?: { error?: string } };
    t.not(report.tunnelId, null, 'the meter joined and the tunnel opened');
    t.truthy(report.command?.error);
    t.is(r.code, 1, r.stderr);
  } finally {
    await served.stop();
  }
});

test('a --join-seconds that is not a positive number is refused', (t) => {
  for (const bad of ['abc', '0', '-5', ''])
    t.throws(() => checkOptionsFrom(['--port', '/dev/ttyACM0', '--meter', EUI, `--join-seconds=${bad}`], {}), { message: /positive number of seconds/ }, bad);
  t.throws(() => checkOptionsFrom(['--port', '/dev/ttyACM0', '--meter', EUI], { SMETS_HIL_ZIGBEE_JOIN_SECONDS: 'soon' }), { message: /positive number/ });
  t.is(checkOptionsFrom(['--port', '/dev/ttyACM0', '--meter', EUI, '--join-seconds', '90'], {})?.joinTimeoutMs, 90_000);
});
