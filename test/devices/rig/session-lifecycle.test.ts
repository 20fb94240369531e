/**
 * A rig session's hold on its devices over its life: closing while a device is being set up, a lease lost between
 * scenarios, two runs wanting the same devices, and what a recording holds under link faults. The devices are
 * rig "ZigBee" meters whose links the test hands out (in-memory link pairs), so no process or timer is involved.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseStore } from '../../../devices/rig/leases.ts';
import { readRecording } from '../../../devices/rig/recording.ts';
import { RigSession, type RigSessionOptions, RigUnavailableError } from '../../../devices/rig/session.ts';
import type { Link } from '../../../devices/transports/link.ts';
import { createMemoryLinkPair, type MemoryLinkPair } from '../../../devices/transports/memory-link.ts';

const esme = (alias: string) => ({ alias, type: 'ESME' as const, twin: false, fuel: 'electricity' as const, requires: [] });

/** A rig of `ids` (hardware ESMEs on a coordinator), in a folder of its own, with its lease folder. */
function bench(name: string, ids: string[], extra = '') {
  const dir = mkdtempSync(join(tmpdir(), `rig-${name}-`));
  const file = join(dir, 'rig.yaml');
  const devices = ids.map((id, i) => `  - { id: ${id}, kind: hardware, type: ESME, transport: { kind: zigbee, coordinator: /dev/ttyACM0 }, eui: 00DB00000000C00${i}, keys: { ds: ds.pem, ka: ka.pem } }\n`);
  writeFileSync(file, `name: ${name}\n${extra}devices:\n${devices.join('')}`);
  const leaseDir = join(dir, 'leases');
  /** Each device's links, newest last. */
  const links = new Map<string, MemoryLinkPair[]>();
  const zigbee: RigSessionOptions['zigbee'] = async (_params, device) => {
    const pair = createMemoryLinkPair();
    links.set(device.id, [...(links.get(device.id) ?? []), pair]);
    await pair.device.open();
    return pair.dcc;
  };
  const open = (holder: string, o: Partial<RigSessionOptions> = {}) => {
    const s = RigSession.open(file, { leaseDir, logDir: join(dir, `logs-${holder}`), holder: { name: holder, pid: process.pid, host: 'bench' }, zigbee, ...o });
    return s;
  };
  const holderOf = (id: string) => {
    const store = new LeaseStore(leaseDir);
    try {
      return store.holderOf(name, id)?.holder.name ?? null;
    } finally {
      store.close();
    }
  };
  return { dir, leaseDir, links, open, holderOf };
}

test('closing a session while it sets a device up waits for that, then gives the device back and closes its link', async (t) => {
  const b = bench('close-during-setup', ['m1']);
  let asked!: () => void;
  const linkAsked = new Promise<void>((r) => (asked = r));
  let answer!: (link: Link) => void;
  const pair = createMemoryLinkPair();
  await pair.device.open();
  // The device's link takes its time to come up (a coordinator starting, an emulator getting ready).
  const session = b.open('run-a', {
    zigbee: () => {
      asked();
      return new Promise<Link>((r) => (answer = r));
    },
  });
  const allocation = session.allocate([esme('meter')]);
  await linkAsked;
  let closed = false;
  const closing = session.close().then(() => (closed = true));
  await new Promise((r) => setImmediate(r));
  t.false(closed, 'close() waits for the device being set up');
  answer(pair.dcc);
  await closing;
  await t.throwsAsync(allocation, { instanceOf: RigUnavailableError, message: /the rig session is closed/ });
  t.is(pair.dcc.state, 'closed', 'the link that came up after close is not left open');
  t.is(b.holderOf('m1'), null, 'the device is not leased after close');
  await t.throwsAsync(session.allocate([esme('meter')]), { instanceOf: RigUnavailableError, message: /closed/ });
  t.is(b.holderOf('m1'), null);
});

test('a device kept from an earlier scenario whose lease was taken is not used again: the new holder is named', async (t) => {
  const b = bench('lost-lease', ['m1']);
  const session = b.open('run-a');
  t.teardown(() => session.close());
  session.free((await session.allocate([esme('meter')])).values());
  const people = new LeaseStore(b.leaseDir);
  t.teardown(() => people.close());
  // Someone takes the device: `rig release m1 --force`, then `rig lease m1`.
  t.true(people.release('lost-lease', 'm1', null, { force: true }));
  t.true(people.acquire('lost-lease', 'm1', { name: 'bob', pid: 0, host: 'bench' }, 3_600_000).ok);
  const e = await t.throwsAsync(session.allocate([esme('meter')]), { instanceOf: RigUnavailableError });
  t.regex(e?.message ?? '', /m1 is leased to bob/);
  t.is(b.holderOf('m1'), 'bob');
  t.is(session.device('m1'), undefined, 'the run let go of the device');
  t.is(b.links.get('m1')![0]!.dcc.state, 'closed', 'and closed its link');
  // Once bob gives it back, the run leases it afresh.
  people.release('lost-lease', 'm1', { name: 'bob', pid: 0, host: 'bench' });
  t.is((await session.allocate([esme('meter')])).get('meter')?.spec.id, 'm1');
  t.is(b.holderOf('m1'), 'run-a');
});

