/**
 * GBCS fuzzing against the DCC's Signed Pre-Command checks (correlation with the issued Pre-Command and the SoLR
 * Credit-only content check), with real Pre-Commands the DCC issued: the SC party's switches to Credit and to
 * prepayment on an ESME, a twin ESME and a GSME of the failed supplier, and a healthy supplier's switch to
 * prepayment on its own meter.
 *
 * Invariant: nothing that is not the exact issued Pre-Command (its signature aside) is ever dispatched; for the SC
 * role, nothing but an issued credit Pre-Command; no mutation crashes the DCC; and the meters behind it change
 * only by Credit switches on the failed supplier's meters and the healthy supplier's own commands.
 *
 * - the check functions the DCC runs (correlate + solrContentCheck) on SMETS_HIL_DCC_CHECK_MUTATIONS mutations
 *   (CI 30,000; nightly 1,000,000) and on named attacks (every truncation, every length extreme, wrong CRA,
 *   counter rollover, retargeting, rewritten content, unsigned, over-long);
 * - DccService.handle end to end, CV 5 with the mutated payload (XML-signed by the SC party or the supplier), to
 *   emulated meters: SMETS_HIL_DCC_HANDLE_MUTATIONS (CI 600; nightly 50,000), every dispatched Command checked.
 */
import test, { type ExecutionContext } from 'ava';
import { type DuisRequest, type RequestBody } from '../../protocol/duis/index.ts';
import { decodeGeneralCiphering, decodeGeneralSigning, encodeGeneralSigning, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { signApdu } from '../../protocol/gbcs/security.ts';
import { buildPaymentModeContent, PAYMENT_MODE_CODES } from '../../protocol/gbcs/usecases/payment-mode.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../protocol/smki/keys.ts';
import type { DevicePort } from '../../emulator/ports.ts';
import { correlate, solrContentCheck } from '../../emulator/transform.ts';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import type { UserAgent } from '../../harness/agents/user-agent.ts';
import { startTestDcc, type TestDcc } from '../helpers/dcc.ts';
import { everyLengthExtreme, everyTruncation, fuzzSeed, hex, mutate, Rng } from '../helpers/gbcs-mutations.ts';
import { sized } from '../helpers/level.ts';

const CHECK_MUTATIONS = sized('SMETS_HIL_DCC_CHECK_MUTATIONS', 30_000, 1_000_000);
const HANDLE_MUTATIONS = sized('SMETS_HIL_DCC_HANDLE_MUTATIONS', 600, 50_000);

const FAILING = parseEui('90B3D51F30010001');
const HEALTHY = parseEui('90B3D51F30010002');
const SRP = parseEui('90B3D51F30050001');
const DEVICES = {
  esme: { eui: parseEui('00DB0000000F0001'), type: 'ESME', twin: false, supplier: FAILING },
  twin: { eui: parseEui('00DB0000000F0002'), type: 'ESME', twin: true, supplier: FAILING },
  gsme: { eui: parseEui('00DB0000000F0003'), type: 'GSME', twin: false, supplier: FAILING },
  healthy: { eui: parseEui('00DB0000000F0004'), type: 'ESME', twin: false, supplier: HEALTHY },
  /** Only a target for retargeted Pre-Commands. */
  gsme2: { eui: parseEui('00DB0000000F0005'), type: 'GSME', twin: false, supplier: FAILING },
} as const;
type DeviceName = keyof typeof DEVICES;

const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };
const prepay: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 } };
const CREDIT_CODES = new Set([PAYMENT_MODE_CODES.ECS02, PAYMENT_MODE_CODES.GCS02]);

interface Scenario {
  name: string;
  as: 'sc' | 'healthy';
  device: DeviceName;
  body: RequestBody;
}

