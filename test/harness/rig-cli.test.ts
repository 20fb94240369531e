/** `smets-hil rig ...` as people and nightly jobs use it: validate, lease, who, renew, release. */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'rig-cli-'));
const leases = ['--lease-dir', join(dir, 'leases')];
const rig = ['--rig', 'rigs/emulated-serial.yaml'];

test('rig validate: valid inventories pass; a bad one fails with every problem at its file and line', async (t) => {
  const ok = await runCli(['rig', 'validate', 'rigs/emulated-serial.yaml', 'rigs/bench-example.yaml']);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /rigs\/emulated-serial\.yaml: rig emulated-serial, 8 device\(s\)/);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'name: bad\ndevices:\n  - id: x\n    kind: robot\n    type: ESME\n    transport: { kind: serial, path: /dev/ttyUSB0 }\n    eui: 123\n');
  const r = await runCli(['rig', 'validate', bad]);
  t.is(r.code, 1);
  t.regex(r.stdout, new RegExp(`${bad}:4: devices\\[0\\]\\.kind: `));
  t.regex(r.stdout, new RegExp(`${bad}:7: devices\\[0\\]\\.eui: `));
});

test('rig lease, who, renew and release: a person holds a device until they give it back', async (t) => {
  const take = await runCli(['rig', 'lease', 'esme-1', 'gsme-1', ...rig, ...leases, '--holder', 'alice', '--ttl', '1h']);
  t.is(take.code, 0, take.stderr);
  t.regex(take.stdout, /esme-1: leased until/);
  const clash = await runCli(['rig', 'lease', 'esme-1', ...rig, ...leases, '--holder', 'bob']);
  t.is(clash.code, 1);
  t.regex(clash.stdout, /esme-1: held by alice@/);
  const who = await runCli(['rig', 'who', ...rig, ...leases]);
  t.regex(who.stdout, /emulated-serial\s+esme-1\s+alice@/);
  t.regex(who.stdout, /emulated-serial\s+esme-2\s+free/);
  t.is((await runCli(['rig', 'renew', 'esme-1', ...rig, ...leases, '--holder', 'alice'])).code, 0);
  t.is((await runCli(['rig', 'renew', 'esme-1', ...rig, ...leases, '--holder', 'bob'])).code, 1);
  const give = await runCli(['rig', 'release', 'esme-1', 'gsme-1', ...rig, ...leases, '--holder', 'alice']);
  t.regex(give.stdout, /esme-1: released/);
  const json = JSON.parse((await runCli(['rig', 'who', ...rig, ...leases, '--json'])).stdout) as { device: string; lease: unknown }[];
  t.true(json.every((d) => d.lease === null));
});
