/**
 * `run --rig` on ZigBee rig devices, through the real link factory (devices/rig/zigbee-links.ts): zigbee-herdsman
 * on the fake Z-Stack coordinator (tcp://127.0.0.1:PORT), two emulated ESMEs joined behind it (one with an install
 * code), a rig file naming them as hardware ESMEs on that coordinator, and an MP134B check on them: the SoLR
 * Contingency party switches each to Credit after the Authority's instruction. To the session they are real meters
 * (keys from certificate files; their state is what their Prepayment cluster reports, read after each command),
 * and a meter whose cluster does not show the switch fails the scenario; the trust anchors a bench meter would be given out of band (the test PKI) are set from the DCC's when it registers
 * them. Also: one network for both devices, a second coordinator passed over with a clear reason, the network
 * stopped when the pools close, herdsman missing, bad parameters, and the CLI itself.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRig, type RigDevice, RigFileError } from '../../devices/rig/inventory.ts';
import { LeaseStore } from '../../devices/rig/leases.ts';
import type { ZigbeeRigParams } from '../../devices/rig/zigbee-params.ts';
import { RigSession, RigUnavailableError } from '../../devices/rig/session.ts';
import { ZigbeeRigLinks } from '../../devices/rig/zigbee-links.ts';
import { DeviceHost } from '../../devices/host.ts';
import { SimClock } from '../../devices/clock.ts';
import { GeneratedKeySource } from '../../devices/smets2/keys.ts';
import { Smets2Meter } from '../../devices/smets2/meter.ts';
import { TrustAnchors, type TrustAnchorCell } from '../../devices/smets2/trust-anchors.ts';
import { LinkError } from '../../devices/transports/link.ts';
import { HerdsmanUnavailableError } from '../../devices/transports/zigbee/herdsman.ts';
import { requireSocat } from '../devices/transports/serial/support.ts';
import { until as poll } from '../helpers/poll.ts';
import { FakeZStackCoordinator } from '../../devices/transports/zigbee/fake/coordinator.ts';
import { EmulatedMeterNode } from '../../devices/transports/zigbee/fake/node.ts';
import type { DeviceTrustAnchors, PartyKeys } from '../../emulator/admin.ts';
import { CliExit } from '../../harness/cli-exit.ts';
import { rigRunPools } from '../../harness/commands/run.ts';
import type { DevicePool } from '../../harness/engine/device-pool.ts';
import { runScenarios } from '../../harness/engine/runner.ts';
import { loadScenarios } from '../../harness/scenarios/loader.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { runCli } from '../helpers/cli.ts';

const START = '2026-01-05T09:00:00Z';
const EUI_A = parseEui('00DB0000000A0101');
const EUI_B = parseEui('00DB0000000A0102');
const INSTALL_CODE = '83FED3407A939723A5C639B26916D505';
const NETWORK = { panId: 0x4748, extendedPanId: '534D45545348494C', channel: 20, networkKey: 'A0A1A2A3A4A5A6A7A8A9AAABACADAEAF' };

const dir = mkdtempSync(join(tmpdir(), 'rig-zigbee-'));
const keys = new GeneratedKeySource();
const meters = new Map<Eui, Smets2Meter>();
const clocks = new Map<Eui, SimClock>();
for (const eui of [EUI_A, EUI_B]) {
  clocks.set(eui, new SimClock(new Date(START)));
  meters.set(eui, new Smets2Meter({ eui, variant: 'esme', keys, trustAnchors: new TrustAnchors({}), clock: clocks.get(eui)!, initial: { paymentMode: 'prepayment' } }));
  for (const k of ['ds', 'ka'] as const) writeFileSync(join(dir, `${eui}-${k}.pem`), keys.keysFor(eui)[k].publicKey.export({ type: 'spki', format: 'pem' }));
}
/** Each meter as installed (in prepayment), for a test that needs it so again after others switched it. */
const asInstalled = new Map([...meters].map(([eui, m]) => [eui, m.exportState()]));
/** Meters whose Prepayment cluster keeps reporting prepayment whatever they did (firmware that lies). */
const lying = new Set<Eui>();
const cluster = (eui: Eui) => () => ({ paymentMode: lying.has(eui) ? ('prepayment' as const) : meters.get(eui)!.paymentMode });
const nodeA = new EmulatedMeterNode({ eui: EUI_A, installCode: Buffer.from(INSTALL_CODE, 'hex'), prepayment: cluster(EUI_A) });
const nodeB = new EmulatedMeterNode({ eui: EUI_B, prepayment: cluster(EUI_B) });
const hosts = [new DeviceHost(nodeA.link).add(meters.get(EUI_A)!), new DeviceHost(nodeB.link).add(meters.get(EUI_B)!)];
/** A ZigBee device's transport parameters, as the rig session hands them to the link factory. */
function zigbeeParams(d: RigDevice): ZigbeeRigParams {
  if (d.transport.kind !== 'zigbee') throw new Error(`${d.id} is not on ZigBee`);
  return d.transport;
}

