/** What the CLI cannot keep state in or read it from, or could not hold in memory, is refused at once with the reason. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from '../helpers/cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'smets-hil-cli-state-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
const aFile = join(scratch, 'a-file');
writeFileSync(aFile, 'not a directory');

test('a --state-dir that cannot be a directory is a usage error, for dcc serve and fleet', async (t) => {
  for (const args of [
    ['dcc', 'serve', '--port', '0', '--state-dir', join(aFile, 'state')],
    ['fleet', '--meters', '100', '--state-dir', join(aFile, 'state')],
  ]) {
    const r = await runCli(args, { timeoutMs: 20_000 });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, /^--state-dir .*a-file\/state: cannot write there \(ENOTDIR/);
  }
});

test('a directory the system will not let anyone make (under /proc) is refused at once, not a hang: a usage error for the CLI\'s options, exit 3 where an emulator or rig makes it', async (t) => {
  // node's own recursive mkdir loops for ever there: mkdir answers ENOENT although the parent exists.
  for (const [args, option] of [
    [['dcc', 'serve', '--port', '0', '--state-dir', '/proc/smets-hil/state'], '--state-dir'],
    [['fleet', '--meters', '100', '--state-dir', '/proc/smets-hil/state'], '--state-dir'],
    [['run', '--tags', 'BR2', '--evidence', '/proc/smets-hil/evidence', '--no-history'], '--evidence'],
  ] as const) {
    const r = await runCli([...args], { timeoutMs: 20_000 });
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.true(r.stderr.startsWith(`${option} /proc/smets-hil/`), r.stderr);
    t.regex(r.stderr, /: cannot write (there|it) \(ENOENT/);
  }
  // Where the directory is the emulator's or the rig's own business, the same answer ends the command (exit 3).
  for (const [args, message] of [
    [['device', 'serve', '--type', 'esme', '--pty', '--state', '/proc/smets-hil/meter.json'], /^device serve: cannot write the state file \/proc\/smets-hil\/meter\.json: ENOENT/],
    [['rig', 'who', '--rig', 'rigs/emulated-serial.yaml', '--lease-dir', '/proc/smets-hil/leases'], /^cannot keep leases in \/proc\/smets-hil\/leases: ENOENT/],
  ] as const) {
    const r = await runCli([...args], { timeoutMs: 20_000 });
    t.is(r.code, 3, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, message);
  }
});

test('dcc serve on a state directory whose stores are not databases stops with exit 3, naming the store', async (t) => {
  const meters = join(scratch, 'bad-meter-store');
  mkdirSync(meters);
  writeFileSync(join(meters, 'meters.sqlite'), 'garbage');
  const dcc = join(scratch, 'bad-dcc-store');
  mkdirSync(dcc);
  writeFileSync(join(dcc, 'dcc.sqlite'), 'garbage');
  for (const [dir, message] of [
    [meters, /^cannot open the meter store .*bad-meter-store\/meters\.sqlite: file is not a database\n$/],
    [dcc, /^cannot start the DCC on the state in .*bad-dcc-store: file is not a database\n$/],
  ] as const) {
    const r = await runCli(['dcc', 'serve', '--port', '0', '--state-dir', dir], { timeoutMs: 20_000 });
    t.is(r.code, 3, r.stderr);
    t.regex(r.stderr, message);
    t.notRegex(r.stdout, /listening/);
  }
});

test('fleet: a fleet larger than this machine could hold is refused before anything starts', async (t) => {
  const r = await runCli(['fleet', '--meters', '100000000000']);
  t.is(r.code, 2);
  t.regex(r.stderr, /^--meters 100000000000: a fleet this size needs about [\d.]+ GiB of memory and this machine has [\d.]+ GiB; split it across machines/);
  t.notRegex(r.stderr, /setting up/);
});

test('history: a database that is not one is exit 3 naming it, not a stack trace', async (t) => {
  const db = join(scratch, 'history-garbage.sqlite');
  writeFileSync(db, 'garbage');
  const r = await runCli(['history', '--db', db]);
  t.is(r.code, 3);
  t.regex(r.stderr, /^cannot read the run history .*history-garbage\.sqlite: file is not a database\n$/);
});

test('fleet: a --state-dir that already holds something is refused (a run left there would carry on that DCC life)', async (t) => {
  const dir = join(scratch, 'fleet-state');
  const first = await runCli(['fleet', '--meters', '300', '--workers', '1', '--state-dir', dir], { timeoutMs: 120_000 });
  t.is(first.code, 0, first.stderr);
  const again = await runCli(['fleet', '--meters', '300', '--workers', '1', '--state-dir', dir]);
  t.is(again.code, 2);
  t.regex(again.stderr, /^--state-dir .*fleet-state: not empty \(a fleet run starts from fresh DCC stores/);
});
