/**
 * The serial path as CI runs it: `smets-hil device serve` (an emulator process) on one pty pair, the harness
 * on another, and a relay process between them standing in for the cable: clean, noisy (bit flips and junk
 * octets), or cut one way and then unplugged (its socat killed) in the middle of a command; and the Transport
 * contract's checks that fit one meter on a line (overlapping commands, an absent device, faults above the link);
 * and an emulator whose state file or serial line cannot be used stopping at once with the reason.
 */
import test from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FaultLink, FaultPlan } from '../../../../devices/rig/fault-link.ts';
import { keyFromWire, keyToWire } from '../../../../devices/serve/control.ts';
import { ControlClient } from '../../../../devices/serve/control-client.ts';
import { CommandBuilder, makeTestPki } from '../../../../devices/testing/command-builder.ts';
import { openPtyPair, type PtyPair } from '../../../../devices/transports/serial/pty-pair.ts';
import { LinkHost } from '../../../../devices/transports/serial/remote-link.ts';
import { Transport, TransportError } from '../../../../devices/transports/transport.ts';
import { decodeGeneralSigning } from '../../../../protocol/gbcs/apdu.ts';
import { verifyApdu } from '../../../../protocol/gbcs/security.ts';
import { ECS02 } from '../../../../protocol/gbcs/usecases/catalogue.ts';
import { ECS04a } from '../../../../protocol/gbcs/usecases/meter-balance.ts';
import { parseResponseContent } from '../../../../protocol/gbcs/usecases/responses.ts';
import { parseEui } from '../../../../protocol/smki/eui.ts';
import { runCli } from '../../../helpers/cli.ts';
import { requireSocat, startDeviceProcess } from './support.ts';

requireSocat();
const ESME = parseEui('00DB1234567890C0');
const pki = makeTestPki('serial device process');
const START = '2026-01-05T09:00:00.000Z';
let host: Promise<LinkHost> | null = null;
const links = () => (host ??= LinkHost.start());
test.after.always(async () => (await host)?.close());

interface RelayProcess {
  child: ChildProcess;
  events: Record<string, unknown>[];
  say(line: string): void;
  stop(): Promise<Record<string, unknown>>;
}

async function startRelay(left: string, right: string, flipEvery = 0, junkEvery = 0): Promise<RelayProcess> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./relay.mjs', import.meta.url)), left, right, String(flipEvery), String(junkEvery)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const events: Record<string, unknown>[] = [];
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const e = JSON.parse(l) as Record<string, unknown>;
      events.push(e);
      if (e.event === 'ready') resolve();
    });
    void exited.then(() => reject(new Error('the relay exited')));
  });
  return {
    child,
    events,
    say: (line) => child.stdin!.write(line + '\n'),
    async stop() {
      child.stdin!.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
      return events.find((e) => e.event === 'stopped') ?? {};
    },
  };
}

const wireAnchors = () => ({
  supplier: { eui: pki.supplier.eui, ds: keyToWire(pki.supplier.ds.publicKey), ka: keyToWire(pki.supplier.ka.publicKey) },
  acb: { eui: pki.acb.eui, ka: keyToWire(pki.acb.ka.publicKey) },
  networkOperator: { eui: pki.networkOperator.eui, ds: keyToWire(pki.networkOperator.ds.publicKey), ka: keyToWire(pki.networkOperator.ka.publicKey) },
});