const SCENARIOS: Scenario[] = [
  { name: 'SC credit on the ESME', as: 'sc', device: 'esme', body: credit },
  { name: 'SC credit on the twin ESME', as: 'sc', device: 'twin', body: credit },
  { name: 'SC credit on the GSME', as: 'sc', device: 'gsme', body: credit },
  { name: 'SC prepayment on the ESME', as: 'sc', device: 'esme', body: prepay },
  { name: 'SC prepayment on the GSME', as: 'sc', device: 'gsme', body: prepay },
  { name: 'healthy supplier prepayment on its ESME', as: 'healthy', device: 'healthy', body: prepay },
];

/** One CV 4 answered by the DCC: the Pre-Command it issued, and the Signed Pre-Command a User would send back. */
interface Issued {
  scenario: Scenario;
  cv4: DuisRequest;
  preCommand: Buffer;
  signed: Buffer;
  user: Eui;
}

interface World {
  t: TestDcc;
  pool: EmulatedPool;
  agents: Record<Scenario['as'], UserAgent>;
  keys: Record<Scenario['as'], import('node:crypto').KeyObject>;
  /** Every Command the DCC handed to the devices. */
  dispatched: { device: Eui; command: Uint8Array }[];
  /** Hex of every Pre-Command the DCC issued, with whom it was issued to. */
  issued: Map<string, { user: Eui; scenario: Scenario }>;
}

let world: World;

test.before(async () => {
  const pool = new EmulatedPool();
  const dispatched: World['dispatched'] = [];
  const port: DevicePort = {
    ...pool.port,
    sendCommand: (device, command, timeoutMs) => {
      dispatched.push({ device: device.eui, command: Uint8Array.from(command) });
      return pool.port.sendCommand(device, command, timeoutMs);
    },
  };
  const t = await startTestDcc(port, { provisioner: pool.provisioner, persistent: false });
  const a = t.admin;
  await a.party({ eui: SRP, name: 'SRP (SoLR Contingency)', roles: ['SC'], endpoint: null });
  await a.party({ eui: FAILING, name: 'Failing Energy', roles: ['IS', 'GS'], endpoint: null, srp: SRP });
  await a.party({ eui: HEALTHY, name: 'Healthy Energy', roles: ['IS', 'GS'], endpoint: null });
  const failingDs = await a.gbcsSigner(FAILING);
  const healthyDs = await a.gbcsSigner(HEALTHY);
  await a.certificate(FAILING, 'organisation-ka');
  await a.certificate(HEALTHY, 'organisation-ka');
  for (const d of Object.values(DEVICES)) await a.device({ eui: d.eui, type: d.type, twin: d.twin, supplier: d.supplier, initialState: { paymentMode: 'prepayment' } });
  const now = Date.parse((await a.now()).now);
  await a.solr({ failedSupplier: FAILING, contingencyParty: SRP, startsAt: new Date(now - 1000).toISOString() });
  await a.officer(SRP, { id: 'sro', kind: 'SRO', name: 'SRO' });
  await a.adt(SRP, { submittedBy: 'sro', supplier: FAILING, thresholds: [{ srv: '1.6', warning: 10_000_000, quarantine: 20_000_000, periodSeconds: 86_400 }] });
  world = {
    t,
    pool,
    agents: { sc: t.agent(SRP, 'sc', await a.xmlSigner(SRP)), healthy: t.agent(HEALTHY, 'healthy', await a.xmlSigner(HEALTHY), healthyDs.privateKey) },
    keys: { sc: failingDs.privateKey, healthy: healthyDs.privateKey },
    dispatched,
    issued: new Map(),
  };
});

test.after.always(async () => {
  await world?.t.close();
  await world?.pool.close();
});

/** A fresh CV 4 for the scenario, and its Pre-Command signed with the key the meter trusts. */
async function issue(s: Scenario): Promise<Issued> {
  const agent = world.agents[s.as];
  const cv4 = agent.request({ target: DEVICES[s.device].eui, srv: '1.6', cv: 4, body: s.body });
  const r = await agent.post('serviceT', cv4);
  const content = r.response?.body.kind === 'ResponseMessage' ? r.response.body.content : undefined;
  if (r.response?.header.responseCode !== 'I0' || content?.kind !== 'PreCommand') throw new Error(`${s.name}: CV 4 answered ${r.response?.header.responseCode ?? r.status}: ${r.text.slice(0, 200)}`);
  const preCommand = Buffer.from(content.gbcsPayload);
  world.issued.set(hex(preCommand), { user: agent.eui, scenario: s });
  return { scenario: s, cv4, preCommand, signed: agent.signPreCommand(preCommand, world.keys[s.as]), user: agent.eui };
}

