/**
 * What each scenario step does against a live world, and what it checks. A step reports the device fields it
 * allows to change (everything else must stay as it was) and which devices SoLR Contingency traffic reached; the
 * runner diffs snapshots around every step and applies both rules.
 *
 * Failures are ProductFailure (the DCC or a meter did the wrong thing: verdict fail) or InfrastructureError (a
 * link, rig or the harness failed: verdict error).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionKind } from '../../devices/expected-changes.ts';
import {
  CANCEL_EXECUTION_DATE_TIME,
  type DuisResponse,
  formatDateTime,
  type RequestBody,
  type RequestId,
  type ServiceReferenceVariant,
} from '../../protocol/duis/index.ts';
import type { XmlElement } from '../../protocol/duis/xml-tree.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import type { GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { signApdu } from '../../protocol/gbcs/security.ts';
import { buildPaymentModeContent, type MeterVariant } from '../../protocol/gbcs/usecases/payment-mode.ts';
import { useCasesForSrv } from '../../protocol/gbcs/message-codes.ts';
import { AdminError } from '../admin-client.ts';
import { checkDeviceAnswer, type DeviceAnswer, type ExpectedAnswer } from '../agents/device-answer.ts';
import { byDccAlert, byRequestId, type Delivery } from '../agents/endpoint.ts';
import { SRV_BODY_ELEMENT } from '../agents/srv-bodies.ts';
import type { DccReply } from '../agents/user-agent.ts';
import { durationMs, MAX_TIMER_MS, type RequestStep, type Step } from '../scenarios/schema.ts';
import { InfrastructureError, ProductFailure } from './failures.ts';
import type { DeviceHandle, WorldInstance } from './world.ts';

export { InfrastructureError, ProductFailure };

export interface StepOutcome {
  title: string;
  /** Device EUI -> field paths this step may change. */
  allowed: Map<string, string[]>;
  /** Devices that SoLR Contingency traffic reached in this step (the SoLR invariant applies to them). */
  solrTouched: Set<string>;
  /**
   * The step moved the clocks: what pending changes falling due write may change too (the runner reads which
   * fell due from the snapshots, as it does for time passing in a live world).
   */
  clockMoved: boolean;
  /**
   * Requests the DCC quarantined, by device: their counters (a SMETS2+ Command carries its RequestID's), which the
   * meter's log must not show it acting on, whatever else the step allows it.
   */
  quarantined?: Map<string, bigint[]>;
}

export interface StepContext {
  world: WorldInstance;
  /** How long to wait for a device's answer to reach the User. */
  deviceTimeoutMs: number;
  /** Stops the step (it overran its time, or the run was interrupted): it sends nothing more and waits no longer. */
  signal?: AbortSignal;
  /**
   * Devices SoLR Contingency traffic has been sent to so far, noted before each send: when the step ends in an
   * error, the runner still holds those devices to the SoLR invariant.
   */
  solrReached?: Set<string>;
  /**
   * SoLR Contingency Commands whose answer the DCC gave up on (E20, E21), by device: their counters. Such a Command
   * may still land after the step, so the runner holds a later step in which the meter logs one of those counters
   * to the SoLR invariant, and looks at these meters again once the scenario's steps are done.
   */
  solrUnanswered?: Map<string, Set<string>>;
}

const outcome = (title: string): StepOutcome => ({ title, allowed: new Map(), solrTouched: new Set(), clockMoved: false });

/** `p`, or the stop's reason once `signal` aborts (what `p` was waiting for is left to end by its own time limit). */
function unlessStopped<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function fail(message: string): never {
  throw new ProductFailure(message);
}

function replyCode(r: DccReply): string {
  return r.response?.header.responseCode ?? (r.problem ? `unsigned reply (${r.problem})` : `HTTP ${r.status}`);
}

function checkCode(what: string, r: DccReply, expected: string | undefined): void {
  if (expected === undefined) return;
  const got = replyCode(r);
  if (got !== expected) fail(`${what}: expected ${expected}, got ${got}${r.status !== 200 ? ` (${r.text.trim().slice(0, 300)})` : ''}`);
}

// ---------------------------------------------------------------------------------------------- request