let fake: FakeZStackCoordinator;

const net = `channel: ${NETWORK.channel}, panId: 0x${NETWORK.panId.toString(16)}, extendedPanId: "${NETWORK.extendedPanId}", networkKey: "${NETWORK.networkKey}"`;
/** herdsman's database kept between runs, as for a real meter: the meters stay known to every run after the first. */
const zigbeeData = join(dir, 'zigbee-data');

function writeRig(name: string, devices: string[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nleases: { dir: leases-${name} }\nlogs: logs-${name}\ndevices:\n${devices.map((d) => `  - ${d}\n`).join('')}`);
  return file;
}

function esme(id: string, eui: Eui, transport: string): string {
  return `{ id: ${id}, kind: hardware, type: ESME, transport: { kind: zigbee, ${transport} }, eui: ${eui}, keys: { ds: ${eui}-ds.pem, ka: ${eui}-ka.pem }, capabilities: [prepayment, zigbee] }`;
}

/** A world's parties and the named ESMEs (a, b), prepayment meters of the supplier about to fail. */
function world(...aliases: ('esme-a' | 'esme-b')[]): string {
  const eui = { 'esme-a': EUI_A, 'esme-b': EUI_B };
  return `  parties:
    failing: { eui: 90B3D51F30010001, name: Failing Energy Ltd, roles: [IS, GS], srp: srp }
    srp: { eui: 90B3D51F30050001, name: Shared Resources Ltd (SoLR Contingency), roles: [SC] }
    network: { eui: 90B3D51F30020001, name: Regional Networks, roles: [ED, GT] }
  devices:
${aliases.map((a) => `    ${a}: { eui: ${eui[a]}, type: ESME, supplier: failing, network: network, state: { paymentMode: prepayment } }\n`).join('')}`;
}

/**
 * MP134B BR1/BR5 on a world of just these two ESMEs: SRV 1.6 to Credit from the SC party after the SoLR
 * instruction, the meter answering success (or, for a meter that does not trust the run's keys, failure).
 */
function writeScenarios(o: { device?: 'success' | 'failure'; then?: 'credit' | 'prepayment' | 'supply' } = {}): string {
  const device = o.device ?? 'success';
  const file = join(dir, `zigbee-scenarios-${device}-${o.then ?? 'unread'}.yaml`);
  writeFileSync(
    file,
    `world:
  start: ${START}
${world('esme-a', 'esme-b')}tags: [mp134b, zigbee]
scenarios:
  - id: ZB-sc-role-switches-to-credit
    title: The SoLR Contingency party switches a failed supplier's ZigBee ESME to Credit
    tags: [BR1, BR5, positive]
    outline:
      device: [esme-a, esme-b]
    timeouts: { device: 5s }
    steps:
      - solr-contingency: { failed: failing, contingency: srp }
      - request: { as: srp, to: "\${device}", mode: credit, expect: { transform: I0, code: I99, response: I0, device: ${device} } }
${o.then ? `      - expect-state: { device: "\${device}", ${o.then === 'supply' ? 'supply: enabled' : `paymentMode: ${o.then}`} }\n` : ''}`,
  );
  return file;
}

function cell(p: PartyKeys): TrustAnchorCell {
  return { eui: p.eui, ...(p.ds ? { ds: p.ds } : {}), ...(p.ka ? { ka: p.ka } : {}) };
}

/** What a bench does before a run: the meter trusts the test PKI (here: the keys this world's DCC issued). */
function trustDcc(pool: DevicePool): DevicePool {
  const provision = pool.provisioner.provision.bind(pool.provisioner);
  pool.provisioner.provision = async (record, anchors: DeviceTrustAnchors, initial) => {
    meters.get(record.eui)?.setTrustAnchors(new TrustAnchors({ supplier: cell(anchors.supplier), accessControlBroker: cell(anchors.acb), ...(anchors.networkOperator ? { networkOperator: cell(anchors.networkOperator) } : {}) }));
    return provision(record, anchors, initial);
  };
  return pool;
}

test.before(async () => {
  fake = await FakeZStackCoordinator.start({
    nodes: [nodeA, nodeB],
    preformed: { panId: NETWORK.panId, extendedPanId: Buffer.from(NETWORK.extendedPanId, 'hex'), channel: NETWORK.channel, networkKey: Buffer.from(NETWORK.networkKey, 'hex') },
  });
  for (const h of hosts) await h.start();
});

test.after.always(async () => {
  for (const h of hosts) await h.stop().catch(() => undefined);
  await fake?.close();
});

test.serial('run --rig reaches ZigBee ESMEs through the link factory: one network for both, the SC switch to Credit passes on each', async (t) => {
  const file = writeRig('zigbee-bench', [
    esme('esme-zb-a', EUI_A, `coordinator: ${fake.path}, ${net}, dataDir: zigbee-data, installCode: "${INSTALL_CODE}", joinTimeout: 20s`),
    esme('esme-zb-b', EUI_B, `coordinator: ${fake.path}, channel: ${NETWORK.channel}, joinTimeout: 20s`),
  ]);
  const pools = rigRunPools(file);
  t.teardown(() => pools.close());
  const scenarios = loadScenarios([writeScenarios({ then: 'credit' })]);
  t.is(scenarios.length, 2);
  const t0 = Date.now();
  const run = await runScenarios(scenarios, { pool: async () => trustDcc(await pools.pool()), target: pools.target });
  const notPassed = run.tests.filter((x) => x.verdict !== 'pass').map((x) => `${x.id}: ${x.verdict}: ${x.attempts.at(-1)?.message}`);
  t.deepEqual(notPassed, []);
  t.is(meters.get(EUI_A)!.paymentMode, 'credit', 'esme-a switched, over ZigBee');
  t.is(meters.get(EUI_B)!.paymentMode, 'credit', 'esme-b switched, over ZigBee');
  // The harness saw it too: the meters' Prepayment clusters, read after the command, changed from prepayment.
  for (const test of run.tests) {
    const request = test.attempts.at(-1)!.steps[1]!;
    t.deepEqual(request.diffs.map((d) => d.changes.map((c) => [c.path, c.before, c.after])), [[['paymentMode', 'prepayment', 'credit']]], test.id);
    t.deepEqual(request.diffs[0]!.unexpected, []);
  }
  const network = pools.zigbee.network!;
  t.is(pools.zigbee.started, 1, 'one network, shared by both devices');
  t.is(network.startResult, 'resumed', 'the rig\'s network parameters match the pre-formed coordinator');
  t.true(fake.requests.some((q) => q.name === 'APP_CNF_BDB_ADD_INSTALLCODE'), 'the install code reached the coordinator');
  t.deepEqual(fake.unhandled, []);
  const log = readFileSync(join(dir, 'logs-zigbee-bench', 'esme-zb-a.log'), 'utf8');
  t.regex(log, /command DD/i);
  t.regex(log, /response /);
  t.log(`2 scenarios on ZigBee in ${((Date.now() - t0) / 1000).toFixed(1)} s (herdsman start ${Math.round(network.startMs)} ms)`);

  await pools.close();
  t.is(pools.zigbee.network, null);
  t.true(existsSync(join(zigbeeData, 'database.db')), "herdsman's database is kept in the rig's dataDir, relative to the rig file");
  t.true(await until(() => fake.connections === 1 && !connected()), 'herdsman let go of the coordinator');
  const leases = new LeaseStore(join(dir, 'leases-zigbee-bench'));
  t.is(leases.holderOf('zigbee-bench', 'esme-zb-a'), null, 'lease released');
  leases.close();
});

test.serial('a real ZigBee meter that answers success but whose Prepayment cluster still says prepayment fails the scenario', async (t) => {
  lying.add(EUI_A);
  t.teardown(() => lying.delete(EUI_A));
  const file = writeRig('zigbee-lying', [
    esme('esme-zb-a', EUI_A, `coordinator: ${fake.path}, ${net}, dataDir: zigbee-data, installCode: "${INSTALL_CODE}", joinTimeout: 20s`),
    esme('esme-zb-b', EUI_B, `coordinator: ${fake.path}, joinTimeout: 20s`),
  ]);
  const pools = rigRunPools(file);
  t.teardown(() => pools.close());
  const scenarios = loadScenarios([writeScenarios({ then: 'credit' })]).filter((s) => s.id.includes('esme-a'));
  const run = await runScenarios(scenarios, { pool: async () => trustDcc(await pools.pool()), target: pools.target });
  const attempt = run.tests[0]!.attempts.at(-1)!;
  t.is(run.tests[0]!.verdict, 'fail', attempt.message ?? JSON.stringify(attempt.steps.map((x) => x.message)));
  t.is(attempt.steps[1]!.verdict, 'pass', 'the meter answered success');
  t.is(attempt.steps[2]!.message, 'esme-a: payment mode is prepayment, expected credit');
  // Asking a real meter for what it does not show is not the meter's failure.
  const unseen = await runScenarios(loadScenarios([writeScenarios({ then: 'supply' })]).filter((s) => s.id.includes('esme-a')), { pool: async () => trustDcc(await pools.pool()), target: pools.target });
  t.is(unseen.tests[0]!.verdict, 'error');
  t.is(unseen.tests[0]!.attempts.at(-1)!.steps[2]!.message, 'esme-a: its observed state has no supply (it shows paymentMode)');
  await pools.close();
  t.true(await until(() => !connected()), 'herdsman let go of the coordinator');
});

test.serial('a rig naming two coordinators: the second one\'s device is passed over with a clear reason, not marked out of service', async (t) => {
  const other = await FakeZStackCoordinator.start({});
  t.teardown(() => other.close());
  const file = writeRig('two-coordinators', [
    esme('esme-near', EUI_A, `coordinator: ${fake.path}, ${net}, dataDir: zigbee-data, installCode: "${INSTALL_CODE}", joinTimeout: 20s`),
    esme('esme-far', EUI_B, `coordinator: ${other.path}`),
  ]);
  const pools = rigRunPools(file);
  t.teardown(() => pools.close());
  await (await pools.pool()).close();
  const session = pools.session;
  t.deepEqual(await session.check('esme-near'), { healthy: true, reason: null });
  const far = await session.check('esme-far');
  t.false(far.healthy);
  t.regex(far.reason ?? '', new RegExp(`^esme-far is on ZigBee coordinator ${other.path}, but this run's ZigBee network is on ${fake.path} \\(esme-near\\): herdsman runs one network per process`));
  t.is(session.store.health('two-coordinators', 'esme-far'), null, 'not marked out of service');
  t.is(other.connections, 0, 'the second coordinator was never opened');
  t.is(pools.zigbee.started, 1);
  await pools.close();
  t.is(pools.zigbee.network, null);
});