test('a failed allocation gives back the idle devices it would hold while another run waits for them', async (t) => {
  const b = bench('two-runs', ['m1', 'm2']);
  const a = b.open('run-a');
  const other = b.open('run-b');
  t.teardown(() => a.close());
  t.teardown(() => other.close());
  // Each run's first scenario needs one meter, and each keeps it for the next.
  a.free((await a.allocate([esme('x')])).values());
  other.free((await other.allocate([esme('x')])).values());
  t.deepEqual([b.holderOf('m1'), b.holderOf('m2')], ['run-a', 'run-b']);
  // Each run's next scenario needs both: the first to ask cannot have them, and must not keep what it has.
  await t.throwsAsync(a.allocate([esme('x'), esme('y')]), { instanceOf: RigUnavailableError, message: /m2 is leased to run-b/ });
  t.is(b.holderOf('m1'), null, 'run-a gave back its idle meter');
  const got = await other.allocate([esme('x'), esme('y')]);
  t.deepEqual([...got.values()].map((r) => r.spec.id).sort(), ['m1', 'm2']);
});

test('an allocation that fails gives back the devices it leased on the way', async (t) => {
  const b = bench('no-smets1', ['m1']);
  const session = b.open('run-a');
  t.teardown(() => session.close());
  const e = await t.throwsAsync(session.allocate([esme('e'), { alias: 's1', type: 'SMETS1', twin: false, fuel: 'gas', requires: [] }]), { instanceOf: RigUnavailableError });
  t.regex(e?.message ?? '', /s1 \(SMETS1, gas\): no device of the rig/);
  t.is(b.holderOf('m1'), null);
  t.is(session.device('m1'), undefined);
});

test('a recording holds the frames as they crossed the link, with the link faults of the scenario applied', async (t) => {
  const b = bench('recorded', ['m1'], 'record: recordings\n');
  const session = b.open('run-a');
  const r = (await session.allocate([esme('meter')])).get('meter')!;
  const pair = b.links.get('m1')![0]!;
  const received: string[] = [];
  pair.device.onFrame((f) => received.push(Buffer.from(f).toString('hex')));
  const link = r.transport.link;
  // Frames arrive in order per direction: once the last of each is in, the others have crossed (or not).
  const lastToDevice = new Promise<void>((resolve) => pair.device.onFrame((f) => f[0] === 0x01 && resolve()));
  const lastToDcc = new Promise<void>((resolve) => link.onFrame((f) => f[0] === 0x02 && resolve()));
  r.faults.add({ action: 'duplicate', direction: 'to-device', times: 1 });
  await link.send(Uint8Array.from([0xaa, 0xbb]));
  r.faults.add({ action: 'drop', direction: 'to-device', times: 1 });
  await link.send(Uint8Array.from([0xcc, 0xdd]));
  await link.send(Uint8Array.from([0x01]));
  r.faults.add({ action: 'drop', direction: 'to-dcc', times: 1 });
  await pair.device.send(Uint8Array.from([0xee, 0xff]));
  await pair.device.send(Uint8Array.from([0x02]));
  await Promise.all([lastToDevice, lastToDcc]);
  await session.close();
  t.deepEqual(received, ['aabb', 'aabb', '01'], 'the meter got the duplicate, and not the dropped frame');
  const [file] = readdirSync(join(b.dir, 'recordings'));
  const frames = readRecording(join(b.dir, 'recordings', file!));
  const hex = (dir: string) => frames.filter((f) => f.dir === dir).map((f) => f.hex);
  t.deepEqual(hex('to-device'), ['aabb', 'aabb', '01']);
  t.deepEqual(hex('to-dcc'), ['eeff', '02'], 'a frame the fault kept from the DCC still crossed the line');
});

test('a closed session leaves no lease database open', async (t) => {
  const b = bench('lease-files', ['m1']);
  const openFiles = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(b.leaseDir);
      } catch {
        return false; // closed meanwhile
      }
    }).length;
  for (let i = 0; i < 3; i++) {
    const session = b.open('run-a');
    session.free((await session.allocate([esme('meter')])).values());
    await session.close();
  }
  t.is(openFiles(), 0);
});
