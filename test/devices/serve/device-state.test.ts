/**
 * What an emulated meter keeps as a process (`device serve --state`): nothing it sends leaves before its state is
 * written, a state that cannot be written stops it serving, refused control messages change nothing, its state
 * numbers go on rising across a restart, and one process holds a state file at a time.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { keyToWire } from '../../../devices/serve/control.ts';
import { DeviceServer } from '../../../devices/serve/device-server.ts';
import { SeededKeySource } from '../../../devices/smets2/keys.ts';
import { CommandBuilder, makeTestPki } from '../../../devices/testing/command-builder.ts';
import type { SerialLink } from '../../../devices/transports/serial/serial-link.ts';
import { ECS03 } from '../../../protocol/gbcs/usecases/catalogue.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { repoRoot } from '../../helpers/fixtures.ts';
import { runCli } from '../../helpers/cli.ts';

/** The device end of a line, driven by hand: frames and CONTROL messages in, what the meter sends recorded. */
class HandLink {
  readonly name = 'hand';
  state = 'closed';
  readonly stats = {};
  readonly sent: Uint8Array[] = [];
  readonly control: Record<string, unknown>[] = [];
  private readonly frames: ((f: Uint8Array) => void)[] = [];
  private readonly controls: ((m: Uint8Array) => void)[] = [];
  async open() {
    this.state = 'open';
  }
  async close() {
    this.state = 'closed';
  }
  async send(f: Uint8Array) {
    this.sent.push(f);
  }
  async sendControl(m: Uint8Array) {
    this.control.push(JSON.parse(Buffer.from(m).toString('utf8')) as Record<string, unknown>);
  }
  onFrame(l: (f: Uint8Array) => void) {
    this.frames.push(l);
    return () => undefined;
  }
  onControl(l: (m: Uint8Array) => void) {
    this.controls.push(l);
    return () => undefined;
  }
  onState() {
    return () => undefined;
  }
  deliver(f: Uint8Array) {
    for (const l of this.frames) l(f);
  }
  ask(m: Record<string, unknown>): Record<string, unknown> | undefined {
    for (const l of this.controls) l(Buffer.from(JSON.stringify(m)));
    return this.control.find((c) => c.op === 'reply' && c.id === m.id);
  }
  versions(): number[] {
    return this.control.filter((c) => typeof c.version === 'number').map((c) => c.version as number);
  }
}

const SEED = 'device-state seed';
const EUI = parseEui('00DB1234567890C0');
const pki = makeTestPki('device-state pki');
const keys = new SeededKeySource(SEED);
const build = new CommandBuilder(pki, (eui) => keys.keysFor(eui).ka.publicKey);
const anchors = {
  supplier: { eui: pki.supplier.eui, ds: keyToWire(pki.supplier.ds.publicKey), ka: keyToWire(pki.supplier.ka.publicKey) },
  acb: { eui: pki.acb.eui, ka: keyToWire(pki.acb.ka.publicKey) },
};
const toPrepayment = (counter: bigint) =>
  build.command(
    ECS03,
    { variant: 'esme', change: { target: { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: false, disablementThreshold: 0 }, execution: { kind: 'now' } } },
    { device: EUI, counter },
  );

async function esme(statePath?: string) {
  const link = new HandLink();
  const events: Record<string, unknown>[] = [];
  const faults: Error[] = [];
  const server = new DeviceServer({
    link: link as unknown as SerialLink,
    type: 'ESME',
    eui: EUI,
    seed: SEED,
    anchors,
    clock: new Date('2024-01-01T00:00:00Z'),
    ...(statePath ? { statePath } : {}),
    log: (e) => events.push(e),
    onFault: (e) => faults.push(e),
  });
  await server.start();
  return { link, server, events, faults };
}

const savedMode = (path: string) => (JSON.parse(JSON.parse(readFileSync(path, 'utf8')).state) as { paymentMode: string }).paymentMode;

test('a state that cannot be written stops the meter serving: its answer is not sent, and after a restart the Command is one it never answered', async (t) => {
  const state = join(mkdtempSync(join(tmpdir(), 'device-state-')), 'meter.json');
  const a = await esme(state);
  mkdirSync(`${state}.tmp`); // the state can no longer be written (as on a full disk)
  a.link.deliver(toPrepayment(100n));
  t.is(a.link.sent.length, 0, 'no answer left the meter');
  t.is(a.faults.length, 1);
  t.regex(a.faults[0]!.message, /^cannot write the state file .*meter\.json: EISDIR/);
  t.true(a.events.some((e) => e.event === 'stopped-serving'));
  a.link.deliver(toPrepayment(101n));
  t.is(a.link.sent.length, 0, 'nor to anything after');
  t.like(a.link.ask({ op: 'ping', id: 1 }), { ok: false, error: `stopped serving: ${a.faults[0]!.message}` });
  t.is(savedMode(state), 'credit');
  await a.server.stop();

  rmSync(`${state}.tmp`, { recursive: true });
  const b = await esme(state);
  t.is(b.server.current.paymentMode, 'credit');
  b.link.deliver(toPrepayment(100n));
  t.is(b.link.sent.length, 1, 'answered, once the state is kept');
  t.is(savedMode(state), 'prepayment');
  await b.server.stop();
});