test('herdsman missing: the ZigBee device is passed over with that reason, the other devices are reached', async (t) => {
  const file = writeRig('no-herdsman', [esme('esme-zb', EUI_A, 'coordinator: /dev/ttyACM0'), `{ id: esme-emu, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00DB0000000A0201 }`]);
  const rig = loadRig(file);
  const links = new ZigbeeRigLinks(rig, {
    loadHerdsman: () => Promise.reject(new HerdsmanUnavailableError('the ZigBee transport needs the optional dependency zigbee-herdsman 10.9.5 (npm install ...): Cannot find package')),
    startNetwork: () => t.fail('no network is started') as never,
  });
  const e = await t.throwsAsync(links.link(zigbeeParams(rig.devices[0]!), rig.devices[0]!), { instanceOf: RigUnavailableError });
  t.regex(e?.message ?? '', /^esme-zb is on ZigBee, and the ZigBee transport needs the optional dependency zigbee-herdsman/);
  // Through a session: passed over (not unhealthy, no power cycle), and allocation says why.
  const session = RigSession.open(rig, { leaseDir: join(dir, 'leases-no-herdsman'), logDir: join(dir, 'logs-no-herdsman'), zigbee: links.link });
  t.teardown(() => session.close());
  const check = await session.check('esme-zb');
  t.false(check.healthy);
  t.regex(check.reason ?? '', /zigbee-herdsman/);
  t.is(session.store.health('no-herdsman', 'esme-zb'), null);
  t.is(session.store.holderOf('no-herdsman', 'esme-zb'), null, 'its lease given back');
  requireSocat(); // the emulated device runs on a pty pair: checked, never passed over
  t.deepEqual(await session.check('esme-emu'), { healthy: true, reason: null }, 'the rest of the rig is unaffected');
  await links.close();
});

