import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Holder, LeaseStore } from '../../../devices/rig/leases.ts';

function stores() {
  const dir = mkdtempSync(join(tmpdir(), 'leases-'));
  const clock = { now: 1_000_000 };
  const alive = new Set<number>([101, 202]);
  const open = () => new LeaseStore(dir, { now: () => clock.now, host: 'bench-host', isAlive: (pid) => alive.has(pid) });
  return { dir, clock, alive, open };
}

const alice: Holder = { name: 'alice', pid: 101, host: 'bench-host' };
const nightly: Holder = { name: 'nightly', pid: 202, host: 'bench-host' };
const remote: Holder = { name: 'ci', pid: 999, host: 'other-host' };

test('acquire, who holds it, renew, release', (t) => {
  const s = stores();
  const a = s.open();
  const b = s.open(); // another process on the same host, same lock dir
  t.true(a.acquire('bench', 'esme-1', alice, 60_000).ok);
  const refused = b.acquire('bench', 'esme-1', nightly, 60_000);
  t.false(refused.ok);
  if (!refused.ok) t.is(refused.heldBy.holder.name, 'alice');
  t.deepEqual(b.leases('bench').map((l) => [l.device, l.holder.name]), [['esme-1', 'alice']]);
  s.clock.now += 50_000;
  t.true(a.renew('bench', 'esme-1', alice, 60_000));
  s.clock.now += 50_000; // past the first TTL, within the renewed one
  t.false(b.acquire('bench', 'esme-1', nightly, 60_000).ok);
  t.false(b.release('bench', 'esme-1', nightly), 'only the holder releases');
  t.true(a.release('bench', 'esme-1', alice));
  t.true(b.acquire('bench', 'esme-1', nightly, 60_000).ok);
  t.true(a.release('bench', 'esme-1', null, { force: true }), 'unless forced');
  t.deepEqual(a.leases('bench'), []);
});

test('a lease expires after its TTL; a late renewal fails', (t) => {
  const s = stores();
  const store = s.open();
  t.true(store.acquire('bench', 'gsme-1', remote, 10_000).ok);
  s.clock.now += 9_999;
  t.false(store.acquire('bench', 'gsme-1', nightly, 10_000).ok);
  s.clock.now += 1;
  t.deepEqual(store.leases('bench'), []);
  t.false(store.renew('bench', 'gsme-1', remote, 10_000));
  t.true(store.acquire('bench', 'gsme-1', nightly, 10_000).ok);
});

test('a holder that dies on this host frees its devices at once; one on another host only by its TTL', (t) => {
  const s = stores();
  const store = s.open();
  t.true(store.acquire('bench', 'esme-1', alice, 3_600_000).ok);
  t.true(store.acquire('bench', 'esme-2', remote, 3_600_000).ok);
  s.alive.delete(101); // alice's run crashed
  t.is(store.holderOf('bench', 'esme-1'), null);
  t.true(store.acquire('bench', 'esme-1', nightly, 60_000).ok);
  t.is(store.holderOf('bench', 'esme-2')?.holder.name, 'ci', 'pid 999 is not ours to judge');
});

test('health marks: a failing device is marked with its reason and failure count until a check passes', (t) => {
  const s = stores();
  const store = s.open();
  store.markHealth('bench', 'esme-1', false, 'no answer within 5000 ms');
  const h = store.markHealth('bench', 'esme-1', false, 'no answer within 5000 ms');
  t.deepEqual([h.healthy, h.failures, h.reason], [false, 2, 'no answer within 5000 ms']);
  t.deepEqual(s.open().health('bench', 'esme-1')?.failures, 2);
  t.deepEqual(store.markHealth('bench', 'esme-1', true, null).failures, 0);
});