function apduOf(bytes: Uint8Array): GeneralSigning {
  const d = decodeGeneralSigning(bytes);
  if (!d.ok) throw new Error(d.error.toString());
  return d.value;
}

/** What the DCC's CV 5 checks let through for this payload, as the service runs them. */
function checks(i: Issued, payload: Uint8Array): { passed: boolean; reason: string } {
  const c = correlate({ user: i.user, device: DEVICES[i.scenario.device].eui, srv: '1.6', bytes: i.preCommand, usedBy: null }, i.user, '1.6', payload);
  if (!c.ok) return { passed: false, reason: c.reason.replace(/: .*/, '') };
  if (i.scenario.as === 'sc') {
    const bad = solrContentCheck(c.apdu);
    if (bad) return { passed: false, reason: bad.reason.replace(/, got .*|: .*/, '') };
  }
  return { passed: true, reason: 'passed' };
}

/** The invariant for one payload the checks let through. */
function throughIsExact(t: ExecutionContext, i: Issued, payload: Uint8Array, what: string): void {
  const unsigned = encodeGeneralSigning({ ...apduOf(payload), signature: null });
  if (!unsigned.equals(i.preCommand)) t.fail(`${what}: passed but is not the issued Pre-Command: ${hex(payload)}`);
  if (i.scenario.as === 'sc' && !CREDIT_CODES.has(apduOf(i.preCommand).messageCode)) t.fail(`${what}: an SC ${i.scenario.name} Signed Pre-Command passed: ${hex(payload)}`);
}

/** The named attacks on one Signed Pre-Command: re-signed with the key the SC party holds, as it could. */
function namedAttacks(i: Issued): { what: string; bytes: Uint8Array }[] {
  const apdu = apduOf(i.signed);
  const key = world.keys[i.scenario.as];
  const resigned = (a: GeneralSigning) => encodeGeneralSigning(signApdu({ ...a, signature: null }, key));
  const variant = i.scenario.device === 'gsme' ? 'gsme' : i.scenario.device === 'twin' ? 'esme-twin' : 'esme';
  const prepayment = buildPaymentModeContent({ variant, change: { target: { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 }, execution: { kind: 'now' } }, counter: apdu.counter });
  const creditContent = buildPaymentModeContent({ variant, change: { target: { mode: 'credit' }, execution: { kind: 'now' } }, counter: apdu.counter });
  const other = Object.values(DEVICES).find((d) => d.eui !== apdu.recipient && d.type === DEVICES[i.scenario.device].type)!.eui;
  const plain = encodeGeneralSigning({ ...apdu, signature: null });
  return [
    { what: 'the exact Signed Pre-Command (control)', bytes: i.signed },
    { what: 'unsigned', bytes: plain },
    { what: 'signature length 00', bytes: Buffer.concat([plain, Buffer.of(0)]) },
    { what: 'two signatures', bytes: Buffer.concat([i.signed, Buffer.of(64), apdu.signature!]) },
    ...[1, 64, 1024, 70_000].map((n) => ({ what: `${n} bytes appended`, bytes: Buffer.concat([i.signed, Buffer.alloc(n, 0xa5)]) })),
    { what: 'CRA response, re-signed', bytes: resigned({ ...apdu, cra: 'response' }) },
    { what: 'CRA alert, re-signed', bytes: resigned({ ...apdu, cra: 'alert' }) },
    { what: 'counter rolled over to 2^64-1, re-signed', bytes: resigned({ ...apdu, counter: 2n ** 64n - 1n }) },
    { what: 'counter 0, re-signed', bytes: resigned({ ...apdu, counter: 0n }) },
    { what: 'counter + 1, re-signed', bytes: resigned({ ...apdu, counter: apdu.counter + 1n }) },
    { what: 'retargeted at another meter, re-signed', bytes: resigned({ ...apdu, recipient: other }) },
    { what: 'originator changed to the SC party, re-signed', bytes: resigned({ ...apdu, originator: SRP }) },
    { what: 'content rewritten to prepayment, re-signed', bytes: resigned({ ...apdu, messageCode: prepayment.messageCode, content: prepayment.content }) },
    { what: 'content rewritten to credit, re-signed', bytes: resigned({ ...apdu, messageCode: creditContent.messageCode, content: creditContent.content }) },
    { what: 'credit message code over prepayment content, re-signed', bytes: resigned({ ...apdu, messageCode: creditContent.messageCode }) },
    { what: 'a date-time added, re-signed', bytes: resigned({ ...apdu, dateTime: new Uint8Array(12) }) },
    { what: 'supplementary octets added, re-signed', bytes: resigned({ ...apdu, supplementary: Uint8Array.of(1, 2) }) },
    { what: 'signed by another key', bytes: encodeGeneralSigning(signApdu({ ...apdu, signature: null }, generateKeyPair().privateKey)) },
  ];
}

