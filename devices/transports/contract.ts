/**
 * The contract every Link must meet, as a reusable ava suite: `linkContract(test, { name, create })` registers
 * the tests for a link implementation. It checks the link itself (frames intact, in order, both ways; closed
 * ends refuse; a withdrawn frame never arrives), and a Transport with real emulated meters on the far end
 * (matching, alerts, S1SP, timeouts).
 * Links that can inject faults (the memory link can) also run the fault tests: duplicates never execute twice,
 * drops surface as timeouts, corruption never executes, a disconnect mid-command is an infrastructure error.
 *
 * The serial and ZigBee links run the same suite from their own test files.
 */
import type { ExecutionContext, TestFn } from 'ava';
import { decodeGeneralCiphering, decodeGeneralSigning, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { verifyApdu } from '../../protocol/gbcs/security.ts';
import { ECS02 } from '../../protocol/gbcs/usecases/catalogue.ts';
import { ECS04a, GCS40a } from '../../protocol/gbcs/usecases/meter-balance.ts';
import { parseResponseContent } from '../../protocol/gbcs/usecases/responses.ts';
import { decodeS1sp, encodeInstruction } from '../../protocol/s1sp/frame.ts';
import { zigbeeUtcTime } from '../../protocol/gbcs/datetime.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { deriveKeyPair } from '../../protocol/smki/keys.ts';
import { SimClock } from '../clock.ts';
import { DeviceHost } from '../host.ts';
import { diffSnapshots, unexpectedChanges } from '../snapshot.ts';
import { Smets1Meter } from '../smets1/meter.ts';
import { GeneratedKeySource } from '../smets2/keys.ts';
import { Smets2Meter } from '../smets2/meter.ts';
import { CommandBuilder, makeTestPki } from '../testing/command-builder.ts';
import { type Link, LinkError } from './link.ts';
import { type FaultRule } from './memory-link.ts';
import { Transport, TransportError } from './transport.ts';

export interface ContractFaults {
  add(rule: FaultRule): unknown;
  clear(): unknown;
  disconnect(): void;
  reconnect(): void;
}

export interface ContractPair {
  /** The end the DCC side (Transport) uses. */
  dcc: Link;
  /** The end devices sit on. */
  device: Link;
  /** Present when the link can inject faults. */
  faults?: ContractFaults;
  /** Extra teardown (processes, ports), after both ends are closed. */
  dispose?(): Promise<void>;
}

export interface LinkContractOptions {
  /** Prefix of every test title. */
  name: string;
  /** A fresh, unopened, connected pair per test. */
  create(): Promise<ContractPair> | ContractPair;
  /** Run the fault-injection tests (the pair must then provide `faults`). */
  faults?: boolean;
  /** Response timeout for the tests that expect an answer (default 2000 ms); timeout tests use `shortTimeoutMs`. */
  responseTimeoutMs?: number;
  /** Response timeout where a timeout is the expected outcome (default 150 ms). */
  shortTimeoutMs?: number;
  /** Run the tests one at a time (links whose pairs share one far end, e.g. one emulated meter on a HAN). */
  serial?: boolean;
}

const ESME = parseEui('00DB1234567890A0');
const GSME = parseEui('00DB1234567890A1');
const SMETS1 = parseEui('00DB1234567890B0');
const ABSENT = parseEui('00DB1234567890FF');
const S1SP_EUI = parseEui('90B3D51F30000005');
const pki = makeTestPki('link contract');
const s1spKey = deriveKeyPair('link contract', 's1sp');

async function rig(o: LinkContractOptions, responseMs: number) {
  const pair = await o.create();
  const keys = new GeneratedKeySource();
  const clock = new SimClock();
  const esme = new Smets2Meter({ eui: ESME, variant: 'esme', keys, trustAnchors: pki.anchors, clock });
  const gsme = new Smets2Meter({ eui: GSME, variant: 'gsme', keys, trustAnchors: pki.anchors, clock });
  const smets1 = new Smets1Meter({ eui: SMETS1, variant: 'esme', clock, s1sp: { eui: S1SP_EUI, publicKey: s1spKey.publicKey } });
  const host = new DeviceHost(pair.device);
  host.add(esme).add(gsme).add(smets1);
  await host.start();
  const transport = new Transport(pair.dcc, { timeouts: { responseMs } });
  await transport.open();
  const build = new CommandBuilder(pki, (eui) => keys.keysFor(eui).ka.publicKey);
  const adjust = (amount: number, counter: bigint, device: Eui = ESME) => build.command(ECS04a, { amount }, { device, counter });
  const verifies = (frame: Uint8Array, eui: Eui) => {
    const a = gsApdu(frame);
    return a !== null && verifyApdu(a, keys.keysFor(eui).ds.publicKey);
  };
  return {
    pair,
    esme,
    gsme,
    smets1,
    host,
    transport,
    build,
    clock,
    adjust,
    verifies,
    async close() {
      await transport.close().catch(() => undefined);
      await host.stop().catch(() => undefined);
      await pair.dispose?.();
    },
  };
}

/** The General-Signing APDU of a GBCS frame (unwrapping a General-Ciphering one), or null. */
function gsApdu(frame: Uint8Array): GeneralSigning | null {
  let bytes = frame;
  if (frame[0] === 0xdd) {
    const c = decodeGeneralCiphering(frame);
    if (!c.ok) return null;
    bytes = c.value.payload;
  }
  const d = decodeGeneralSigning(bytes);
  return d.ok ? d.value : null;
}

function succeeded(frame: Uint8Array): boolean {
  const a = gsApdu(frame);
  if (!a) return false;
  const r = parseResponseContent(a.content);
  return r.ok && r.value.success;
}

async function rejectsWith(t: ExecutionContext, p: Promise<unknown>, kind: TransportError['kind']): Promise<TransportError> {
  const e = await t.throwsAsync(p, { instanceOf: TransportError });
  t.is(e?.kind, kind, e?.message);
  return e!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function linkContract(ava: TestFn, o: LinkContractOptions): void {
  const test = (o.serial ? ava.serial : ava) as (title: string, run: (t: ExecutionContext) => Promise<void> | void) => void;
  const n = o.name;
  const long = o.responseTimeoutMs ?? 2000;
  const short = o.shortTimeoutMs ?? 150;

  test(`${n}: carries frames both ways, intact and in order`, async (t) => {
    const pair = await o.create();
    const got: Record<'dcc' | 'device', Buffer[]> = { dcc: [], device: [] };
    pair.dcc.onFrame((f) => got.dcc.push(Buffer.from(f)));
    pair.device.onFrame((f) => got.device.push(Buffer.from(f)));
    await Promise.all([pair.dcc.open(), pair.device.open()]);
    t.is(pair.dcc.state, 'open');
    const frames = Array.from({ length: 24 }, (_, i) => Buffer.from(Array.from({ length: 1 + ((i * 397) % 1500) }, (_, j) => (i * 31 + j * 7) & 0xff)));
    for (const f of frames) {
      await pair.dcc.send(f);
      await pair.device.send(Buffer.from(f).reverse());
    }
    for (let i = 0; i < 100 && (got.device.length < frames.length || got.dcc.length < frames.length); i++) await sleep(10);
    t.deepEqual(got.device, frames);
    t.deepEqual(got.dcc, frames.map((f) => Buffer.from(f).reverse()));
    await pair.dcc.close();
    await pair.device.close();
    await pair.dispose?.();
  });

  test(`${n}: a closed end refuses to send, and close is idempotent`, async (t) => {
    const pair = await o.create();
    const states: string[] = [];
    pair.dcc.onState((s) => states.push(s));
    await Promise.all([pair.dcc.open(), pair.device.open()]);
    await pair.dcc.close();
    await pair.dcc.close();
    t.is(pair.dcc.state, 'closed');
    const e = await t.throwsAsync(pair.dcc.send(Uint8Array.of(1)), { instanceOf: LinkError });
    t.is(e?.kind, 'closed');
    t.true(states.includes('open') && states.at(-1) === 'closed');
    await pair.device.close();
    await pair.dispose?.();
  });

  test(`${n}: a frame withdrawn before it leaves is refused (withdrawn) and never delivered; a frame sent stays sent`, async (t) => {
    const pair = await o.create();
    const got: Buffer[] = [];
    pair.device.onFrame((f) => got.push(Buffer.from(f)));
    await Promise.all([pair.dcc.open(), pair.device.open()]);
    const e = await t.throwsAsync(pair.dcc.send(Uint8Array.of(1, 2, 3), { signal: AbortSignal.abort() }), { instanceOf: LinkError });
    t.is(e?.kind, 'withdrawn');
    // Aborting once the link has taken the frame withdraws nothing.
    const late = new AbortController();
    await pair.dcc.send(Uint8Array.of(4, 5, 6), { signal: late.signal });
    late.abort();
    await pair.dcc.send(Uint8Array.of(7));
    for (let i = 0; i < 100 && got.length < 2; i++) await sleep(10);
    t.deepEqual(got, [Buffer.of(4, 5, 6), Buffer.of(7)]);
    await pair.dcc.close();
    await pair.device.close();
    await pair.dispose?.();
  });

  test(`${n}: a command gets its own signed response and executes once`, async (t) => {
    const r = await rig(o, long);
    const before = r.esme.snapshot();
    const reply = await r.transport.request(r.adjust(500, 1000n));
    t.true(succeeded(reply.frame));
    t.true(r.verifies(reply.frame, ESME));
    const after = r.esme.snapshot();
    t.is(after.meterBalance, 500);
    t.deepEqual(unexpectedChanges(diffSnapshots(before, after), ['meterBalance', `counters.${pki.supplier.eui}`, 'eventLog']), []);
    await r.close();
  });

  test(`${n}: overlapping commands are matched by device, originator and counter`, async (t) => {
    const r = await rig(o, long);
    // The same counter to two devices, and two counters to one device, all in flight at once.
    const [a, b, c] = await Promise.all([
      r.transport.request(r.adjust(1, 10n)),
      r.transport.request(r.build.command(GCS40a, { amount: 2 }, { device: GSME, counter: 10n })),
      r.transport.request(r.adjust(3, 11n)),
    ]);
    for (const [reply, device, counter] of [[a, ESME, 10n], [b, GSME, 10n], [c, ESME, 11n]] as const) {
      const apdu = gsApdu(reply.frame);
      t.is(apdu?.counter, counter);
      t.is(apdu?.originator, device);
      t.true(succeeded(reply.frame));
    }
    t.is(r.esme.meterBalance, 4);
    t.is(r.gsme.meterBalance, 2);
    await r.close();
  });

  test(`${n}: alerts reach alert listeners`, async (t) => {
    const r = await rig(o, long);
    const alerts: Uint8Array[] = [];
    r.transport.onAlert((a) => alerts.push(a.frame));
    const at = new Date(r.clock.now() + 3600_000);
    const reply = await r.transport.request(r.build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'at', at } } }, { device: ESME, counter: 20n }));
    t.true(succeeded(reply.frame));
    r.clock.advance(3600_000);
    for (let i = 0; i < 200 && alerts.length === 0; i++) await sleep(5);
    t.is(alerts.length, 1);
    const alert = gsApdu(alerts[0]!);
    t.is(alert?.cra, 'alert');
    t.is(alert?.originator, ESME);
    t.true(r.verifies(alerts[0]!, ESME));
    await r.close();
  });

  test(`${n}: an S1SP instruction gets its response`, async (t) => {
    const r = await rig(o, long);
    const frame = encodeInstruction({ type: 'instruction', id: 7n, from: S1SP_EUI, to: SMETS1, time: zigbeeUtcTime(new Date(r.clock.now())), reference: 0n, operation: { op: 'adjust-balance', amount: 42 } }, s1spKey.privateKey);
    const reply = await r.transport.request(frame);
    const d = decodeS1sp(reply.frame);
    t.true(d.ok && d.value.frame.type === 'response' && d.value.frame.status === 'executed' && d.value.frame.id === 7n);
    t.is(r.smets1.meterBalance, 42);
    await r.close();
  });

  test(`${n}: no answer is a timeout (infrastructure), and a closed transport refuses requests`, async (t) => {
    const r = await rig(o, short);
    const e = await rejectsWith(t, r.transport.request(r.adjust(1, 1n, ABSENT)), 'timeout');
    t.is(e.phase, 'response');
    const pending = r.transport.request(r.adjust(1, 2n, ABSENT), { responseTimeoutMs: 60_000 });
    await r.transport.close();
    await rejectsWith(t, pending, 'closed');
    await rejectsWith(t, r.transport.request(r.adjust(1, 3n)), 'closed');
    await r.close();
  });

  if (!o.faults) return;
  const faulty = async (responseMs: number, ...rules: FaultRule[]) => {
    const r = await rig(o, responseMs);
    if (!r.pair.faults) throw new Error(`${n}: the factory must provide faults`);
    for (const rule of rules) r.pair.faults.add(rule);
    return { ...r, faults: r.pair.faults };
  };

  test(`${n} under faults: a dropped command is a timeout and changes nothing`, async (t) => {
    const r = await faulty(short, { action: 'drop', direction: 'to-device', frames: 0 });
    const before = r.esme.snapshot();
    await rejectsWith(t, r.transport.request(r.adjust(5, 1n)), 'timeout');
    t.deepEqual(r.esme.snapshot(), before);
    await r.close();
  });

  test(`${n} under faults: a dropped response is a timeout; the command executed once`, async (t) => {
    const r = await faulty(short, { action: 'drop', direction: 'to-dcc', frames: 0 });
    await rejectsWith(t, r.transport.request(r.adjust(5, 1n)), 'timeout');
    t.is(r.esme.meterBalance, 5);
    await r.close();
  });

  test(`${n} under faults: a duplicated command executes once; the replay is refused and its answer ignored`, async (t) => {
    const r = await faulty(long, { action: 'duplicate', direction: 'to-device', frames: 0 });
    const reply = await r.transport.request(r.adjust(5, 1n));
    t.true(succeeded(reply.frame));
    for (let i = 0; i < 200 && r.transport.stats.ignored === 0; i++) await sleep(5);
    t.is(r.esme.meterBalance, 5);
    const log = r.esme.snapshot().securityLog as { code: string }[];
    t.deepEqual(log.map((e) => e.code), ['8F60']);
    t.is(r.transport.stats.ignored, 1);
    await r.close();
  });

  test(`${n} under faults: a duplicated response resolves once and the copy is ignored`, async (t) => {
    const r = await faulty(long, { action: 'duplicate', direction: 'to-dcc', frames: 0 });
    const reply = await r.transport.request(r.adjust(5, 1n));
    t.true(succeeded(reply.frame));
    for (let i = 0; i < 200 && r.transport.stats.ignored === 0; i++) await sleep(5);
    t.is(r.transport.stats.ignored, 1);
    t.is(r.esme.meterBalance, 5);
    await r.close();
  });

  test(`${n} under faults: a corrupted command never executes`, async (t) => {
    const r = await faulty(short, { action: 'corrupt', direction: 'to-device', frames: 0 });
    const before = r.esme.snapshot();
    const outcome = await r.transport.request(r.adjust(5, 1n)).then(
      (reply) => ({ reply }),
      (e: unknown) => ({ error: e }),
    );
    if ('reply' in outcome) t.false(succeeded(outcome.reply.frame), 'answered with an error');
    else t.is((outcome.error as TransportError).kind, 'timeout');
    t.deepEqual(unexpectedChanges(diffSnapshots(before, r.esme.snapshot()), ['securityLog']), []);
    t.is((r.esme.snapshot().securityLog as unknown[]).length, 1);
    await r.close();
  });

  test(`${n} under faults: a corrupted response is never taken for a valid one`, async (t) => {
    const r = await faulty(short, { action: 'corrupt', direction: 'to-dcc', frames: 0 });
    const outcome = await r.transport.request(r.adjust(5, 1n)).then(
      (reply) => ({ reply }),
      (e: unknown) => ({ error: e }),
    );
    if ('reply' in outcome) t.false(r.verifies(outcome.reply.frame, ESME));
    else t.is((outcome.error as TransportError).kind, 'timeout');
    t.is(r.esme.meterBalance, 5);
    await r.close();
  });

  test(`${n} under faults: a response later than the timeout is a timeout, then ignored`, async (t) => {
    // The response clock starts when the link reports the command acknowledged; over a link in another process
    // the response can be handed over first, and a stall between the two (a loaded CI machine) once let a delay of
    // twice the timeout land inside it. Two seconds beyond the timeout is late by any measure.
    const lateMs = short + 2000;
    const r = await faulty(short, { action: 'delay', direction: 'to-dcc', frames: 0, delayMs: lateMs });
    await rejectsWith(t, r.transport.request(r.adjust(5, 1n)), 'timeout');
    const deadline = Date.now() + lateMs + 2000;
    while (r.transport.stats.ignored === 0 && Date.now() < deadline) await sleep(10);
    t.is(r.transport.stats.ignored, 1);
    await r.close();
  });

  test(`${n} under faults: a delay within the timeout is just slower`, async (t) => {
    const r = await faulty(long, { action: 'delay', direction: 'both', delayMs: 20 });
    const reply = await r.transport.request(r.adjust(5, 1n));
    t.true(succeeded(reply.frame));
    await r.close();
  });

  test(`${n} under faults: a disconnect mid-command is a clear infrastructure error; reconnecting resumes`, async (t) => {
    const r = await faulty(long, { action: 'disconnect', direction: 'to-dcc', frames: 0 });
    await rejectsWith(t, r.transport.request(r.adjust(5, 1n)), 'disconnected');
    t.is(r.transport.state, 'failed');
    await rejectsWith(t, r.transport.request(r.adjust(5, 2n)), 'closed');
    r.faults.clear();
    r.faults.reconnect();
    await r.host.start();
    await r.transport.open();
    const reply = await r.transport.request(r.adjust(5, 3n));
    t.true(succeeded(reply.frame));
    t.is(r.esme.meterBalance, 10);
    await r.close();
  });
}