function paymentBody(step: RequestStep, world: WorldInstance): RequestBody {
  const mode = step.mode ?? 'credit';
  const executionDateTime =
    step.at === undefined ? undefined : step.at === 'cancel' ? CANCEL_EXECUTION_DATE_TIME : formatDateTime(new Date(world.now().getTime() + durationMs(step.at)));
  const paymentMode =
    mode === 'credit'
      ? { mode: 'Credit' as const }
      : mode === 'prepayment'
        ? { mode: 'Prepayment' as const, suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 }
        : { mode: 'Prepayment' as const, ...mode.prepayment };
  return { kind: 'UpdatePaymentMode', ...(executionDateTime ? { executionDateTime } : {}), paymentMode };
}

function bodyFor(step: RequestStep, world: WorldInstance): RequestBody {
  if (step.srv === '1.6') return paymentBody(step, world);
  const name = SRV_BODY_ELEMENT[step.srv];
  if (!name) throw new InfrastructureError(`no DUIS body element known for SRV ${step.srv}`);
  return { kind: 'opaque', name: name as never, element: srElementFrom(name, step.body ?? {}) };
}

const SR = 'http://www.dccinterface.co.uk/ServiceUserGateway';

/** A DUIS body element from a YAML mapping: keys become child elements, scalars their text. */
function srElementFrom(name: string, value: unknown): XmlElement {
  const el: XmlElement = { uri: SR, prefix: 'sr', local: name, attributes: [], namespaces: [], children: [], parent: null };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      for (const item of Array.isArray(v) ? v : [v]) {
        const child = srElementFrom(k, item);
        child.parent = el;
        el.children.push(child);
      }
    }
  } else if (value !== undefined && value !== null) {
    el.children.push(String(value));
  }
  return el;
}

function variantOf(d: DeviceHandle): MeterVariant {
  if (d.plan.type === 'GSME') return 'gsme';
  return d.plan.twin ? 'esme-twin' : 'esme';
}

/** Rewrites a Pre-Command before it is signed, for the tamper options that prove correlation. */
function tamperPreCommand(step: RequestStep, world: WorldInstance, device: DeviceHandle): ((a: GeneralSigning) => GeneralSigning) | undefined {
  switch (step.tamper) {
    case 'counter-rollover':
      return (a) => ({ ...a, counter: 2n ** 64n - 1n });
    case 'precommand-to-prepayment':
      return (a) => {
        const { content, messageCode } = buildPaymentModeContent({
          variant: variantOf(device),
          change: { target: { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 }, execution: { kind: 'now' } },
          counter: a.counter,
        });
        return { ...a, messageCode, content };
      };
    case 'precommand-other-device': {
      const other = [...world.devices.values()].find((d) => d.alias !== device.alias && d.plan.type === device.plan.type);
      if (!other) throw new InfrastructureError('precommand-other-device needs a second device of the same type in the world');
      return (a) => ({ ...a, recipient: other.eui });
    }
    default:
      return undefined;
  }
}

/** The certificates a `revoke` step names: a party's, as the world issued them, or a device's SMKI Device certificates. */
function certificatesToRevoke(world: WorldInstance, r: { party?: string; device?: string; certificate: string }): { serial: string; issuer: string }[] {
  if (r.party !== undefined) {
    const party = world.party(r.party);
    const products = r.certificate === 'all' ? [...party.certificates.keys()] : [r.certificate];
    return products.map((product) => {
      const c = party.certificates.get(product as never);
      if (!c) throw new InfrastructureError(`${r.party} holds no ${product} certificate`);
      return c;
    });
  }
  const eui = world.device(r.device!).eui;
  const usages = r.certificate === 'all' ? (['digitalSignature', 'keyAgreement'] as const) : ([r.certificate === 'device-ds' ? 'digitalSignature' : 'keyAgreement'] as const);
  const found = usages
    .flatMap((usage) => world.dcc.service.options.smki.find({ eui, usage }))
    .filter((e) => e.certificate.kind === 'device')
    .map((e) => ({ serial: e.certificate.serial, issuer: e.certificate.issuer }));
  if (!found.length) throw new InfrastructureError(`${r.device} holds no ${r.certificate === 'all' ? 'SMKI Device' : r.certificate} certificate (a SMETS1 meter has none)`);
  return found;
}

