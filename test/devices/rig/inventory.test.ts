import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceLog } from '../../../devices/rig/device-log.ts';
import { loadRig, RigFileError } from '../../../devices/rig/inventory.ts';
import { RigDeviceRuntime } from '../../../devices/rig/session.ts';
import { repoRoot } from '../../helpers/fixtures.ts';
import { scratchDir } from '../../helpers/scratch.ts';

test('the rigs kept in version control are valid', (t) => {
  for (const f of ['rigs/emulated-serial.yaml', 'rigs/bench-example.yaml']) {
    const rig = loadRig(join(repoRoot, f));
    t.true(rig.devices.length > 0, f);
  }
});

test('every bad field is reported, each with its file and line', (t) => {
  const text = `name: bench
devices:
  - id: esme-1
    kind: emulated
    type: ESME
    transport: { kind: process-serial }
    eui: 00DB00000000A001
  - id: esme-1
    kind: hardware
    type: ESME
    transport: { kind: serial }
    eui: NOT-AN-EUI
    tags: [ok]
  - id: s1
    kind: emulated
    type: SMETS1
    transport: { kind: process-serial }
    eui: 00DB00000000A003
    health: { timeout: soon }
  - id: pc
    kind: hardware
    type: GSME
    transport: { kind: process-serial }
    eui: 00DB00000000A004
    keys: { ds: a.pem, ka: b.pem }
    colour: blue
`;
  const e = t.throws(() => loadRig('rigs/bad.yaml', text), { instanceOf: RigFileError });
  const lines = e!.message.split('\n');
  t.true(lines.every((l) => /^rigs\/bad\.yaml:\d+: /.test(l)), e!.message);
  const has = (re: RegExp) => t.true(lines.some((l) => re.test(l)), `${re} in\n${e!.message}`);
  has(/^rigs\/bad\.yaml:8: devices\[1\]\.id: duplicate device id esme-1/);
  has(/^rigs\/bad\.yaml:11: devices\[1\]\.transport\.path: /);
  has(/^rigs\/bad\.yaml:12: devices\[1\]\.eui: an EUI-64/);
  has(/^rigs\/bad\.yaml:9: devices\[1\]\.kind: a real SMETS2\+ meter needs its Device certificates/);
  has(/^rigs\/bad\.yaml:23: devices\[3\]\.transport\.kind: process-serial starts an emulator/);
  has(/^rigs\/bad\.yaml:16: devices\[2\]\.type: a SMETS1 device needs fuel/);
  has(/^rigs\/bad\.yaml:19: devices\[2\]\.health\.timeout: a duration/);
  has(/^rigs\/bad\.yaml:20: devices\[3\]: .*colour/);
});

test('YAML that does not parse, and a missing file, are reported with file (and line)', (t) => {
  const e = t.throws(() => loadRig('rigs/broken.yaml', 'name: x\ndevices:\n  - id: [\n'), { instanceOf: RigFileError });
  t.regex(e!.message, /^rigs\/broken\.yaml:\d+: not valid YAML/);
  const missing = t.throws(() => loadRig('rigs/none.yaml'), { instanceOf: RigFileError });
  t.regex(missing!.message, /^rigs\/none\.yaml: cannot read: ENOENT/);
});