test('a coordinator that does not start: its devices are passed over with the reason, and it is not tried again at once', async (t) => {
  const file = writeRig('dead-coordinator', [esme('esme-x', EUI_A, 'coordinator: tcp://127.0.0.1:1'), esme('esme-y', EUI_B, 'coordinator: tcp://127.0.0.1:1')]);
  const rig = loadRig(file);
  let starts = 0;
  const links = new ZigbeeRigLinks(rig, {
    loadHerdsman: async () => undefined,
    startNetwork: async () => {
      starts++;
      throw new LinkError('open-failed', 'zigbee:tcp://127.0.0.1:1: coordinator did not start: Error while opening socket');
    },
  });
  const [x, y] = rig.devices as [RigDevice, RigDevice];
  const e = await t.throwsAsync(links.link(zigbeeParams(x), x), { instanceOf: RigUnavailableError });
  t.is(e?.message, 'esme-x is on ZigBee coordinator tcp://127.0.0.1:1, which did not start: Error while opening socket');
  const again = await t.throwsAsync(links.link(zigbeeParams(y), y), { instanceOf: RigUnavailableError });
  t.regex(again?.message ?? '', /^esme-y is on ZigBee coordinator tcp:\/\/127\.0\.0\.1:1, which did not start: Error while opening socket \(not tried again for 60 s\)$/);
  t.is(starts, 1);
  await links.close();
  await t.throwsAsync(links.link(zigbeeParams(x), x), { instanceOf: RigUnavailableError, message: /closed/ });
});