/**
 * How long the sender waits for a dispatched request's response. A device that does not answer within the device
 * timeout still gets one, the DCC's E20 or E21, sent after that timeout (after as long again, at least a second,
 * for a device port that never settles): waiting only the timeout raced the DCC's own answer.
 */
function responseWaitMs(deviceTimeoutMs: number): number {
  // No longer than a timer can wait: a longer one fires at once (a device timeout of days).
  return Math.min(MAX_TIMER_MS, 2 * (deviceTimeoutMs + Math.max(deviceTimeoutMs, 1_000)));
}

async function awaitResponse(world: WorldInstance, sender: string, id: RequestId, timeoutMs: number, what: string, signal: AbortSignal | undefined): Promise<Delivery> {
  signal?.throwIfAborted();
  try {
    return await unlessStopped(world.party(sender).endpoint.waitFor(byRequestId(id), timeoutMs, what), signal);
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new InfrastructureError((e as Error).message);
  }
}

/**
 * The device's own answer inside a DUIS response, as the sender checks it (agents/device-answer.ts), or null when
 * the response carries none. `expected` is what the sender knows of its command (for a critical one, the Signed
 * Pre-Command it sent). The meter's keys come from its SMKI Device certificates; a MACed answer is checked with
 * the Key Agreement key of the party the command came from (`source`).
 */
function deviceAnswer(world: WorldInstance, response: DuisResponse, expected: ExpectedAnswer, source: Eui): DeviceAnswer | null {
  const b = response.body;
  if (b.kind !== 'ResponseMessage' || b.content?.kind !== 'GBCSPayload') return null;
  const device = expected.device;
  return checkDeviceAnswer(b.content.gbcsPayload, expected, () => {
    const smki = world.dcc.service.options.smki;
    const now = world.now();
    // As a User checks a certificate before trusting its key: one SMKI has revoked vouches for nothing.
    const deviceKeys = (usage: 'digitalSignature' | 'keyAgreement') =>
      smki
        .find({ eui: device, usage })
        .filter((e) => e.certificate.kind === 'device' && smki.validAt(e, now))
        .map((e) => e.certificate.publicKey);
    const own = [...world.parties.values()].find((p) => p.eui === source)?.gbcsKa ?? null;
    const ka = deviceKeys('keyAgreement').at(-1);
    return { ds: deviceKeys('digitalSignature'), mac: own && ka ? { own, device: ka } : null };
  });
}

