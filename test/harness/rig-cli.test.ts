/** `smets-hil rig ...` as people and nightly jobs use it: validate, lease, who, renew, release, check. */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
  const notTheirs = await runCli(['rig', 'release', 'esme-1', ...rig, ...leases, '--holder', 'bob']);
  t.is(notTheirs.code, 1);
  t.regex(notTheirs.stdout, /^esme-1: held by alice@\S+ until \S+, not released \(--force takes it\)$/m);
  const give = await runCli(['rig', 'release', 'esme-1', 'gsme-1', 'esme-2', ...rig, ...leases, '--holder', 'alice']);
  t.is(give.code, 0, give.stdout);
  t.regex(give.stdout, /^esme-1: released$/m);
  t.regex(give.stdout, /^esme-2: not leased$/m);
  const json = JSON.parse((await runCli(['rig', 'who', ...rig, ...leases, '--json'])).stdout) as { device: string; lease: unknown }[];
  t.true(json.every((d) => d.lease === null));
});

const zigbeeRig = (transport: string) =>
  `name: zb\ndevices:\n  - { id: z1, kind: hardware, type: ESME, transport: ${transport}, eui: 00DB1234567890A4, keys: { ds: ds.pem, ka: ka.pem } }\n`;

test('rig validate checks ZigBee parameters, naming the file, the line and the field', async (t) => {
  const bad = join(dir, 'zigbee-bad.yaml');
  writeFileSync(bad, zigbeeRig('{ kind: zigbee, coordinator: tcp://127.0.0.1:6638, channel: 40, networkKey: "00" }'));
  const r = await runCli(['rig', 'validate', bad]);
  t.is(r.code, 1);
  t.regex(r.stdout, /zigbee-bad\.yaml:3: devices\[0\]\.transport\.channel: a 2\.4 GHz channel, 11-26/);
  t.regex(r.stdout, /zigbee-bad\.yaml:3: devices\[0\]\.transport\.networkKey: 32 hex digits/);
});

test('rig check opens the coordinator of a ZigBee device: one that does not start leaves the meter in service, unreachable', async (t) => {
  const file = join(dir, 'zigbee-down.yaml');
  writeFileSync(file, zigbeeRig('{ kind: zigbee, coordinator: "tcp://127.0.0.1:1" }'));
  const r = await runCli(['rig', 'check', '--rig', file, ...leases]);
  t.is(r.code, 1);
  t.regex(r.stdout, /z1: UNREACHABLE \(left in service\): z1 is on ZigBee coordinator tcp:\/\/127\.0\.0\.1:1, which did not start/);
  const who = JSON.parse((await runCli(['rig', 'who', '--rig', file, ...leases, '--json'])).stdout) as { device: string; lease: unknown }[];
  t.deepEqual(who.map((d) => [d.device, d.lease]), [['z1', null]], 'the check gave its lease back');
});