async function bench(o: { flipEvery?: number; junkEvery?: number; faults?: FaultPlan } = {}) {
  const near = await openPtyPair();
  const far = await openPtyPair();
  const device = await startDeviceProcess(['--type', 'esme', '--serial', near.a, '--eui', ESME, '--seed', 'serial tests']);
  const relay = await startRelay(near.b, far.a, o.flipEvery, o.junkEvery);
  const link = (await links()).link({ path: far.b, ackTimeoutMs: 100 });
  const control = new ControlClient(link, 10_000);
  const states: unknown[] = [];
  control.onState((_eui, s) => states.push(s));
  // Faults, when asked for, are injected above the serial link at the harness's end, as a rig pool does.
  const transport = new Transport(o.faults ? new FaultLink(link, o.faults) : link, { timeouts: { responseMs: 15_000 } });
  await transport.open();
  const { identity, state } = await control.provision({ eui: ESME, type: 'ESME', clock: START, initial: { paymentMode: 'prepayment' }, anchors: wireAnchors() });
  const ka = keyFromWire(identity.keys!.ka);
  const ds = keyFromWire(identity.keys!.ds);
  const build = new CommandBuilder(pki, () => ka);
  const cables: PtyPair[] = [near, far];
  const b = {
    device,
    relay,
    link,
    control,
    transport,
    states,
    initial: state as { meterBalance: number },
    build,
    cables,
    adjust: (amount: number, counter: bigint) => build.command(ECS04a, { amount }, { device: ESME, counter }),
    verifies: (frame: Uint8Array) => {
      const d = decodeGeneralSigning(frame);
      return d.ok && verifyApdu(d.value, ds);
    },
    async close() {
      await transport.close().catch(() => undefined);
      control.dispose();
      const stopped = await device.stop();
      const relayed = await b.relay.stop();
      await Promise.all(cables.map((c) => c.close()));
      return { device: stopped as { stats?: { duplicates: number; corrupt: number; retransmissions: number } } | undefined, relay: relayed as { flipped?: number; junk?: number } };
    },
  };
  return b;
}

function succeeded(frame: Uint8Array): boolean {
  const d = decodeGeneralSigning(frame);
  if (!d.ok) return false;
  const r = parseResponseContent(d.value.content);
  return r.ok && r.value.success;
}

const balanceOf = (s: unknown) => (s as { meterBalance: number }).meterBalance;

test('an emulator process on a pty: a command executes once, its response verifies, the state arrives before it', async (t) => {
  const b = await bench();
  t.is(b.initial.meterBalance, 0);
  const reply = await b.transport.request(b.adjust(500, 1000n));
  t.true(succeeded(reply.frame));
  t.true(b.verifies(reply.frame), "signed with the key the device reported");
  // Pushed before the response, so already here.
  t.is(balanceOf(b.states.at(-1)), 500);
  t.is(balanceOf(await b.control.snapshot()), 500);
  // A future-dated switch to credit, then time passes on the device: its alert comes back over the line.
  const alerts: Uint8Array[] = [];
  b.transport.onAlert((a) => alerts.push(a.frame));
  const at = new Date(Date.parse(START) + 3600_000);
  const r2 = await b.transport.request(b.build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'at', at } } }, { device: ESME, counter: 1001n }));
  t.true(succeeded(r2.frame));
  const after = (await b.control.advance(3600_000)) as { paymentMode: string };
  t.is(after.paymentMode, 'credit');
  for (let i = 0; i < 200 && alerts.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(alerts.length, 1);
  t.true(b.verifies(alerts[0]!));
  await b.close();
});