test('bad ZigBee parameters are reported with their file and line; run --rig refuses the rig file (usage error)', (t) => {
  const file = writeRig('bad-zigbee', [
    esme('esme-1', EUI_A, 'coordinator: tcp://127.0.0.1, channel: 27, panId: 0xFFFF, networkKey: "00", installCode: "XYZ", joinTimeout: soon, chanel: 15'),
    esme('esme-2', EUI_B, 'channel: 15'),
    esme('esme-3', parseEui('00DB0000000A0103'), 'coordinator: /dev/ttyACM0, channel: 15'),
    esme('esme-4', parseEui('00DB0000000A0104'), 'coordinator: /dev/ttyACM0, channel: 20'),
    esme('gsme-5', parseEui('00DB0000000A0105'), 'coordinator: /dev/ttyACM0').replace('type: ESME', 'type: GSME'),
  ]);
  const e = t.throws(() => loadRig(file), { instanceOf: RigFileError });
  // The devices are lines 5 to 9 of the file.
  const at = (line: number) => (e?.problems ?? []).filter((p) => p.file === file && p.line === line).map((p) => p.problem).join('\n');
  t.regex(at(5), /devices\[0\]\.transport\.coordinator: tcp:\/\/host:port/);
  t.regex(at(5), /devices\[0\]\.transport\.channel: a 2\.4 GHz channel, 11-26/);
  t.regex(at(5), /devices\[0\]\.transport\.panId: a PAN id/);
  t.regex(at(5), /devices\[0\]\.transport\.networkKey: 32 hex digits/);
  t.regex(at(5), /devices\[0\]\.transport\.installCode: hex/);
  t.regex(at(5), /devices\[0\]\.transport\.joinTimeout: a duration/);
  t.regex(at(5), /chanel/);
  t.regex(at(6), /devices\[1\]\.transport\.coordinator: the coordinator: a serial path or tcp:\/\/host:port/);
  t.is(at(7), '', 'the first device on /dev/ttyACM0 sets its channel');
  t.regex(at(8), /devices\[3\]\.transport\.channel: 20 differs from 15 given by esme-3 on the same coordinator \/dev\/ttyACM0/);
  t.regex(at(9), /devices\[4\]\.type: the ZigBee transport reaches ESMEs only/);
  const cli = t.throws(() => rigRunPools(file), { instanceOf: CliExit });
  t.is(cli?.code, 2);
  t.regex(cli?.message ?? '', /^rig file is invalid:\n[^]*bad-zigbee\.yaml:5: devices\[0\]\.transport\.channel/);
  t.notThrows(() => loadRig('rigs/bench-example.yaml'), 'the example bench is valid');
});

