/**
 * GBCS fuzzing against the meters themselves (meter.process, no DCC, no link): real Commands from the trusted
 * supplier (and a network operator read), first executed so their counters are spent, then mutated.
 *
 * Invariant: a meter executes nothing that is not a valid command from a party its trust anchors allow; no
 * mutation crashes it; its snapshot stays as it was apart from the Security Log. Checked per frame by the
 * meter's answer (never a success) and every CHECK_EVERY frames (and at the end) by the whole snapshot; a window
 * that changed the snapshot is replayed frame by frame to name the culprit. A positive control proves the
 * detector sees an execution.
 *
 * Sizes: SMETS_HIL_METER_MUTATIONS random mutations (CI 6,000; nightly 1,000,000), plus the named attacks and
 * the exhaustive passes (every truncation; every byte set to every length extreme, on the credit switch in CI
 * and on every Command at nightly level).
 */
import test, { type ExecutionContext } from 'ava';
import { decodeGeneralCiphering, decodeGeneralSigning, encodeGeneralCiphering, encodeGeneralSigning, type GeneralCiphering, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { computeMac, macKey, signApdu, wrapCommand, wrapNonCriticalCommand } from '../../protocol/gbcs/security.ts';
import { type AnyCodec, ECS02, ECS03, GCS02, GCS03 } from '../../protocol/gbcs/usecases/catalogue.ts';
import { ECS04a, GCS40a } from '../../protocol/gbcs/usecases/meter-balance.ts';
import { ECS17b, GCS13a } from '../../protocol/gbcs/usecases/reads.ts';
import { ECS42 } from '../../protocol/gbcs/usecases/supply.ts';
import { parseResponseContent } from '../../protocol/gbcs/usecases/responses.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../protocol/smki/keys.ts';
import type { MeterVariant } from '../../devices/meter.ts';
import type { Smets2Meter } from '../../devices/smets2/meter.ts';
import type { TestParty } from '../../devices/testing/command-builder.ts';
import { build, ESME_EUI, GSME_EUI, keys, meter, pki, TWIN_EUI } from '../devices/support.ts';
import { everyLengthExtreme, everyTruncation, fuzzSeed, hex, mutate, Rng } from '../helpers/gbcs-mutations.ts';
import { LEVEL, sized } from '../helpers/level.ts';

const MUTATIONS = sized('SMETS_HIL_METER_MUTATIONS', 6_000, 1_000_000);
const CHECK_EVERY = 500;
const now = { kind: 'now' } as const;
const prepay = { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 } as const;

interface BaseCommand {
  name: string;
  codec: AnyCodec;
  params: unknown;
  from: TestParty;
}

function basesFor(variant: MeterVariant): BaseCommand[] {
  const s = pki.supplier;
  if (variant === 'gsme') {
    return [
      { name: 'GCS03 prepayment', codec: GCS03, params: { variant, change: { target: prepay, execution: now }, issuerEventId: 1 }, from: s },
      { name: 'GCS40a balance', codec: GCS40a, params: { amount: 500 }, from: s },
      { name: 'GCS13a read', codec: GCS13a, params: {}, from: pki.networkOperator },
      { name: 'GCS02 credit', codec: GCS02, params: { variant, change: { target: { mode: 'credit' }, execution: now }, issuerEventId: 2 }, from: s },
    ];
  }
  return [
    { name: 'ECS03 prepayment', codec: ECS03, params: { variant, change: { target: prepay, execution: now } }, from: s },
    ...(variant === 'esme' ? [{ name: 'ECS04a balance', codec: ECS04a, params: { amount: 1000 }, from: s }, { name: 'ECS42 supply enable', codec: ECS42, params: {}, from: s }] : []),
    { name: 'ECS17b read', codec: ECS17b, params: {}, from: pki.networkOperator },
    { name: 'ECS02 credit', codec: ECS02, params: { variant, change: { target: { mode: 'credit' }, execution: now } }, from: s },
  ];
}

/** The snapshot without the Security Log: what a refused frame must leave alone. */
function state(m: Smets2Meter): string {
  const { securityLog: _, ...rest } = m.snapshot() as Record<string, unknown>;
  return JSON.stringify(rest);
}

/** A meter that has executed every base command (counters 100, 101, ...): each is now spent. */
function primed(variant: MeterVariant) {
  const rig = meter(variant, { paymentMode: 'prepayment', supply: 'disabled' });
  const frames: { base: BaseCommand; frame: Uint8Array; counter: bigint }[] = [];
  let counter = 100n;
  for (const base of basesFor(variant)) {
    counter++;
    const frame = build.command(base.codec as AnyCodec, base.params as never, { device: rig.meter.eui, counter, from: base.from });
    const answer = rig.meter.process(frame);
    const verdict = answer && responseSucceeded(answer);
    if (!verdict) throw new Error(`priming: ${base.name} was not executed on the ${variant}`);
    frames.push({ base, frame, counter });
  }
  return { ...rig, frames, nextCounter: counter + 1n, baseline: state(rig.meter) };
}

/** Whether a meter's answer reports success (an error response, an unreadable one, or none is not). */
function responseSucceeded(frame: Uint8Array): boolean {
  let bytes = frame;
  if (frame[0] === 0xdd) {
    const c = decodeGeneralCiphering(frame);
    if (!c.ok) return false;
    bytes = c.value.payload;
  }
  const d = decodeGeneralSigning(bytes);
  if (!d.ok) return false;
  const o = parseResponseContent(d.value.content);
  return o.ok && o.value.success;
}

/** The General-Signing APDU inside a Command. */
function inner(frame: Uint8Array): GeneralSigning {
  const c = decodeGeneralCiphering(frame);
  if (!c.ok) throw new Error(c.error.toString());
  const d = decodeGeneralSigning(c.value.payload);
  if (!d.ok) throw new Error(d.error.toString());
  return d.value;
}

type Rig = ReturnType<typeof primed>;

/** Feeds one hostile frame; returns a problem or null. */
function attempt(rig: Rig, frame: Uint8Array): string | null {
  let answer: Uint8Array | null;
  try {
    answer = rig.meter.process(frame);
  } catch (e) {
    return `crashed: ${(e as Error).stack ?? e}`;
  }
  if (answer && responseSucceeded(answer)) return 'answered success';
  return null;
}

/** Runs frames through a meter, checking each answer and the whole snapshot every CHECK_EVERY frames. */
function run(t: ExecutionContext, rig: Rig, frames: Iterable<{ bytes: Uint8Array; what: string }>): number {
  let n = 0;
  let window: { bytes: Uint8Array; what: string }[] = [];
  const checkWindow = () => {
    if (state(rig.meter) === rig.baseline) return;
    // Something in this window changed the meter: name it (the windows replay on a fresh primed meter).
    const fresh = primed(rig.meter.variant as MeterVariant);
    const culprit = window.find((f) => (fresh.meter.process(f.bytes), state(fresh.meter) !== fresh.baseline));
    t.fail(`the meter changed: ${culprit ? `${culprit.what}: ${hex(culprit.bytes)}` : 'in a window that does not reproduce alone'}`);
    rig.baseline = state(rig.meter);
  };
  for (const f of frames) {
    n++;
    window.push(f);
    const problem = attempt(rig, f.bytes);
    if (problem) t.fail(`${f.what}: ${problem}: ${hex(f.bytes)}`);
    if (window.length >= CHECK_EVERY) {
      checkWindow();
      window = [];
    }
  }
  checkWindow();
  t.true(n > 0, 'frames were tried');
  return n;
}

const VARIANTS: MeterVariant[] = ['esme', 'esme-twin', 'gsme'];
const euiOf = (v: MeterVariant) => (v === 'gsme' ? GSME_EUI : v === 'esme-twin' ? TWIN_EUI : ESME_EUI);

/** The named attacks on one spent Command, each made as an attacker (or a faulty DCC) could make it. */
function namedAttacks(rig: Rig, base: Rig['frames'][number]): { bytes: Uint8Array; what: string }[] {
  const device = rig.meter.eui;
  const apdu = inner(base.frame);
  const critical = base.base.codec.critical;
  const fresh = rig.nextCounter + 1000n;
  const other = generateKeyPair();
  const signed = (a: GeneralSigning, key = base.base.from.ds.privateKey) => (critical ? signApdu({ ...a, signature: null }, key) : { ...a, signature: null });
  /** Re-wrapped with a MAC: by the real ACB key unless told otherwise. */
  const wrapped = (a: GeneralSigning, acbKa = pki.acb.ka.privateKey, deviceKa = keys.keysFor(device).ka.publicKey) =>
    encodeGeneralCiphering(critical && a.signature ? wrapCommand(a, acbKa, deviceKa) : wrapNonCriticalCommand({ ...a, signature: null }, acbKa, deviceKa));
  const macOnly = (mac: Uint8Array) => encodeGeneralCiphering({ ...wrapper(base.frame), mac });
  const foreignSig = inner(rig.frames.find((f) => f !== base && f.base.codec.critical)?.frame ?? base.frame).signature;
  // For a non-critical command the ACB's MAC is the whole authority: one re-MACed with the real ACB key is a
  // valid command (only the DCC can make it), so those attacks apply to critical commands only.
  const acbMade = (a: { bytes: Uint8Array; what: string }[]) => (critical ? a : []);
  const attacks: { bytes: Uint8Array; what: string }[] = [
    { what: 'replayed as it was', bytes: base.frame },
    // counters
    { what: 'counter rolled over to 2^64-1, MAC not redone', bytes: encodeGeneralCiphering({ ...wrapper(base.frame), payload: encodeSigned({ ...apdu, counter: 2n ** 64n - 1n }) }) },
    ...acbMade([
      { what: 'counter rolled over to 2^64-1, signed by another key, MACed by the ACB', bytes: wrapped(signed({ ...apdu, counter: 2n ** 64n - 1n }, other.privateKey)) },
      { what: 'counter 0, signed by another key, MACed by the ACB', bytes: wrapped(signed({ ...apdu, counter: 0n }, other.privateKey)) },
    ]),
    { what: 'fresh counter, supplier signature, MAC by another ACB key', bytes: wrapped(signed({ ...apdu, counter: fresh }), other.privateKey) },
    // CRA: never a command, even when every key is right
    ...(['response', 'alert'] as const).map((cra) => ({ what: `CRA ${cra}, signed and MACed with the right keys`, bytes: wrapped(signed({ ...apdu, cra, counter: fresh })) })),
    ...[0x00, 0x02, 0x03, 0x04, 0xff].map((flag) => ({ what: `CRA flag 0x${flag.toString(16)} written over the command`, bytes: withCraFlag(base.frame, flag) })),
    // signatures from the wrong keys
    ...(critical
      ? [
          { what: "signed with another supplier's key", bytes: wrapped(signed({ ...apdu, counter: fresh }, pki.otherSupplier.ds.privateKey)) },
          { what: "signed with the supplier's key-agreement key", bytes: wrapped(signed({ ...apdu, counter: fresh }, pki.supplier.ka.privateKey)) },
          { what: "signed with the network operator's key", bytes: wrapped(signed({ ...apdu, counter: fresh }, pki.networkOperator.ds.privateKey)) },
          { what: "signed with the meter's own key", bytes: wrapped(signed({ ...apdu, counter: fresh }, keys.keysFor(device).ds.privateKey)) },
          { what: 'a random signature', bytes: wrapped({ ...apdu, counter: fresh, signature: new Rng(Number(fresh & 0xffffn)).bytes(64) }) },
          { what: 'an all-zero signature', bytes: wrapped({ ...apdu, counter: fresh, signature: new Uint8Array(64) }) },
          ...(foreignSig ? [{ what: "another command's signature", bytes: wrapped({ ...apdu, counter: fresh, signature: foreignSig }) }] : []),
          { what: 'no signature on a critical command', bytes: build.wrap({ ...apdu, counter: fresh, signature: null }, false, { device, signer: null }) },
        ]
      : []),
    // MACs from the wrong keys
    { what: 'MAC by another ACB key', bytes: wrapped(signed({ ...apdu, counter: fresh }), other.privateKey) },
    { what: "MAC keyed with the supplier's key-agreement key", bytes: wrapped(signed({ ...apdu, counter: fresh }), pki.supplier.ka.privateKey) },
    { what: 'MAC made for another device', bytes: wrapped(signed({ ...apdu, counter: fresh }), pki.acb.ka.privateKey, keys.keysFor(device === ESME_EUI ? TWIN_EUI : ESME_EUI).ka.publicKey) },
    { what: 'an all-zero MAC', bytes: macOnly(new Uint8Array(12)) },
    { what: "another command's MAC", bytes: macOnly(wrapper(rig.frames.find((f) => f !== base)!.frame).mac) },
    { what: 'a MAC computed over other bytes (counter changed after MACing)', bytes: staleMac(apdu, signed({ ...apdu, counter: fresh }), device) },
    // who it claims to be from and for
    { what: 'from another supplier, signed and MACed for it', bytes: wrapped(signed({ ...apdu, originator: pki.otherSupplier.eui, counter: fresh }, pki.otherSupplier.ds.privateKey)) },
    ...acbMade([{ what: 'from the network operator, signed by it', bytes: wrapped(signed({ ...apdu, originator: pki.networkOperator.eui, counter: fresh }, pki.networkOperator.ds.privateKey)) }]),
    { what: 'for another device, signed and MACed for that device', bytes: wrapped(signed({ ...apdu, recipient: TWIN_EUI === device ? ESME_EUI : TWIN_EUI, counter: fresh }), pki.acb.ka.privateKey, keys.keysFor(TWIN_EUI === device ? ESME_EUI : TWIN_EUI).ka.publicKey) },
    // sizes
    ...[1, 12, 64, 1024, 70_000].map((n) => ({ what: `${n} bytes appended`, bytes: Uint8Array.from(Buffer.concat([base.frame, Buffer.alloc(n, 0x5a)])) })),
    { what: 'the signed Pre-Command without the ACB wrapper', bytes: encodeSigned(signed({ ...apdu, counter: fresh })) },
  ];
  return attacks;
}

const encodeSigned = (a: GeneralSigning): Uint8Array => encodeGeneralSigning(a);

function wrapper(frame: Uint8Array): GeneralCiphering {
  const c = decodeGeneralCiphering(frame);
  if (!c.ok) throw new Error(c.error.toString());
  return c.value;
}

/** Overwrites the CRA flag of the inner APDU in a Command without redoing the MAC. */
function withCraFlag(frame: Uint8Array, flag: number): Uint8Array {
  const c = wrapper(frame);
  const payload = Uint8Array.from(c.payload);
  payload[2] = flag; // DF, transaction-id length 09, then the CRA flag
  return encodeGeneralCiphering({ ...c, payload });
}

/** The MAC of `original` attached to `changed`: what a man in the middle who edits a MACed frame produces. */
function staleMac(original: GeneralSigning, changed: GeneralSigning, device: Eui): Uint8Array {
  const header = { securityControl: 0x11, invocationCounter: 0 };
  const mac = computeMac(header, encodeSigned(original), original, macKey(original, pki.acb.ka.privateKey, keys.keysFor(device).ka.publicKey));
  return encodeGeneralCiphering({ ...header, payload: encodeSigned(changed), mac });
}

for (const variant of VARIANTS) {
  test(`${variant}: the named attacks on every spent Command (counters, CRA, wrong keys, MACs, originators, sizes) execute nothing`, (t) => {
    const rig = primed(variant);
    let n = 0;
    for (const base of rig.frames) n += run(t, rig, namedAttacks(rig, base).map((a) => ({ ...a, what: `${base.base.name}: ${a.what}` })));
    t.log(`${variant}: ${n} named attacks on ${rig.frames.length} Commands`);
    // Positive control: the same detector sees a real execution.
    const control = build.command(rig.frames[0]!.base.codec as AnyCodec, rig.frames[0]!.base.params as never, { device: euiOf(variant), counter: rig.nextCounter + 5000n, from: rig.frames[0]!.base.from });
    t.true(responseSucceeded(rig.meter.process(control)!), 'control: a fresh valid command is executed');
    t.not(state(rig.meter), rig.baseline, 'control: and the snapshot check sees it');
  });

  test(`${variant}: every truncation of every spent Command, every byte of the credit switch set to every length extreme (nightly: of every Command)`, (t) => {
    const rig = primed(variant);
    let n = 0;
    // CI sets length extremes on the credit switch only (every Command at nightly level); truncations on all.
    const extremes = LEVEL === 'nightly' ? rig.frames : rig.frames.slice(-1);
    for (const base of rig.frames) {
      n += run(t, rig, (function* () {
        for (const b of everyTruncation(base.frame)) yield { bytes: b, what: `${base.base.name} truncated to ${b.length}` };
        if (extremes.includes(base)) for (const b of everyLengthExtreme(base.frame)) yield { bytes: b, what: `${base.base.name} length extreme` };
      })());
    }
    t.log(`${variant}: ${n} exhaustive mutations`);
  });
}

test(`${MUTATIONS} random mutations of real Commands, spread over ESME, twin ESME and GSME, execute nothing`, (t) => {
  const seed = fuzzSeed();
  t.log(`seed ${seed} (replay with SMETS_HIL_FUZZ_SEED=${seed})`);
  const rng = new Rng(seed);
  const rigs = VARIANTS.map(primed);
  const all = rigs.flatMap((r) => r.frames.map((f) => f.frame));
  const kinds = new Map<string, number>();
  const per = Math.ceil(MUTATIONS / rigs.length);
  let n = 0;
  for (const rig of rigs) {
    n += run(t, rig, (function* () {
      for (let i = 0; i < per; i++) {
        const base = rng.pick(rig.frames);
        const m = mutate(base.frame, rng, all);
        kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
        yield { bytes: m.bytes, what: `#${i} ${m.kind} of ${base.base.name} (seed ${seed})` };
      }
    })());
  }
  const logged = rigs.map((r) => r.meter.snapshot().securityLog.length);
  t.true(logged.every((l) => l > 0), 'the refusals were logged in the Security Logs');
  t.log(`${n} mutations: ${[...kinds].map(([k, c]) => `${k} ${c}`).join(', ')}`);
});

test('regression (found by this fuzzer): a GSME refusal of a component it received as a client reads as a failure, not a success', (t) => {
  const rig = primed('gsme');
  const base = rig.frames.find((f) => f.base.codec === GCS03)!.frame;
  // A frame-control octet overwritten with 0x7F: the meter refuses (bad MAC) and answers that component with a
  // Default Response client to server (frame control 0x00), which the parser used to read as a success.
  const hostile = Uint8Array.from(base);
  hostile[56] = 0x7f;
  const answer = rig.meter.process(hostile);
  t.truthy(answer, 'the meter answers (it has an originator)');
  t.false(responseSucceeded(answer!), 'the refusal reads as a failure');
  t.is(state(rig.meter), rig.baseline);
});