/** One Pre-Command issued per scenario, shared by the tests below (each also runs alone, with --match). */
let issuedOnce: Promise<Issued[]> | undefined;
async function issuedPreCommands(): Promise<Issued[]> {
  return (issuedOnce ??= (async () => {
    const all: Issued[] = [];
    for (const s of SCENARIOS) all.push(await issue(s));
    return all;
  })());
}

test.serial('named attacks and every truncation and length extreme of every Signed Pre-Command: only the exact issued one passes, and for SC only Credit', async (t) => {
  const issuedAll = await issuedPreCommands();
  const tally = new Map<string, number>();
  let n = 0;
  for (const i of issuedAll) {
    const frames = [
      ...namedAttacks(i),
      ...[...everyTruncation(i.signed)].map((bytes) => ({ what: `truncated to ${bytes.length}`, bytes })),
      ...[...everyLengthExtreme(i.signed)].map((bytes) => ({ what: 'length extreme', bytes })),
    ];
    for (const f of frames) {
      n++;
      const r = checks(i, f.bytes);
      tally.set(r.reason, (tally.get(r.reason) ?? 0) + 1);
      if (r.passed) throughIsExact(t, i, f.bytes, `${i.scenario.name}: ${f.what}`);
      if (f.what.startsWith('the exact')) t.is(r.passed, i.scenario.as !== 'sc' || i.scenario.body === credit, `${i.scenario.name}: the control`);
    }
  }
  t.log(`${n} named and exhaustive payloads on ${issuedAll.length} issued Pre-Commands: ${[...tally].map(([k, v]) => `${k} ${v}`).join('; ')}`);
});

test.serial(`${CHECK_MUTATIONS} random mutations through the DCC's CV 5 checks: only signature bytes may differ, and SC passes only Credit`, async (t) => {
  const issuedAll = await issuedPreCommands();
  // The control: unmutated, each passes the checks as its scenario says (so a refusal below is the mutation's).
  for (const i of issuedAll) t.is(checks(i, i.signed).passed, i.scenario.as !== 'sc' || i.scenario.body === credit, `${i.scenario.name}: unmutated`);
  const seed = fuzzSeed();
  t.log(`seed ${seed} (replay with SMETS_HIL_FUZZ_SEED=${seed})`);
  const rng = new Rng(seed);
  const others = issuedAll.map((i) => i.signed);
  let passed = 0;
  for (let k = 0; k < CHECK_MUTATIONS; k++) {
    const i = rng.pick(issuedAll);
    const m = mutate(i.signed, rng, others);
    let r: ReturnType<typeof checks>;
    try {
      r = checks(i, m.bytes);
    } catch (e) {
      t.fail(`#${k} ${m.kind} (seed ${seed}) crashed the checks: ${(e as Error).stack}: ${hex(m.bytes)}`);
      continue;
    }
    if (r.passed) {
      passed++;
      throughIsExact(t, i, m.bytes, `#${k} ${m.kind} (seed ${seed})`);
    }
  }
  t.log(`${CHECK_MUTATIONS} mutations, ${passed} passed (signature bytes only, or unchanged)`);
});

