/**
 * A rig session's health checks: a device whose line does not answer is taken out of service and not allocated
 * (a power-cycle command runs first), until a check passes again. Closing a session while its emulators start.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseStore } from '../../../devices/rig/leases.ts';
import { RigSession, RigUnavailableError } from '../../../devices/rig/session.ts';
import { requireSocat, startDeviceProcess } from '../transports/serial/support.ts';

requireSocat();
const want = { alias: 'meter', type: 'ESME' as const, twin: false, fuel: 'electricity' as const, requires: [] };

test('a device that fails its health check is out of service until a check passes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-health-'));
  const line = join(dir, 'ttyMETER');
  const file = join(dir, 'rig.yaml');
  writeFileSync(
    file,
    `name: health\ndevices:\n  - id: esme-1\n    kind: emulated\n    type: ESME\n    transport: { kind: serial, path: ${line} }\n    eui: 00DB00000000F101\n    keys: { seed: health }\n    health: { timeout: 3s }\n    powerCycle: { command: "echo cycling > ${join(dir, 'cycled')}", timeout: 5s }\n`,
  );
  const session = RigSession.open(file, { leaseDir: join(dir, 'leases'), logDir: join(dir, 'logs') });
  session.ref();
  t.teardown(() => session.close());

  // Nothing on the line yet: the check fails, the power cycle runs, the check fails again.
  const e = await t.throwsAsync(session.allocate([want]), { instanceOf: RigUnavailableError });
  t.regex(e?.message ?? '', /esme-1 failed its health check \(.*cannot open/);
  t.false(session.store.health('health', 'esme-1')!.healthy);
  t.is(session.store.health('health', 'esme-1')!.failures, 2);
  t.is(session.store.holderOf('health', 'esme-1'), null, 'an unhealthy device is not kept leased');
  t.true(existsSync(join(dir, 'cycled')), 'its power-cycle command ran');
  const again = await t.throwsAsync(session.allocate([want]), { instanceOf: RigUnavailableError });
  t.regex(again?.message ?? '', /esme-1 is out of service/);

  // The meter is plugged in (an emulator on a pty pair whose far end appears at the inventory's path).
  const socat = spawn('socat', ['pty,raw,echo=0,link=' + line, 'pty,raw,echo=0,link=' + join(dir, 'ttyDEVICE')], { stdio: 'ignore' });
  t.teardown(() => void socat.kill());
  for (let i = 0; i < 200; i++) {
    try {
      statSync(join(dir, 'ttyDEVICE'));
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const device = await startDeviceProcess(['--type', 'esme', '--serial', join(dir, 'ttyDEVICE'), '--seed', 'health', '--eui', '00DB00000000F101']);
  t.teardown(() => device.stop());
  t.deepEqual(await session.check('esme-1'), { healthy: true, reason: null });
  t.true(session.store.health('health', 'esme-1')!.healthy);
  const got = await session.allocate([want]);
  t.is(got.get('meter')?.spec.id, 'esme-1');
  t.is((await got.get('meter')!.control!.ping()).eui, '00DB00000000F101');
});

/** Emulator processes (`device serve`) of this process still running (not gone, not a zombie). */
function emulators(): number[] {
  const children = readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return []; // a thread that ended meanwhile
    }
  });
  return children.filter((pid) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('device\0serve');
    } catch {
      return false; // gone
    }
  });
}

// Serial: alone, so the emulators counted are this test's.
test.serial('closing a session while its emulators start leaves none running and no device leased', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-close-'));
  const file = join(dir, 'rig.yaml');
  writeFileSync(file, `name: closing\ndevices:\n  - { id: esme-1, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00DB00000000F201 }\n  - { id: esme-2, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00DB00000000F202 }\n`);
  const session = RigSession.open(file, { leaseDir: join(dir, 'leases'), logDir: join(dir, 'logs') });
  session.ref();
  // The emulators are starting (the run is stopped during a scenario's set-up, as by SIGTERM).
  const allocation = session.allocate([want, { ...want, alias: 'other' }]);
  t.is(emulators().length, 2);
  await session.close();
  await t.throwsAsync(allocation, { instanceOf: RigUnavailableError, message: /the rig session is closed/ });
  t.deepEqual(emulators(), []);
  const leases = new LeaseStore(join(dir, 'leases'));
  t.teardown(() => leases.close());
  t.deepEqual(leases.leases('closing'), []);
});

test('a link host that died is replaced: the next allocation brings its device up on a new one, and the device is not marked out of service', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rig-hostdeath-'));
  const file = join(dir, 'rig.yaml');
  writeFileSync(file, 'name: hostdeath\ndevices:\n  - { id: esme-1, kind: emulated, type: ESME, transport: { kind: process-serial }, eui: 00DB00000000F301, health: { timeout: 3s } }\n');
  const session = RigSession.open(file, { leaseDir: join(dir, 'leases'), logDir: join(dir, 'logs') });
  session.ref();
  t.teardown(() => session.close().catch(() => undefined));
  const first = await session.allocate([want]);
  t.is(first.get('meter')?.spec.id, 'esme-1');
  session.free(first.values());
  // The link host process dies, as a crash of its native serial binding would end it.
  const host = (session as unknown as { host: { pid: number; exited: Promise<void> } }).host;
  process.kill(host.pid, 'SIGKILL');
  await host.exited;
  const second = await session.allocate([want]);
  t.is(second.get('meter')?.spec.id, 'esme-1');
  t.not((session as unknown as { host: { pid: number } }).host.pid, host.pid, 'a new link host');
  t.not(session.store.health('hostdeath', 'esme-1')?.healthy, false, 'the device is not marked out of service');
  session.free(second.values());
});