// The CLI's DCC issues its own keys, which this process's meters cannot be given: they refuse its commands with
// a failure response, which is as much as a run in another process can show of them.
test.serial('the CLI: run --rig reaches the ZigBee meter, its answer reaches the User, and the process exits once the network is stopped', async (t) => {
  const file = writeRig('zigbee-cli', [
    esme('esme-zb-a', EUI_A, `coordinator: ${fake.path}, ${net}, dataDir: zigbee-data, installCode: "${INSTALL_CODE}", joinTimeout: 20s`),
    esme('esme-zb-b', EUI_B, `coordinator: ${fake.path}, joinTimeout: 20s`),
  ]);
  t.true(await until(() => !connected()), 'the coordinator is free');
  const before = fake.connections;
  const r = await runCli(['run', writeScenarios({ device: 'failure' }), '--rig', file, '--no-history', '--grep', 'esme-a'], { timeoutMs: 50_000 });
  const logOf = (id: string) => readFileSync(join(dir, 'logs-zigbee-cli', `${id}.log`), 'utf8');
  t.is(r.code, 0, `${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}\n${logOf('esme-zb-a')}`);
  t.regex(r.stdout, /1 test: 1 passed/);
  t.is(fake.connections, before + 1, 'the CLI run started herdsman on the coordinator');
  t.false(connected(), 'and let go of it');
  const log = logOf('esme-zb-a');
  t.regex(log, /command DD/i, 'the command went out over ZigBee');
  t.regex(log, /response /, 'and the meter answered');
});