test.serial(`${HANDLE_MUTATIONS} mutated Signed Pre-Commands sent as CV 5 through DccService.handle to emulated meters: every dispatched Command is an issued Pre-Command, SC's only Credit`, async (t) => {
  const seed = fuzzSeed() ^ 0x5a5a;
  t.log(`seed ${seed}`);
  const rng = new Rng(seed);
  const current = new Map<Scenario, Issued>();
  for (const s of SCENARIOS) current.set(s, await issue(s));
  const codes = new Map<string, number>();
  const before = world.dispatched.length;
  for (let k = 0; k < HANDLE_MUTATIONS; k++) {
    const s = rng.pick(SCENARIOS);
    const i = current.get(s)!;
    const m = mutate(i.signed, rng, []);
    const agent = world.agents[s.as];
    const cv5: DuisRequest = { ...i.cv4, header: { ...i.cv4.header, commandVariant: 5 }, body: { kind: 'SignedPreCommand', gbcsPayload: m.bytes } };
    let xml: string;
    try {
      xml = agent.sign(cv5);
    } catch {
      // An empty payload cannot be written as a DUIS request (the HTTP corpus covers malformed DUIS).
      codes.set('not expressible in DUIS', (codes.get('not expressible in DUIS') ?? 0) + 1);
      continue;
    }
    let reply: { status: number; body: string };
    try {
      reply = await world.t.dcc.service.handle('send', xml);
    } catch (e) {
      t.fail(`#${k} ${m.kind} of ${s.name} (seed ${seed}) crashed the DCC: ${(e as Error).stack}`);
      continue;
    }
    const code = /<sr:ResponseCode>(\w+)</.exec(reply.body)?.[1] ?? `HTTP ${reply.status}`;
    codes.set(code, (codes.get(code) ?? 0) + 1);
    // Dispatched: that Pre-Command is spent; the next attempts in this scenario use a fresh one.
    if (code === 'I99') current.set(s, await issue(s));
  }
  await world.t.dcc.service.settled();
  const sent = world.dispatched.slice(before);
  for (const { device, command } of sent) {
    const c = decodeGeneralCiphering(command);
    if (!c.ok) {
      t.fail(`an undecodable Command went to ${device}`);
      continue;
    }
    const inner = apduOf(c.value.payload);
    const issued = world.issued.get(hex(encodeGeneralSigning({ ...inner, signature: null })));
    if (!issued) t.fail(`a Command that is no issued Pre-Command went to ${device}: ${hex(command)}`);
    else if (issued.scenario.as === 'sc' && !CREDIT_CODES.has(inner.messageCode)) t.fail(`an SC Command other than Credit went to ${device}`);
  }
  // The meters: the failed supplier's changed only to Credit; nothing ever executed a prepayment switch there.
  for (const [name, d] of Object.entries(DEVICES)) {
    const snap = world.pool.snapshot(d.eui) as { paymentMode: string; eventLog: { event: string; useCase?: string }[] };
    const executed = snap.eventLog.filter((e) => e.event === 'executed').map((e) => e.useCase);
    if (d.supplier === FAILING) t.deepEqual(executed.filter((u) => u !== 'ECS02' && u !== 'GCS02'), [], `${name}: only Credit switches executed`);
  }
  t.log(`${HANDLE_MUTATIONS} CV 5 requests: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}; ${sent.length} Commands dispatched, each an issued Pre-Command`);
  t.true((codes.get('E12') ?? 0) > 0, 'correlation refused mutations');
});