for (const [what, bad] of [
  ['a clock that is not a date', { clock: 'not a date' }],
  ['a clock before 2000', { clock: '1999-12-31T00:00:00Z' }],
  ['a trust anchor that is not a key', { clock: '2024-01-01T00:00:00Z', anchors: { ...anchors, supplier: { ...anchors.supplier, ds: 'AAAA' } } }],
] as const) {
  test(`a provisioning refused for ${what} leaves the meter as it was, serving`, async (t) => {
    const { link, server } = await esme();
    t.like(link.ask({ op: 'provision', id: 7, eui: EUI, type: 'ESME', ...bad }), { ok: false });
    t.like(link.ask({ op: 'ping', id: 8 }), { ok: true });
    link.deliver(toPrepayment(1n));
    t.is(link.sent.length, 1, 'it still answers');
    t.is(server.current.paymentMode, 'prepayment');
    await server.stop();
  });
}

test('an advance past what a meter can date is refused, and the clock stays', async (t) => {
  const { link, server } = await esme();
  const reply = link.ask({ op: 'advance', id: 3, ms: Number.MAX_SAFE_INTEGER - Date.UTC(2024, 0, 1) });
  t.like(reply, { ok: false });
  t.regex(String(reply?.error), /a meter's clock stays from 2000-01-01T00:00:01Z to before 2100-01-01/);
  t.is(server.current.now(), Date.UTC(2024, 0, 1));
  link.deliver(toPrepayment(1n));
  t.is(link.sent.length, 1);
  await server.stop();
});

test("a meter restarted on its state file numbers its states after the last process's", async (t) => {
  const state = join(mkdtempSync(join(tmpdir(), 'device-state-')), 'meter.json');
  const a = await esme(state);
  a.link.deliver(toPrepayment(1n));
  a.link.ask({ op: 'snapshot', id: 2 });
  const before = Math.max(...a.link.versions());
  await a.server.stop();
  const b = await esme(state);
  b.link.ask({ op: 'snapshot', id: 2 });
  t.true(Math.min(...b.link.versions()) > before);
  t.like(b.link.ask({ op: 'provision', id: 3, eui: EUI, type: 'ESME', clock: '2024-02-01T00:00:00Z', anchors }), { ok: true });
  t.true(Math.max(...b.link.versions()) > before);
  await b.server.stop();
});

test('device serve: --clock outside what a meter can date is a usage error', async (t) => {
  const r = await runCli(['device', 'serve', '--type', 'smets1', '--pty', '--clock', '1999-12-31T00:00:00Z']);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /--clock 1999-12-31T00:00:00Z: a meter's clock stays from 2000-01-01T00:00:01Z/);
});

/** `device serve --pty` as a process, up to its first line. */
function serveProcess(...extra: string[]) {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/smets-hil.mjs'), 'device', 'serve', '--type', 'esme', '--pty', '--eui', EUI, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const first = new Promise<string>((resolve) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exited.then(() => resolve(''));
  });
  return { child, first, exited, stderr: () => stderr };
}

test('device serve: a second process on a state file is refused (exit 3, naming the first); once the first is gone it starts', async (t) => {
  const state = join(mkdtempSync(join(tmpdir(), 'device-state-')), 'meter.json');
  const a = serveProcess('--state', state);
  t.teardown(() => a.child.kill('SIGKILL'));
  t.regex(await a.first, /"event":"ready"/);
  const b = serveProcess('--state', state);
  t.teardown(() => b.child.kill('SIGKILL'));
  t.is(await b.exited, 3);
  t.regex(b.stderr(), new RegExp(`${state.replace(/[.]/g, '\\.')} is in use by the emulator of process ${a.child.pid} \\(one emulator per state file\\)`));
  a.child.kill('SIGKILL'); // a lock left behind by a process that is gone is taken over
  await a.exited;
  const c = serveProcess('--state', state);
  t.teardown(() => c.child.kill('SIGKILL'));
  t.regex(await c.first, /"event":"ready"/);
  c.child.kill('SIGTERM');
  t.is(await c.exited, 0);
});

test('device serve --pty: its pty gone, the emulator exits 3 saying so', async (t) => {
  const a = serveProcess();
  t.teardown(() => a.child.kill('SIGKILL'));
  t.regex(await a.first, /"event":"ready"/);
  const socat = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(a.child.pid)])
    .toString()
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((p) => p[1] === 'socat');
  process.kill(Number(socat![0]), 'SIGKILL');
  t.is(await a.exited, 3);
  t.regex(a.stderr(), /the pty pair \(socat\) ended, so \/dev\/pts\/\d+ is gone: nothing left to serve on/);
});