test('a lease, log or recording directory that cannot be used ends rig commands with exit 3 and the reason, not a stack trace', async (t) => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  for (const command of [['who'], ['lease', 'esme-1'], ['check', 'esme-1']]) {
    const r = await runCli(['rig', ...command, ...rig, '--lease-dir', join(file, 'leases')]);
    t.is(r.code, 3, `${command.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /^cannot keep leases in .*a-file\/leases: ENOTDIR/);
    t.notRegex(r.stderr, /\n\s+at /);
  }
  // run --rig says so once, before its first scenario, rather than as every scenario's error; so it does for the
  // rig's device logs and frame recording.
  const inventory = readFileSync('rigs/emulated-serial.yaml', 'utf8');
  for (const [setting, message] of [
    [`leases: { ttl: 30m, dir: ${JSON.stringify(join(file, 'leases'))} }`, /^cannot keep leases in .*a-file\/leases: ENOTDIR[^\n]*\n$/],
    [`leases: { ttl: 30m }\nlogs: ${JSON.stringify(join(file, 'logs'))}`, /^cannot keep device logs in .*a-file\/logs: ENOTDIR[^\n]*\n$/],
    [`leases: { ttl: 30m }\nrecord: ${JSON.stringify(join(file, 'recordings'))}`, /^cannot write the frame recording .*a-file\/recordings\/[^\n]*ENOTDIR[^\n]*\n$/],
  ] as const) {
    const rigFile = join(dir, 'unusable-dir.yaml');
    writeFileSync(rigFile, inventory.replace(/^leases: \{ ttl: 30m \}$/m, setting));
    const r = await runCli(['run', '--rig', rigFile, '--no-history']);
    t.is(r.code, 3, r.stdout + r.stderr);
    t.regex(r.stderr, message);
    t.notRegex(r.stdout, /tests:/);
  }
});

test('run --rig whose devices cannot be released at the end keeps the results it has: reports written, exit 3, and the process ends', async (t) => {
  const { LeaseStore } = await import('../../devices/rig/leases.ts');
  const { default: Database } = await import('better-sqlite3');
  const leaseDir = join(dir, 'leases-failing-release');
  new LeaseStore(leaseDir).close();
  const db = new Database(join(leaseDir, 'leases.sqlite'));
  // A lease store that cannot be written when the run gives its devices back (a full disk, a lock held too long).
  db.exec("CREATE TRIGGER fail_release BEFORE DELETE ON leases BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END;");
  db.close();
  const json = join(dir, 'release-fails.json');
  const r = await runCli(['run', ...rig, '--tags', 'BR2', '--no-history', '--report', `json=${json}`], { env: { SMETS_HIL_LEASE_DIR: leaseDir }, timeoutMs: 120_000 });
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /cannot release the run's devices: disk full \(simulated\)/);
  t.deepEqual(JSON.parse(readFileSync(json, 'utf8')).summary, { total: 3, passed: 3, failed: 0, errors: 0, skipped: 0 });
});

test('run --rig --lease-dir honours the leases people took there: devices held by someone else are not used', async (t) => {
  const held = ['--lease-dir', join(dir, 'leases-held')];
  t.is((await runCli(['rig', 'lease', 'esme-1', 'esme-2', 'esme-3', ...rig, ...held, '--holder', 'alice', '--ttl', '1h'])).code, 0);
  const r = await runCli(['run', ...rig, ...held, '--tags', 'BR2', '--no-history'], { timeoutMs: 120_000 });
  t.is(r.code, 3, r.stderr);
  t.regex(r.stdout, /no device free for esme \(ESME\): esme-1 is leased to alice/);
  t.regex(r.stdout, /3 tests: 0 passed, 0 failed, 3 errors/);
  const lone = await runCli(['run', '--lease-dir', join(dir, 'x'), '--no-history']);
  t.is(lone.code, 2, 'without --rig there are no leases to look at');
  t.regex(lone.stderr, /lease-dir -> rig/);
});

test('rig lease --ttl takes days, up to the 7d its limit names', async (t) => {
  const days = ['--lease-dir', join(dir, 'leases-days'), '--holder', 'carol'];
  const r = await runCli(['rig', 'lease', 'gsme-2', ...rig, ...days, '--ttl', '7d']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^gsme-2: leased until /m);
  t.is((await runCli(['rig', 'renew', 'gsme-2', ...rig, ...days, '--ttl', '8d'])).code, 2);
});

test('rig check: an emulator this host cannot run (no socat) leaves the device in service; one that fails to start says why', async (t) => {
  const file = join(dir, 'emulated.yaml');
  writeFileSync(file, 'name: emulated\nlogs: logs-emulated\ndevices:\n  - { id: esme-1, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00DB00000000E001 }\n');
  const check = ['rig', 'check', 'esme-1', '--rig', file, '--lease-dir', join(dir, 'leases-emulated')];
  // Neither socat nor anything else on the PATH.
  const empty = mkdtempSync(join(dir, 'path-empty-'));
  const missing = await runCli(check, { env: { PATH: empty } });
  t.is(missing.code, 1, missing.stderr);
  t.regex(missing.stdout, /^esme-1: UNREACHABLE \(left in service\): esme-1: the emulator cannot run on this host: socat is not installed/m);
  const who = JSON.parse((await runCli(['rig', 'who', '--rig', file, '--lease-dir', join(dir, 'leases-emulated'), '--json'])).stdout) as { health: unknown }[];
  t.deepEqual(who.map((d) => d.health), [null], 'not marked out of service');
  // A socat that cannot make a pty pair: the emulator's own words reach the console.
  const broken = mkdtempSync(join(dir, 'path-broken-'));
  writeFileSync(join(broken, 'socat'), '#!/bin/sh\necho "socat: cannot open /dev/ptmx: Permission denied" >&2\nexit 1\n', { mode: 0o755 });
  const failing = await runCli(check, { env: { PATH: broken } });
  t.is(failing.code, 1, failing.stderr);
  t.regex(failing.stdout, /^esme-1: OUT OF SERVICE: esme-1 failed its health check \(the emulator exited \(3\) before it was ready: device serve: .*socat: cannot open \/dev\/ptmx: Permission denied\)$/m);
});
