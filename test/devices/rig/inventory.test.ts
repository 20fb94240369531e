import test from 'ava';
import { join } from 'node:path';
import { loadRig, RigFileError } from '../../../devices/rig/inventory.ts';
import { repoRoot } from '../../helpers/fixtures.ts';

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
