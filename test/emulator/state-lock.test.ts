import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { lockStateDir, StateDirInUse } from '../../emulator/state-lock.ts';
import { runCli } from '../helpers/cli.ts';
import { startDccProcess } from '../helpers/dcc-process.ts';
import { startTestDcc, unreachableDevices } from '../helpers/dcc.ts';
import { scratchDir } from '../helpers/scratch.ts';

test('a second DCC on a state directory in use is refused, and the first keeps serving; once it closes the directory is free', async (t) => {
  const dir = scratchDir(t, 'dcc-lock');
  const first = await startTestDcc(unreachableDevices(), { stateDir: dir });
  await first.admin.party({ eui: '00000000000000A1', name: 'Supplier', roles: ['IS'] });
  const refused = await t.throwsAsync(startTestDcc(unreachableDevices(), { stateDir: dir }), { instanceOf: StateDirInUse });
  t.regex(refused?.message ?? '', new RegExp(`in use by the DCC of process ${process.pid}`));
  t.is((await first.admin.identity()).xmlSigningCertificate !== undefined, true, 'the first DCC still answers');
  await first.close();
  t.false(existsSync(join(dir, 'dcc.lock')), 'closing gives the lock back');
  const next = await startTestDcc(unreachableDevices(), { stateDir: dir });
  t.teardown(() => next.close());
  t.truthy(next.dcc.service.registry.party('00000000000000A1' as never), 'the next DCC reads what the first stored');
});

test('the lock of a DCC that was killed (its process gone) is taken over', async (t) => {
  const dir = scratchDir(t, 'dcc-lock');
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(join(dir, 'dcc.lock'), `${gone}\n`);
  const dcc = await startTestDcc(unreachableDevices(), { stateDir: dir });
  t.is(readFileSync(join(dir, 'dcc.lock'), 'utf8').split('\n')[0], String(process.pid));
  await dcc.close();
  t.false(existsSync(join(dir, 'dcc.lock')));
});

test('dcc serve on a state directory another dcc serve is using exits 3 and names the process', async (t) => {
  const dir = scratchDir(t, 'dcc-lock');
  const first = await startDccProcess(['--state-dir', dir]);
  t.teardown(() => first.stop());
  const second = await runCli(['dcc', 'serve', '--port', '0', '--state-dir', dir]);
  t.is(second.code, 3, second.stderr);
  t.regex(second.stderr, new RegExp(`in use by the DCC of process ${first.child.pid}`));
  t.is((await fetch(`${first.url}/admin/v1/health`)).status, 200, 'the first DCC is untouched');
});

test('two DCCs taking over one stale lock at the same instant: one gets it, the other is refused', (t) => {
  const dir = scratchDir(t, 'dcc-lock');
  const lock = join(dir, 'dcc.lock');
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(lock, `${gone}\n`);
  // The other DCC takes the lock over after this one has judged it stale, before this one acts on that.
  let other: (() => void) | null = null;
  t.throws(() => lockStateDir(dir, { beforeTakeover: () => void (other ??= lockStateDir(dir)) }), { instanceOf: StateDirInUse });
  t.truthy(other, 'the other DCC has the lock');
  t.is(readFileSync(lock, 'utf8').split('\n')[0], String(process.pid));
  other!();
  t.deepEqual(readdirSync(dir), [], 'given back, nothing is left behind');
});

test('a lock naming a pid a later process was given is taken over: a DCC restarted as pid 1 in its container is not refused', (t) => {
  const dir = scratchDir(t, 'dcc-lock');
  const lock = join(dir, 'dcc.lock');
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  const here = `${process.pid}\nhost=${hostname()}\nboot=${boot}\n`;
  // This process's pid, as the killed DCC had it: started at another time, before the machine last booted, or
  // written by an earlier version, with nothing but the pid (this process writes more).
  for (const dead of [`${here}started=1\n`, `${process.pid}\nhost=${hostname()}\nboot=an-earlier-boot\nstarted=${started}\n`, `${process.pid}\n`]) {
    writeFileSync(lock, dead);
    const unlock = lockStateDir(dir);
    t.is(readFileSync(lock, 'utf8'), `${here}started=${started}\n`, 'the lock now names this process');
    t.throws(() => lockStateDir(dir), { instanceOf: StateDirInUse }, 'and, being this process, is in use');
    unlock();
    t.deepEqual(readdirSync(dir), []);
  }
});

test('a lock made on another host (a container sharing the directory) is never taken over: its process cannot be seen from here', (t) => {
  const dir = scratchDir(t, 'dcc-lock');
  const lock = join(dir, 'dcc.lock');
  writeFileSync(lock, '1\nhost=another-container\nboot=\nstarted=\n');
  t.throws(() => lockStateDir(dir), { instanceOf: StateDirInUse, message: `${dir} is in use by the DCC of process 1 on host another-container (if that DCC is gone, remove ${lock}) (one DCC per state directory)` });
  t.is(readFileSync(lock, 'utf8'), '1\nhost=another-container\nboot=\nstarted=\n', 'left as it was');
});