export async function runRequest(step: RequestStep, ctx: StepContext): Promise<StepOutcome> {
  const { world } = ctx;
  const sender = world.party(step.as);
  const device = world.device(step.to);
  const srv = step.srv as ServiceReferenceVariant;
  const row = world.dcc.service.options.eligibility.get(srv);
  if (!row) throw new InfrastructureError(`SRV ${srv} is not in the eligibility table`);
  const critical = row.critical && device.plan.type !== 'SMETS1';
  const cv = step.cv === 'auto' ? (row.nonDevice ? 8 : critical ? 4 : 1) : step.cv;
  if (step.expect.transform && !(cv === 4 && step.cv === 'auto')) {
    throw new InfrastructureError(`expect.transform is the answer to a CV 4 transform request, and this request goes as CV ${cv} (only a critical SRV to a SMETS2+ device, with cv auto, is transformed)`);
  }
  const title = `${step.as} sends SRV ${srv}${srv === '1.6' ? ` (${typeof step.mode === 'object' ? 'prepayment' : (step.mode ?? 'credit')}${step.at ? `, ${step.at === 'cancel' ? 'cancel' : `at ${step.at}`}` : ''})` : ''} to ${step.to}${step.tamper ? `, tampered: ${JSON.stringify(step.tamper)}` : ''}${step.repeat > 1 ? ` x${step.repeat}` : ''}`;
  const out = outcome(title);
  const signKeyAlias = step.signWith ?? (sender.roles.includes('SC') ? failedSupplierFor(world, step.as, device.supplier) : step.as);
  const signKey = typeof step.tamper === 'object' && 'sign-precommand-with' in step.tamper ? world.party(step.tamper['sign-precommand-with']).gbcsDs : world.party(signKeyAlias).gbcsDs;
  const xmlSigner = typeof step.tamper === 'object' && 'xml-signer' in step.tamper ? world.party(step.tamper['xml-signer']).agent.identity.xml : step.tamper === 'wrong-xml-signer' ? otherParty(world, step.as).agent.identity.xml : undefined;

  // The GBCS originator of the command: the sender, or for SC the failed supplier the device trusts, whose key signs.
  const source = sender.roles.includes('SC') ? world.party(device.supplier).eui : sender.eui;
  const execution = step.at === undefined ? 'now' : step.at === 'cancel' ? 'never' : 'at';
  const { signal } = ctx;
  if (sender.roles.includes('SC')) ctx.solrReached?.add(device.eui);
  /** The DCC alert the step expects of its last request, whatever the DCC answered it (`why`: what to add when none came). */
  const expectDccAlert = async (isLast: boolean, why: string) => {
    if (!isLast || !step.expect.dccAlert) return;
    try {
      await unlessStopped(sender.endpoint.claim(byDccAlert(step.expect.dccAlert), ctx.deviceTimeoutMs, `DCC alert ${step.expect.dccAlert}`), signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      fail(`${(e as Error).message}${why ? ` (${why})` : ''}`);
    }
  };
  /**
   * Waits for the asynchronous outcome of a request the DCC accepted for dispatch (I99), so the device has
   * settled before the next request and before snapshots are compared, and allows what it changed. `command`
   * is the Signed Pre-Command sent, when the sender signed one.
   */
  const settleDispatch = async (reply: DccReply, counter: bigint, isLast: boolean, command: GeneralSigning | null) => {
    if (replyCode(reply) !== 'I99') return expectDccAlert(isLast, `the request was answered ${replyCode(reply)}`);
    const quarantined = (await world.admin.requests({ requestId: requestIdOf(sender.eui, device.eui, counter) })).some((r) => r.outcome === 'quarantined');
    if (quarantined) {
      out.quarantined ??= new Map();
      out.quarantined.set(device.eui, [...(out.quarantined.get(device.eui) ?? []), counter]);
      if (isLast && (step.expect.response || step.expect.device)) fail('expected a response from the device, but the DCC quarantined the request (it was never sent)');
      await expectDccAlert(isLast, '');
      return;
    }
    const d = await awaitResponse(world, step.as, { user: sender.eui, target: device.eui, counter }, responseWaitMs(ctx.deviceTimeoutMs), `the response to ${title}`, signal);
    const gaveUp = d.response?.header.responseCode === 'E20' || d.response?.header.responseCode === 'E21';
    if (gaveUp && sender.roles.includes('SC') && ctx.solrUnanswered) {
      const counters = ctx.solrUnanswered.get(device.eui) ?? new Set<string>();
      ctx.solrUnanswered.set(device.eui, counters.add(String(counter)));
    }
    const expected: ExpectedAnswer = { device: device.eui, smets1: device.plan.type === 'SMETS1', counter, originator: command?.originator ?? source, execution, ...(command ? { command } : {}) };
    const answer = d.response ? deviceAnswer(world, d.response, expected, source) : null;
    if (answer && !answer.ok) fail(`the device's answer fails the sender's checks: ${answer.problem}`);
    if (isLast) checkAsync(step, d, answer);
    await expectDccAlert(isLast, 'the request was not quarantined');
    if (sender.roles.includes('SC')) out.solrTouched.add(device.eui);
    const succeeded = answer?.ok === true && answer.success;
    allow(out, device.eui, world.pool.allowedChanges(succeeded ? useCaseFor(srv, device, step) : null, srv, device.eui, source, executionMade(step, world)));
  };

  let last: { final: DccReply; transform: DccReply | null; counter: bigint; command: GeneralSigning | null } | null = null;
  for (let i = 0; i < step.repeat; i++) {
    signal?.throwIfAborted();
    const isLast = i === step.repeat - 1;
    const spec = { target: device.eui, srv, body: bodyFor(step, world) };
    if (cv === 4 && step.cv === 'auto') {
      const tamper = tamperPreCommand(step, world, device);
      const resign = tamper && signKey ? (a: GeneralSigning) => signApdu(tamper({ ...a, signature: null }), signKey) : tamper;
      const r = await sender.agent
        .critical(spec, {
          ...(signKey ? { signWith: signKey } : {}),
          ...(xmlSigner ? { xmlSigner } : {}),
          ...(resign ? { tamper: resign } : {}),
          ...(step.tamper === 'unsigned-precommand' ? { tamper: (a: GeneralSigning) => ({ ...a, signature: null }) } : {}),
          originator: source,
          ...(signal ? { signal } : {}),
        })
        .catch((e: Error) => {
          if (/holds no GBCS Digital Signing key/.test(e.message)) throw new InfrastructureError(`${e.message} (name one with signWith)`);
          throw e;
        });
      const counter = r.requestId.counter;
      if (step.tamper === 'replay-signed-precommand' && r.send && r.signedXml) {
        await settleDispatch(r.send, counter, false, r.command);
        last = { final: await sender.agent.post('serviceS', r.signedXml, undefined, signal), transform: r.transform, counter, command: r.command };
      } else {
        last = { final: r.send ?? r.transform, transform: r.transform, counter, command: r.command };
      }
    } else {
      const request = sender.agent.request({ ...spec, cv: cv as never });
      const xml = sender.agent.sign(request, xmlSigner);
      const url = cv === 4 ? 'serviceT' : cv === 8 ? 'serviceD' : 'serviceS';
      const first = await sender.agent.post(url, xml, undefined, signal);
      const counter = request.header.requestId.counter;
      if (step.tamper === 'replay') {
        await settleDispatch(first, counter, false, null);
        last = { final: await sender.agent.post(url, xml, undefined, signal), transform: null, counter, command: null };
      } else {
        last = { final: first, transform: null, counter, command: null };
      }
    }
    await settleDispatch(last.final, last.counter, isLast, last.command);
  }
  if (!last) throw new InfrastructureError('repeat must be at least 1');
  if (last.transform) checkCode('the transform (CV 4)', last.transform, step.expect.transform);
  checkCode(cv === 4 && step.cv === 'auto' && last.transform !== last.final ? 'the Signed Pre-Command (CV 5)' : 'the request', last.final, step.expect.code);
  if ((step.expect.response || step.expect.device) && replyCode(last.final) !== 'I99') {
    fail(`expected an asynchronous response, but the request was answered ${replyCode(last.final)}`);
  }
  if (step.changes) for (const [alias, fields] of Object.entries(step.changes)) allow(out, world.device(alias).eui, fields);
  return out;
}

/**
 * [model] The SoLR Contingency party signs Pre-Commands with the key its HSM holds: that of the supplier whose
 * Shared Resource Provider it is (the device's own supplier when it serves several).
 */
function failedSupplierFor(world: WorldInstance, sc: string, deviceSupplier: string): string {
  const served = [...world.parties.values()].filter((p) => world.spec.parties[p.alias]?.srp === sc).map((p) => p.alias);
  return served.includes(deviceSupplier) || served.length === 0 ? deviceSupplier : served[0]!;
}

function requestIdOf(user: string, target: string, counter: bigint): string {
  const dash = (e: string) => e.match(/../g)!.join('-');
  return `${dash(user)}:${dash(target)}:${counter}`;
}

function checkAsync(step: RequestStep, d: Delivery, answer: DeviceAnswer | null): void {
  if (!d.response) fail(`the DCC's asynchronous response did not verify: ${d.problem}`);
  if (step.expect.response && d.response.header.responseCode !== step.expect.response) {
    fail(`the asynchronous response: expected ${step.expect.response}, got ${d.response.header.responseCode}`);
  }
  if (step.expect.device) {
    const v = answer?.ok ? (answer.success ? 'success' : 'failure') : null;
    if (v !== step.expect.device) fail(`the device's answer: expected ${step.expect.device}, got ${v ?? 'no GBCS response'}`);
  }
}

/**
 * What a meter can have made of the step's command: a cancellation is never executed, and a date the frozen clocks
 * cannot reach during the step only scheduled. In a live world, or for a date within a second (a date-time has
 * whole seconds), it may have fallen due already: any (undefined).
 */
function executionMade(step: RequestStep, world: WorldInstance): ExecutionKind | undefined {
  if (step.at === undefined) return 'now';
  if (step.at === 'cancel') return 'cancel';
  return world.live || durationMs(step.at) <= 1000 ? undefined : 'future';
}

function useCaseFor(srv: string, device: DeviceHandle, step: RequestStep): string | null {
  if (srv === '1.6') {
    const credit = step.mode === undefined || step.mode === 'credit';
    if (device.plan.type === 'GSME' || (device.plan.type === 'SMETS1' && device.plan.fuel === 'gas')) return credit ? 'GCS02' : 'GCS03';
    return credit ? 'ECS02' : 'ECS03';
  }
  const family = device.plan.type === 'GSME' || (device.plan.type === 'SMETS1' && device.plan.fuel === 'gas') ? 'gsme' : 'esme';
  return useCasesForSrv(srv).find((u) => u.family === family)?.name ?? null;
}

function allow(out: StepOutcome, eui: string, fields: readonly string[]): void {
  out.allowed.set(eui, [...(out.allowed.get(eui) ?? []), ...fields]);
}

function otherParty(world: WorldInstance, alias: string) {
  const other = [...world.parties.values()].find((p) => p.alias !== alias);
  if (!other) throw new InfrastructureError('wrong-xml-signer needs a second party in the world');
  return other;
}

// ---------------------------------------------------------------------------------------------- the rest

export async function runStep(step: Step, ctx: StepContext): Promise<StepOutcome> {
  const { world } = ctx;
  const admin = world.admin;
  if ('request' in step) return runRequest(step.request, ctx);
  if ('solr' in step) {
    const s = step.solr;
    const now = world.now().getTime();
    await admin.solr({
      failedSupplier: world.party(s.failed).eui,
      contingencyParty: world.party(s.contingency).eui,
      startsAt: new Date(now + durationMs(s.start)).toISOString(),
      ...(s.end !== undefined ? { endsAt: new Date(now + durationMs(s.end)).toISOString() } : {}),
      ...(s.devices ? { devices: s.devices.map((d) => world.device(d).eui) } : {}),
    });
    return outcome(`the Authority instructs ${s.contingency} to act for failed supplier ${s.failed}${durationMs(s.start) !== 0 ? ` from ${s.start}` : ''}${s.end !== undefined ? ` until ${s.end}` : ''}`);
  }
  if ('officer' in step) {
    const o = step.officer;
    await admin.officer(world.party(o.party).eui, { id: o.id, kind: o.kind, name: o.id });
    return outcome(`${o.party} appoints ${o.kind} ${o.id}`);
  }
  if ('adt' in step) {
    const a = step.adt;
    const body = {
      submittedBy: a.by,
      ...(a.supplier ? { supplier: world.party(a.supplier).eui } : {}),
      thresholds: a.thresholds.map((t) => ({ srv: t.srv, warning: t.warning, quarantine: t.quarantine, periodSeconds: Math.max(1, Math.round(durationMs(t.period) / 1000)) })),
    };
    const title = `${a.by} submits an ADT file for ${a.party}${a.supplier ? ` covering ${a.supplier}'s devices` : ''}`;
    try {
      await admin.adt(world.party(a.party).eui, body);
      if (a.expect === 'refused') fail(`${title}: expected the DCC to refuse it, but it was accepted`);
    } catch (e) {
      if (!(e instanceof AdminError) || e.status !== 400) throw e;
      if (a.expect === 'accepted') fail(`${title}: refused: ${e.message}`);
    }
    return outcome(title);
  }
  if ('solr-contingency' in step) {
    const s = step['solr-contingency'];
    const sc = world.party(s.contingency).eui;
    await admin.solr({ failedSupplier: world.party(s.failed).eui, contingencyParty: sc, startsAt: world.now().toISOString() });
    await admin.officer(sc, { id: `${s.contingency}-sro`, kind: 'SRO', name: `${s.contingency} SRO` });
    const srvs = s['adt-srvs'] === 'all' ? world.dcc.service.options.eligibility.all().map((r) => r.srv) : s['adt-srvs'];
    const thresholds = srvs.map((srv) => ({ srv, warning: Math.max(0, s.quarantine - 1), quarantine: s.quarantine, periodSeconds: 86_400 }));
    await admin.adt(sc, { submittedBy: `${s.contingency}-sro`, supplier: world.party(s.failed).eui, thresholds });
    return outcome(`${s.failed} fails: the Authority instructs ${s.contingency}, whose SRO submits an ADT file for ${s.failed}'s devices`);
  }
  if ('advance' in step) {
    const ms = durationMs(step.advance);
    world.advance(ms);
    await unlessStopped(world.settle(), ctx.signal);
    // Every clock moved: what the future-dated changes that fell due write may change (the runner works it out).
    return { ...outcome(`time passes: ${step.advance}`), clockMoved: true };
  }
  if ('revoke' in step) {
    const r = step.revoke;
    const holder = r.party ?? r.device!;
    const delayed = r.delay !== undefined ? { effectiveAt: new Date(world.now().getTime() + durationMs(r.delay)).toISOString(), orderedBy: 'PMA' } : {};
    for (const c of certificatesToRevoke(world, r)) await admin.revoke(c.serial, { issuer: c.issuer, ...delayed });
    return outcome(`SMKI revokes ${holder}'s ${r.certificate === 'all' ? 'certificates' : r.certificate}${r.delay !== undefined ? ` (PMA delay ${r.delay})` : ''}`);
  }
  if ('certificate' in step) {
    const c = step.certificate;
    const title = `${c.party} asks SMKI for a ${c.product} certificate`;
    try {
      await admin.certificate(world.party(c.party).eui, c.product, c.role);
      if (c.expect === 'refused') fail(`${title}: expected a refusal, but SMKI issued it`);
    } catch (e) {
      if (!(e instanceof AdminError) || e.status !== 403) throw e;
      if (c.expect === 'issued') fail(`${title}: refused: ${e.message}`);
      const requirement = (e.body as { requirement?: string } | null)?.requirement;
      if (c.requirement && requirement !== c.requirement) fail(`${title}: refused, but for ${requirement ?? 'no stated requirement'}, not ${c.requirement}`);
    }
    return outcome(title);
  }
  if ('expect-alert' in step) {
    const a = step['expect-alert'];
    const party = world.party(a.at);
    const deviceEui = a.device ? world.device(a.device).eui : undefined;
    const match = (d: Delivery) =>
      d.response?.body.kind === 'DeviceAlertMessage' && d.response.body.alertCode === a.code && (!deviceEui || d.response.header.responseId?.originator === deviceEui);
    const title = `${a.at} ${a.absent ? 'receives no' : 'receives a'} ${a.code} alert${a.device ? ` from ${a.device}` : ''}`;
    await unlessStopped(world.settle(), ctx.signal);
    // Alerts a positive expect-alert counted are spent; any other that arrived, in this step or before, counts.
    if (a.absent) {
      await sleep(durationMs(a.within), undefined, ctx.signal ? { signal: ctx.signal } : {});
      if (party.endpoint.hasUnclaimed(match)) fail(`${title}: one arrived`);
    } else {
      try {
        await unlessStopped(party.endpoint.claim(match, durationMs(a.within), `${a.code} alert`), ctx.signal);
      } catch (e) {
        if (ctx.signal?.aborted) throw e;
        fail(`${title}: ${(e as Error).message}`);
      }
    }
    return outcome(title);
  }
  if ('expect-state' in step) {
    const s = step['expect-state'];
    // A step that names nothing to check would pass whatever the meter's state: a mistake in the scenario.
    if (Object.keys(s).every((k) => k === 'device' || s[k as keyof typeof s] === undefined)) {
      throw new InfrastructureError(`expect-state for ${s.device} names nothing to check (give paymentMode, pending, supply, meterBalance or securityEvent)`);
    }
    const snap = world.pool.snapshot(world.device(s.device).eui) as
      | { paymentMode?: string; supply?: string; meterBalance?: number; pending?: { paymentMode?: { change?: { mode?: string } } | null } }
      | undefined;
    if (!snap) throw new InfrastructureError(`no snapshot of ${s.device}`);
    // A real meter shows only what can be read from it (a ZigBee ESME: its payment mode): asking for more is not
    // something the meter got wrong.
    const asked = { securityEvent: 'securityLog', paymentMode: 'paymentMode', supply: 'supply', meterBalance: 'meterBalance', pending: 'pending' } as const;
    for (const [field, key] of Object.entries(asked)) {
      if (s[field as keyof typeof asked] !== undefined && !(key in snap)) throw new InfrastructureError(`${s.device}: its observed state has no ${key} (it shows ${Object.keys(snap).join(', ')})`);
    }
    if (s.securityEvent) {
      const log = (snap as { securityLog?: { code: string }[] }).securityLog ?? [];
      if (!log.some((e) => e.code === s.securityEvent)) fail(`${s.device}: no ${s.securityEvent} entry in its Security Log (has ${log.map((e) => e.code).join(', ') || 'none'})`);
    }
    if (s.paymentMode && snap.paymentMode !== s.paymentMode) fail(`${s.device}: payment mode is ${snap.paymentMode}, expected ${s.paymentMode}`);
    if (s.supply && snap.supply !== s.supply) fail(`${s.device}: supply is ${snap.supply}, expected ${s.supply}`);
    if (s.meterBalance !== undefined && snap.meterBalance !== s.meterBalance) fail(`${s.device}: meter balance is ${snap.meterBalance}, expected ${s.meterBalance}`);
    if (s.pending) {
      const pending = snap.pending?.paymentMode?.change?.mode ?? 'none';
      if (pending !== s.pending) fail(`${s.device}: pending payment mode change is ${pending}, expected ${s.pending}`);
    }
    const facts = [
      s.paymentMode && `in ${s.paymentMode} mode`,
      s.pending && `with ${s.pending === 'none' ? 'no' : s.pending} change pending`,
      s.supply && `with supply ${s.supply}`,
      s.meterBalance !== undefined && `with balance ${s.meterBalance}`,
      s.securityEvent && `and logged ${s.securityEvent}`,
    ];
    return outcome(`${s.device} is ${facts.filter(Boolean).join(' ')}`);
  }
  if ('link-fault' in step) {
    const f = step['link-fault'];
    if (!world.pool.injectFault) throw new InfrastructureError(`the ${world.pool.target} device pool cannot inject link faults`);
    world.pool.injectFault({ action: f.action, direction: f.direction, times: f.times, ...(f.part ? { part: f.part } : {}), ...(f.delay !== undefined ? { delayMs: durationMs(f.delay) } : {}) });
    return outcome(`the link will ${f.action} the next ${f.times === 1 ? 'frame' : `${f.times} frames`} ${f.direction}${f.part ? ` (${f.part})` : ''}`);
  }
  if ('every-other-srv' in step) {
    const e = step['every-other-srv'];
    const srvs = world.dcc.service.options.eligibility
      .all()
      .map((r) => r.srv)
      .filter((s) => !e.except.includes(s));
    const wrong: string[] = [];
    const sender = world.party(e.as);
    const device = world.device(e.to);
    if (sender.roles.includes('SC')) ctx.solrReached?.add(device.eui);
    for (const srv of srvs) {
      ctx.signal?.throwIfAborted();
      const row = world.dcc.service.options.eligibility.get(srv)!;
      const cv = row.nonDevice ? 8 : row.critical && device.plan.type !== 'SMETS1' ? 4 : 1;
      const request = sender.agent.request({ target: device.eui, srv: srv as ServiceReferenceVariant, cv: cv as never, body: bodyFor({ srv } as RequestStep, world) });
      const r = await sender.agent.post(cv === 4 ? 'serviceT' : cv === 8 ? 'serviceD' : 'serviceS', request, undefined, ctx.signal);
      if (replyCode(r) !== e.expect) wrong.push(`${srv}: ${replyCode(r)}`);
    }
    if (wrong.length) fail(`expected ${e.expect} for every SRV but ${e.except.join(', ')}; got ${wrong.join('; ')}`);
    const out = outcome(`${e.as} sends each of the ${srvs.length} other SRVs to ${e.to}: all ${e.expect}`);
    if (world.party(e.as).roles.includes('SC')) out.solrTouched.add(device.eui);
    return out;
  }
  throw new InfrastructureError(`unknown step ${Object.keys(step)[0]}`);
}