test.serial('a world device is given only the real meter with its EUI; a world naming no rig meter\'s EUI is told which EUIs there are', async (t) => {
  const file = writeRig('zigbee-eui', [
    esme('esme-zb-a', EUI_A, `coordinator: ${fake.path}, ${net}, dataDir: zigbee-data, installCode: "${INSTALL_CODE}", joinTimeout: 20s`),
    esme('esme-zb-b', EUI_B, `coordinator: ${fake.path}, joinTimeout: 20s`),
  ]);
  const pools = rigRunPools(file);
  t.teardown(() => pools.close());
  const want = (eui: string) => ({ alias: 'esme', type: 'ESME' as const, twin: false, fuel: 'electricity' as const, requires: [], eui });
  const got = await pools.session.allocate([want(EUI_B)]);
  t.is(got.get('esme')?.spec.id, 'esme-zb-b', 'the meter with the world\'s EUI, though esme-zb-a comes first in the rig');
  pools.session.free(got.values());
  const e = await t.throwsAsync(pools.session.allocate([want('00DB0000000A0199')]));
  t.is(
    e?.message,
    'rig zigbee-eui has no device free for esme (ESME): esme-zb-a is a real meter with EUI 00DB0000000A0101, not 00DB0000000A0199: give the world its EUI; ' +
      'esme-zb-b is a real meter with EUI 00DB0000000A0102, not 00DB0000000A0199: give the world its EUI',
  );
  await pools.close();
  t.true(await until(() => !connected()), 'herdsman let go of the coordinator');
});

// Last in the file: it sets esme-b's clock to real time for good, as a real meter's is.
test.serial('BR7 on a real meter: a future-dated switch falls due on its own clock, its 8F66 reaches the SRP, and the state read after the alert shows Credit', async (t) => {
  meters.get(EUI_B)!.importState(asInstalled.get(EUI_B)!);
  const clock = clocks.get(EUI_B)!;
  const tick = () => clock.advanceTo(Math.max(clock.now(), Date.now()));
  tick();
  const ticking = setInterval(tick, 50);
  t.teardown(() => clearInterval(ticking));
  const file = writeRig('zigbee-br7', [
    esme('esme-zb-a', EUI_A, `coordinator: ${fake.path}, ${net}, dataDir: zigbee-data, installCode: "${INSTALL_CODE}", joinTimeout: 20s`),
    esme('esme-zb-b', EUI_B, `coordinator: ${fake.path}, joinTimeout: 20s`),
  ]);
  const scenarioFile = join(dir, 'zigbee-br7-scenarios.yaml');
  writeFileSync(
    scenarioFile,
    `world:
  start: now
${world('esme-b')}scenarios:
  - id: ZB-BR7-alert-after-revocation
    title: A real ESME's 8F66 for a switch falling due after the failed supplier's revocation reaches the SRP
    timeouts: { device: 5s }
    steps:
      - solr-contingency: { failed: failing, contingency: srp }
      - revoke: { party: failing, certificate: all }
      - request: { as: srp, to: esme-b, mode: credit, at: 12s, expect: { code: I99, response: I0, device: success } }
      - expect-state: { device: esme-b, paymentMode: prepayment }
      - expect-alert: { at: srp, device: esme-b, code: 8F66, within: 30s }
      - expect-state: { device: esme-b, paymentMode: credit }
`,
  );
  const pools = rigRunPools(file);
  t.teardown(() => pools.close());
  const run = await runScenarios(loadScenarios([scenarioFile]), { pool: async () => trustDcc(await pools.pool()), target: pools.target });
  const attempt = run.tests[0]!.attempts.at(-1)!;
  t.is(run.tests[0]!.verdict, 'pass', attempt.message ?? JSON.stringify(attempt.steps.map((x) => x.message)));
  t.is(meters.get(EUI_B)!.paymentMode, 'credit');
  const log = readFileSync(join(dir, 'logs-zigbee-br7', 'esme-zb-b.log'), 'utf8');
  t.regex(log, /alert [0-9A-F]+\n.*read \{"paymentMode":"credit"\}/, 'the meter was read again after its alert');
  await pools.close();
  t.true(await until(() => !connected()), 'herdsman let go of the coordinator');
});

/** A release herdsman makes in its own time: polled often, for as long as a loaded machine may need. */
const until = (what: () => boolean) => poll(what, { withinMs: 60_000, everyMs: 10 });

function connected(): boolean {
  return (fake as unknown as { socket: unknown }).socket != null;
}