test("the contract's Transport checks with the emulator process: overlapping commands, a device not on the line, duplicated, dropped and corrupted frames", async (t) => {
  const faults = new FaultPlan();
  const b = await bench({ faults });
  const balance = async () => balanceOf(await b.control.snapshot());
  // Two commands in flight at once, each answered and matched by its counter.
  const [a, c] = await Promise.all([b.transport.request(b.adjust(1, 10n)), b.transport.request(b.adjust(2, 11n))]);
  t.deepEqual([decodeGeneralSigning(a.frame), decodeGeneralSigning(c.frame)].map((d) => (d.ok ? d.value.counter : null)), [10n, 11n]);
  t.true(succeeded(a.frame) && succeeded(c.frame));
  t.is(await balance(), 3);
  // No answer (the meter on this line is another): a timeout, an infrastructure error.
  const absent = b.build.command(ECS04a, { amount: 1 }, { device: parseEui('00DB1234567890CF'), counter: 12n });
  const timeout = await t.throwsAsync(b.transport.request(absent, { responseTimeoutMs: 800 }), { instanceOf: TransportError });
  t.is(timeout?.kind, 'timeout');
  // A command delivered twice executes once (the meter refuses the replay, and its answer is ignored).
  faults.add({ action: 'duplicate', direction: 'to-device', times: 1 });
  t.true(succeeded((await b.transport.request(b.adjust(4, 13n))).frame));
  t.is(await balance(), 7);
  // A lost response: a timeout, the command executed once. The rule names the response it drops: the meter's
  // refusal of the replay above may still be on its way, and must not be the frame dropped instead.
  const answers = (counter: bigint) => (f: Uint8Array) => {
    const d = decodeGeneralSigning(f);
    return d.ok && d.value.counter === counter;
  };
  faults.add({ action: 'drop', direction: 'to-dcc', frames: answers(14n), times: 1 });
  const lost = await t.throwsAsync(b.transport.request(b.adjust(8, 14n), { responseTimeoutMs: 800 }), { instanceOf: TransportError });
  t.is(lost?.kind, 'timeout');
  t.is(await balance(), 15);
  // A corrupted command never executes: refused by the meter (or unanswered).
  faults.add({ action: 'corrupt', direction: 'to-device', times: 1 });
  const corrupted = await b.transport.request(b.adjust(16, 15n), { responseTimeoutMs: 800 }).then((r) => succeeded(r.frame), () => false);
  t.false(corrupted);
  t.is(await balance(), 15);
  t.deepEqual(faults.events.map((e) => e.action), ['duplicate', 'drop', 'corrupt']);
  await b.close();
});

test('line noise: bit flips and junk on the line; every command executes exactly once', async (t) => {
  const b = await bench({ flipEvery: 4, junkEvery: 3 });
  for (let i = 0; i < 12; i++) {
    const reply = await b.transport.request(b.adjust(1, BigInt(2000 + i)));
    t.true(succeeded(reply.frame), `command ${i}`);
  }
  t.is(balanceOf(await b.control.snapshot()), 12);
  const harness = await b.link.stats();
  const end = await b.close();
  t.true((end.relay.flipped ?? 0) > 0 && (end.relay.junk ?? 0) > 0);
  const corrupt = harness.corrupt + (end.device?.stats?.corrupt ?? 0);
  const retransmissions = harness.retransmissions + (end.device?.stats?.retransmissions ?? 0);
  t.true(corrupt > 0, `damaged frames were dropped (${corrupt})`);
  t.true(retransmissions > 0, `and repaired by retransmission (${retransmissions})`);
});

test('unplugged mid-command: a clear infrastructure error, executed at most once, and a new cable works', async (t) => {
  const b = await bench();
  await b.transport.request(b.adjust(5, 3000n));
  // The answers stop coming back, then the cable is pulled out while the command is in flight.
  b.relay.say('cut');
  const frames = b.device.events.filter((e) => e.event === 'frame').length;
  const pending = b.transport.request(b.adjust(7, 3001n));
  for (let i = 0; i < 500 && b.device.events.filter((e) => e.event === 'frame').length === frames; i++) await new Promise((r) => setTimeout(r, 10));
  await b.cables[1]!.close();
  const e = await t.throwsAsync(pending, { instanceOf: TransportError });
  t.is(e?.kind, 'disconnected', e?.message);
  t.regex(e?.message ?? '', /serial port went away|no acknowledgement/);
  // A new cable: a new pty pair, a new relay, the same device process, the same meter.
  await b.relay.stop();
  const far = await openPtyPair();
  b.cables.push(far);
  const relay = await startRelay(b.cables[0]!.b, far.a);
  b.relay = relay;
  const link = (await links()).link({ path: far.b });
  const control = new ControlClient(link);
  const transport = new Transport(link, { timeouts: { responseMs: 15_000 } });
  await transport.open();
  const seen = balanceOf(await control.snapshot());
  t.true(seen === 5 || seen === 12, `the cut command executed at most once (balance ${seen})`);
  const reply = await transport.request(b.adjust(100, 3002n));
  t.true(succeeded(reply.frame));
  t.is(balanceOf(await control.snapshot()), seen + 100);
  await transport.close();
  control.dispose();
  b.transport = transport;
  await b.close();
});

