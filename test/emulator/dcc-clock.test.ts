/** The DCC's clock across restarts, and the range it may be set to. */
import test from 'ava';
import { listenUrl } from '../../emulator/bootstrap.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestDcc, unreachableDevices } from '../helpers/dcc.ts';
import { scratchDir } from '../helpers/scratch.ts';

test('a clock set at start resumes from there after a restart, not from real time', async (t) => {
  const dir = scratchDir(t, 'dcc-clock');
  const first = await startTestDcc(unreachableDevices(), { stateDir: dir, extra: { start: new Date('2015-01-01T00:00:00Z') } });
  await first.close();
  const again = await startTestDcc(unreachableDevices(), { stateDir: dir });
  t.teardown(() => again.close());
  const now = new Date((await again.admin.now()).now).getTime();
  t.true(now >= Date.parse('2015-01-01T00:00:00Z') && now < Date.parse('2015-01-02T00:00:00Z'), new Date(now).toISOString());
});

test('a frozen clock comes back at the instant it was held at: the downtime does not move it', async (t) => {
  const dir = scratchDir(t, 'dcc-clock');
  const first = await startTestDcc(unreachableDevices(), { stateDir: dir, extra: { start: new Date('2015-01-01T00:00:00Z'), freezeClock: true } });
  await first.admin.clock({ advanceMs: 1000 });
  await first.close();
  await new Promise((r) => setTimeout(r, 50)); // downtime
  const again = await startTestDcc(unreachableDevices(), { stateDir: dir, extra: { freezeClock: true } });
  t.teardown(() => again.close());
  t.is((await again.admin.now()).now, '2015-01-01T00:00:01.000Z');
});

test('dcc serve --clock outside the range the DCC keeps is a usage error', async (t) => {
  for (const at of ['2150-01-01T00:00:00Z', '1990-01-01T00:00:00Z']) {
    const r = await runCli(['dcc', 'serve', '--port', '0', '--clock', at]);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, /--clock .*: the DCC's clock stays from 2000-01-01 to before 2100-01-01/);
  }
});

test('the URL a DCC listening on an IPv6 address logs is one a client can use', (t) => {
  t.is(listenUrl('::1', 8079), 'http://[::1]:8079');
  t.is(new URL(listenUrl('::1', 8079)).port, '8079');
  t.is(listenUrl('127.0.0.1', 8079), 'http://127.0.0.1:8079');
});

test('revoking again after the clock was set back before a revocation revokes from then, and the store reopens', async (t) => {
  const dir = scratchDir(t, 'dcc-clock');
  const first = await startTestDcc(unreachableDevices(), { stateDir: dir, extra: { start: new Date('2025-11-01T00:00:00Z'), freezeClock: true } });
  const supplier = '00000000000000A1';
  await first.admin.party({ eui: supplier, name: 'Supplier', roles: ['IS'] });
  const { serial } = await first.admin.certificate(supplier, 'xml-signing');
  const status = async (dcc: typeof first) => ((await (await fetch(`${dcc.url}/admin/v1/parties/${supplier}`)).json()) as { certificates: { serial: string; status: string }[] }).certificates.find((c) => c.serial === serial)?.status;
  await first.admin.clock({ set: '2026-01-01T00:00:00Z' });
  await first.admin.revoke(serial);
  await first.admin.clock({ set: '2025-12-01T00:00:00Z' });
  t.is(await status(first), 'valid', 'before the revocation was ordered');
  const again = await first.admin.revoke(serial);
  t.is(again.effectiveAt, '2025-12-01T00:00:00.000Z');
  t.is(await status(first), 'revoked');
  await first.close();
  const reopened = await startTestDcc(unreachableDevices(), { stateDir: dir, extra: { freezeClock: true } });
  t.teardown(() => reopened.close());
  t.is(await status(reopened), 'revoked');
});