test('durations a timer cannot wait, and lease TTLs a run cannot keep renewed, are refused at their line', (t) => {
  const rig = (leases: string, device: string) => `name: bench
leases: ${leases}
devices:
  - { id: m1, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00DB00000000A001, ${device} }
  - { id: z1, kind: hardware, type: ESME, transport: { kind: zigbee, coordinator: /dev/ttyACM0, joinTimeout: 0s }, eui: 00DB00000000A002, keys: { ds: a.pem, ka: b.pem } }
`;
  const problems = (leases: string, device: string) => {
    const e = t.throws(() => loadRig('rigs/timers.yaml', rig(leases, device)), { instanceOf: RigFileError });
    return e!.message;
  };
  for (const ttl of ['0s', '1s', '2999ms', '2000h']) {
    t.regex(problems(`{ ttl: ${ttl} }`, 'tags: []'), /^rigs\/timers\.yaml:2: leases\.ttl: a lease TTL of at least 3s .* and at most 24 days$/m, ttl);
  }
  t.regex(problems('{ wait: 1000h }', 'tags: []'), /^rigs\/timers\.yaml:2: leases\.wait: a duration of at most 24 days$/m);
  for (const timeout of ['0ms', '1000h']) {
    const text = problems('{ ttl: 3s, wait: 0s }', `health: { timeout: ${timeout} }, powerCycle: { command: "true", timeout: ${timeout} }`);
    t.regex(text, /^rigs\/timers\.yaml:4: devices\[0\]\.health\.timeout: a duration above 0 and at most 24 days/m, timeout);
    t.regex(text, /^rigs\/timers\.yaml:4: devices\[0\]\.powerCycle\.timeout: a duration above 0 and at most 24 days/m, timeout);
    t.regex(text, /^rigs\/timers\.yaml:5: devices\[1\]\.transport\.joinTimeout: a duration above 0/m);
  }
  // The bounds themselves are fine.
  const ok = loadRig('rigs/timers.yaml', rig('{ ttl: 3s, wait: 0s }', 'health: { timeout: 596h }').replace('joinTimeout: 0s', 'joinTimeout: 1ms'));
  t.is(ok.leases.ttl, '3s');
});

test('a meter listed twice (the same EUI, in any case, or the same serial line) is refused at the second, naming the first', (t) => {
  const text = `name: bench
devices:
  - { id: m1, kind: hardware, type: SMETS1, fuel: gas, transport: { kind: serial, path: /dev/ttyUSB0 }, eui: 00DB00000000A0AB }
  - { id: m2, kind: hardware, type: SMETS1, fuel: gas, transport: { kind: serial, path: /dev/ttyUSB0 }, eui: 00DB00000000A0CD }
  - { id: m3, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00db00000000a0ab }
  - { id: m4, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00DB00000000A0EF }
`;
  const e = t.throws(() => loadRig('rigs/twice.yaml', text), { instanceOf: RigFileError });
  t.deepEqual(e!.message.split('\n'), [
    'rigs/twice.yaml:4: devices[1].transport.path: duplicate serial path /dev/ttyUSB0 (also devices[0])',
    'rigs/twice.yaml:5: devices[2].eui: duplicate EUI 00db00000000a0ab (also devices[0])',
  ]);
});

test('a ZigBee coordinator on the serial line of a serial meter is refused: the two would fight over the port', (t) => {
  const text = `name: bench
devices:
  - { id: m1, kind: hardware, type: SMETS1, fuel: gas, transport: { kind: serial, path: /dev/ttyACM0 }, eui: 00DB00000000A0AB }
  - { id: z1, kind: hardware, type: ESME, transport: { kind: zigbee, coordinator: /dev/ttyACM0 }, eui: 00DB00000000A0CD, keys: { ds: ds.pem, ka: ka.pem } }
`;
  const e = t.throws(() => loadRig('rigs/shared.yaml', text), { instanceOf: RigFileError });
  t.true(e!.message.split('\n').includes("rigs/shared.yaml:4: devices[1].transport.coordinator: serial line /dev/ttyACM0 is also devices[0]'s (a serial meter): a coordinator needs a line of its own"), e!.message);
});

test("a real meter whose key files the rig names are missing is reported naming the device, the file and the rig line's key", (t) => {
  const dir = scratchDir(t, 'rig-keys');
  const file = join(dir, 'bench.yaml');
  writeFileSync(file, 'name: bench\ndevices:\n  - { id: m1, kind: hardware, type: ESME, transport: { kind: serial, path: /dev/ttyUSB0 }, eui: 00DB00000000A001, keys: { ds: certs/m1-ds.pem, ka: certs/m1-ka.pem } }\n');
  const rig = loadRig(file);
  const runtime = new RigDeviceRuntime(rig.devices[0]!, new DeviceLog(join(dir, 'm1.log')));
  t.teardown(() => runtime.log.close());
  const e = t.throws(() => runtime.hardwareKeys(rig));
  t.is(e?.message, `m1: its Digital Signing certificate ${join(dir, 'certs/m1-ds.pem')} (keys.ds in ${file}) cannot be read: no such file`);
});