test('with --state the emulated meter survives a restart of its process', async (t) => {
  const statePath = join(mkdtempSync(join(tmpdir(), 'device-state-')), 'meter.json');
  const pty = await openPtyPair();
  t.teardown(() => pty.close());
  const args = ['--type', 'esme', '--serial', pty.a, '--eui', ESME, '--seed', 'serial tests', '--state', statePath];
  const first = await startDeviceProcess(args);
  const link = (await links()).link({ path: pty.b });
  const control = new ControlClient(link, 10_000);
  const transport = new Transport(link, { timeouts: { responseMs: 15_000 } });
  await transport.open();
  const { identity } = await control.provision({ eui: ESME, type: 'ESME', clock: START, initial: { paymentMode: 'prepayment' }, anchors: wireAnchors() });
  const build = new CommandBuilder(pki, () => keyFromWire(identity.keys!.ka));
  t.true(succeeded((await transport.request(build.command(ECS04a, { amount: 42 }, { device: ESME, counter: 4000n }))).frame));
  await first.stop();
  const second = await startDeviceProcess(args);
  t.teardown(() => second.stop());
  const after = (await control.snapshot()) as { meterBalance: number; counters: Record<string, string>; paymentMode: string };
  t.is(after.meterBalance, 42);
  t.is(after.paymentMode, 'prepayment');
  t.is(after.counters[pki.supplier.eui], '4000');
  // The replayed counter is still refused after the restart.
  const replay = await transport.request(build.command(ECS04a, { amount: 42 }, { device: ESME, counter: 4000n }));
  t.false(succeeded(replay.frame));
  await transport.close();
  control.dispose();
});

test('a --state file that cannot be written, or is not a saved meter, stops the emulator before it serves', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'device-state-bad-'));
  const notADir = join(dir, 'file');
  writeFileSync(notADir, 'x');
  const corrupt = join(dir, 'corrupt.json');
  writeFileSync(corrupt, '{"definition": ');
  const alien = join(dir, 'alien.json');
  writeFileSync(alien, '{"hello": "world"}');
  for (const [state, message] of [
    [join(notADir, 'meter.json'), /cannot write the state file .*meter\.json: E(EXIST|NOTDIR)/],
    [corrupt, /state file .*corrupt\.json: .*JSON/],
    [alien, /state file .*alien\.json: not a meter this emulator saved/],
  ] as const) {
    const r = await runCli(['device', 'serve', '--type', 'esme', '--pty', '--state', state]);
    t.is(r.code, 3, r.stderr);
    t.regex(r.stderr, message);
    t.notRegex(r.stdout, /"event":"ready"/);
  }
});

test('a serial line that cannot be opened ends the emulator at once with exit 3 and the reason', async (t) => {
  const r = await runCli(['device', 'serve', '--type', 'esme', '--serial', '/nonexistent/smets-hil-tty'], { timeoutMs: 20_000 });
  t.is(r.code, 3, r.stderr);
  t.regex(r.stderr, /device serve: .*cannot open \/nonexistent\/smets-hil-tty/);
});

/** Processes this one started, from /proc (each thread lists its own children). */
function childrenOf(pid: number): number[] {
  const read = (tid: string) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      return ''; // a thread that ended meanwhile
    }
  };
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => read(tid).trim().split(/\s+/).filter(Boolean).map(Number));
}

/** Running: neither gone nor a zombie waiting to be reaped. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('an emulator killed outright (SIGKILL: no exit handler runs) takes its socat with it, so no cable outlives it', async (t) => {
  const device = await startDeviceProcess(['--type', 'esme', '--pty', '--eui', ESME, '--seed', 'serial tests']);
  const socat = childrenOf(device.child.pid!).filter((pid) => /^socat\b/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
  t.is(socat.length, 1, 'device serve --pty runs one socat');
  t.true(running(socat[0]!));
  device.child.kill('SIGKILL');
  const until = Date.now() + 10_000;
  while (running(socat[0]!) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  t.false(running(socat[0]!), `socat ${socat[0]} still runs after its emulator was killed`);
});
