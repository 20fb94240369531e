/**
 * The SoLR Contingency User of one shard, talking to its DCC shard in-process (DccService.handle: the same
 * gateway, checks and signing as behind HTTP; the HTTP layer itself is exercised by the PIT pack). Each job is
 * the full DUIS conversation: every request XML-signed with the party's own XML Signing key, every DCC reply and
 * every asynchronous delivery verified against the DCC's XML Signing certificate, Pre-Commands signed with the
 * failed supplier's GBCS key that the party's HSM still holds. Nothing is reused across jobs but keys.
 */
import type { KeyObject } from 'node:crypto';
import type { UrlKind } from '../../emulator/access/checks.ts';
import type { DccService } from '../../emulator/service.ts';
import {
  type DuisRequest,
  type DuisResponse,
  formatRequestId,
  type RequestBody,
  type ServiceReferenceVariant,
  serviceReferenceOf,
  signRequest,
  type SignerResolver,
  verifyResponse,
  type XmlSigner,
} from '../../protocol/duis/index.ts';
import { decodeGeneralSigning, encodeGeneralSigning, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { signApdu } from '../../protocol/gbcs/security.ts';
import { buildPaymentModeContent } from '../../protocol/gbcs/usecases/payment-mode.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import { notTheAnswer } from '../agents/dcc-verifier.ts';
import { checkDeviceAnswer, type ExpectedAnswer } from '../agents/device-answer.ts';
import { SRV_BODY_ELEMENT } from '../agents/srv-bodies.ts';
import { ADVERSARIAL_KINDS, type JobKind, type MeterSpec } from './plan.ts';

export interface FleetUserKeys {
  eui: Eui;
  xml: XmlSigner;
  /** The failed supplier's GBCS Digital Signing key (the SoLR Contingency party's HSM keeps it). */
  failedSupplierDs: KeyObject;
  /** The failed supplier: the originator of every command the role's requests make (its meters' answers go to it). */
  failedSupplier: Eui;
}

/** How a job ended, as the User saw it. */
export type Outcome =
  | { kind: 'executed'; code: string }
  | { kind: 'refused'; code: string; stage: 'transform' | 'send' }
  | { kind: 'failed'; reason: string };

/**
 * The refusal each adversarial kind must get: the code of the control it tests. Refused any other way (HTTP 503,
 * a replay's 409, another check's code), the control was not what stopped it, and the job fails.
 */
const EXPECTED_REFUSAL: Record<Exclude<JobKind, 'switch'>, string> = { prepayment: 'E2', 'other-srv': 'E2', altered: 'E12', 'other-supplier': 'E4' };

/** SRVs the SoLR Contingency role may not send (E2), one per adversarial "other SRV" request in turn. */
const OTHER_SRVS: readonly ServiceReferenceVariant[] = ['2.1', '1.5', '7.2', '4.3', '2.2', '6.15.1'] as ServiceReferenceVariant[];

const CREDIT: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };
const PREPAYMENT: RequestBody = {
  kind: 'UpdatePaymentMode',
  paymentMode: { mode: 'Prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 },
};

type Posted = { ok: true; response: DuisResponse } | { ok: false; outcome: Outcome };

export class FleetUser {
  /** Jobs waiting for their asynchronous response, by RequestID (registered before the request is sent). */
  private readonly waiting = new Map<string, (r: DuisResponse | string) => void>();
  /** Deliveries nobody was waiting for, or that did not verify: each one a problem for the run. */
  stray = 0;

  constructor(
    private readonly dcc: DccService,
    private readonly keys: FleetUserKeys,
    private readonly dccVerifier: SignerResolver<unknown>,
    /** A switched meter's Digital Signing key, as SMKI's Device certificate has it (null: none known). */
    private readonly deviceSigningKey: (device: Eui) => KeyObject | null,
    private readonly asyncTimeoutMs = 120_000,
  ) {}

  /**
   * The User's endpoint: the DCC's outbox delivers here. Every delivery is taken (2xx): one that does not verify
   * or that no job waits for is counted, not refused, so the outbox does not retry it for ever.
   */
  receive(xml: string): number {
    const v = verifyResponse(xml, this.dccVerifier);
    const id = v.ok ? v.value.response.header.requestId : undefined;
    if (!v.ok || !id) {
      this.stray++;
      return 200;
    }
    const key = formatRequestId(id);
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      w(v.value.response);
    } else {
      this.stray++;
    }
    return 200;
  }

  /** `ordinal`: an adversarial job's place among the fleet's, which picks its variant (which SRV, which alteration). */
  async run(kind: JobKind, meter: MeterSpec, counter: bigint, ordinal = -1): Promise<Outcome> {
    const o = await this.send(kind, meter, counter, Math.floor(Math.max(ordinal, 0) / ADVERSARIAL_KINDS.length));
    if (kind === 'switch' || o.kind !== 'refused' || o.code === EXPECTED_REFUSAL[kind]) return o;
    return { kind: 'failed', reason: `${kind} was refused with ${o.code} at ${o.stage}, not ${EXPECTED_REFUSAL[kind]}: the control it tests did not decide it` };
  }

  private async send(kind: JobKind, meter: MeterSpec, counter: bigint, turn: number): Promise<Outcome> {
    const smets1 = meter.type === 'SMETS1';
    switch (kind) {
      case 'switch':
      case 'other-supplier':
        return smets1 ? this.commandVariant1(meter, counter, '1.6', CREDIT) : this.critical(meter, counter, CREDIT);
      case 'prepayment':
        return smets1 ? this.commandVariant1(meter, counter, '1.6', PREPAYMENT) : this.critical(meter, counter, PREPAYMENT);
      case 'altered':
        return this.critical(meter, counter, CREDIT, turn % 2 === 0 ? 'to-prepayment' : 'counter');
      case 'other-srv': {
        const srv = OTHER_SRVS[turn % OTHER_SRVS.length]!;
        const body: RequestBody = {
          kind: 'opaque',
          name: SRV_BODY_ELEMENT[srv] as never,
          element: { uri: 'http://www.dccinterface.co.uk/ServiceUserGateway', prefix: 'sr', local: SRV_BODY_ELEMENT[srv]!, attributes: [], namespaces: [], children: [] } as never,
        };
        const critical = this.dcc.options.eligibility.get(srv)?.critical ?? false;
        if (critical && !smets1) return this.transformOnly(meter.eui, counter, srv, body);
        return this.commandVariant1(meter, counter, srv, body);
      }
    }
  }

  private request(target: Eui, counter: bigint, srv: ServiceReferenceVariant, cv: 1 | 4, body: RequestBody): DuisRequest {
    return {
      schemaVersion: '5.4',
      header: { requestId: { user: this.keys.eui, target, counter }, commandVariant: cv, serviceReference: serviceReferenceOf(srv), serviceReferenceVariant: srv },
      body,
    };
  }

  /** Signs, posts to the DCC and verifies the DCC's signed reply. */
  private async post(url: UrlKind, request: DuisRequest, stage: 'transform' | 'send'): Promise<Posted> {
    const reply = await this.dcc.handle(url, signRequest(request, this.keys.xml));
    if (reply.status !== 200) return { ok: false, outcome: { kind: 'refused', code: `HTTP ${reply.status}`, stage } };
    const v = verifyResponse(reply.body, this.dccVerifier);
    if (!v.ok) return { ok: false, outcome: { kind: 'failed', reason: `DCC reply does not verify: ${v.error.toString()}` } };
    const wrong = notTheAnswer(v.value.response, request.header.requestId);
    if (wrong) return { ok: false, outcome: { kind: 'failed', reason: `DCC reply rejected: ${wrong}` } };
    return { ok: true, response: v.value.response };
  }

  private async commandVariant1(meter: MeterSpec, counter: bigint, srv: ServiceReferenceVariant, body: RequestBody): Promise<Outcome> {
    const request = this.request(meter.eui, counter, srv, 1, body);
    return this.dispatched(request, meter, () => this.post('send', request, 'send'));
  }

  private async transformOnly(target: Eui, counter: bigint, srv: ServiceReferenceVariant, body: RequestBody): Promise<Outcome> {
    const r = await this.post('transform', this.request(target, counter, srv, 4, body), 'transform');
    if (!r.ok) return r.outcome;
    const code = r.response.header.responseCode;
    return code.startsWith('E') ? { kind: 'refused', code, stage: 'transform' } : { kind: 'failed', reason: `SRV ${srv} was transformed (${code})` };
  }

  /** CV 4 to the Transform service, sign the Pre-Command (optionally altered first), CV 5 to Send Command. */
  private async critical(meter: MeterSpec, counter: bigint, body: RequestBody, alter?: 'to-prepayment' | 'counter'): Promise<Outcome> {
    const cv4 = this.request(meter.eui, counter, '1.6', 4, body);
    const t = await this.post('transform', cv4, 'transform');
    if (!t.ok) return t.outcome;
    const code = t.response.header.responseCode;
    const b = t.response.body;
    if (code !== 'I0' || b.kind !== 'ResponseMessage' || b.content?.kind !== 'PreCommand') {
      return code.startsWith('E') ? { kind: 'refused', code, stage: 'transform' } : { kind: 'failed', reason: `transform answered ${code} without a Pre-Command` };
    }
    const d = decodeGeneralSigning(b.content.gbcsPayload);
    if (!d.ok) return { kind: 'failed', reason: `the Pre-Command does not decode: ${d.error.toString()}` };
    let apdu: GeneralSigning = d.value;
    if (alter === 'counter') apdu = { ...apdu, counter: apdu.counter + 1n };
    if (alter === 'to-prepayment') {
      const variant = meter.type === 'GSME' ? 'gsme' : meter.twin ? 'esme-twin' : 'esme';
      const target = { mode: 'prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: 0 } as const;
      apdu = { ...apdu, ...buildPaymentModeContent({ variant, change: { target, execution: { kind: 'now' } }, counter: apdu.counter }) };
    }
    const command = signApdu(apdu, this.keys.failedSupplierDs);
    const cv5: DuisRequest = { ...cv4, header: { ...cv4.header, commandVariant: 5 }, body: { kind: 'SignedPreCommand', gbcsPayload: encodeGeneralSigning(command) } };
    return this.dispatched(cv5, meter, () => this.post('send', cv5, 'send'), command);
  }

  /**
   * Sends a request that, if accepted (I99), is answered later through the endpoint. `command`: the command as
   * signed here (critical), which the meter's answer must match; a CV 1 command the DCC built is not known here.
   */
  private async dispatched(request: DuisRequest, meter: MeterSpec, send: () => Promise<Posted>, command?: GeneralSigning): Promise<Outcome> {
    const later = this.awaitDelivery(formatRequestId(request.header.requestId));
    const r = await send();
    if (!r.ok || r.response.header.responseCode !== 'I99') {
      later.cancel();
      if (!r.ok) return r.outcome;
      const code = r.response.header.responseCode;
      return code.startsWith('E') ? { kind: 'refused', code, stage: 'send' } : { kind: 'failed', reason: `Send Command answered ${code}` };
    }
    const delivered = await later.promise;
    if (typeof delivered === 'string') return { kind: 'failed', reason: delivered };
    const code = delivered.header.responseCode;
    const content = delivered.body.kind === 'ResponseMessage' ? delivered.body.content : undefined;
    if (code !== 'I0' || content?.kind !== 'GBCSPayload') return { kind: 'failed', reason: `the device's answer came back as ${code}` };
    const { target: device, counter } = request.header.requestId;
    const expected = { device, smets1: meter.type === 'SMETS1', counter, originator: command?.originator ?? this.keys.failedSupplier, execution: 'now' } as const;
    const problem = this.deviceAnswerProblem({ ...expected, ...(command ? { command } : {}) }, content.gbcsPayload);
    return problem ? { kind: 'failed', reason: problem } : { kind: 'executed', code };
  }

  /** What is wrong with the device's answer inside the DCC's delivery, if anything: it must say the switch was done. */
  private deviceAnswerProblem(expected: ExpectedAnswer, payload: Uint8Array): string | null {
    const a = checkDeviceAnswer(payload, expected, () => {
      const key = this.deviceSigningKey(expected.device);
      return { ds: key ? [key] : [], mac: null };
    });
    if (!a.ok) return a.problem;
    if (a.from === 's1sp') return a.status === 'executed' ? null : `the S1SP answered ${a.status}`;
    return a.success ? null : `the meter's response reports failure`;
  }

  private awaitDelivery(key: string): { promise: Promise<DuisResponse | string>; cancel(): void } {
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise<DuisResponse | string>((resolve) => {
      timer = setTimeout(() => {
        this.waiting.delete(key);
        resolve(`no response delivered for ${key} within ${this.asyncTimeoutMs} ms`);
      }, this.asyncTimeoutMs);
      this.waiting.set(key, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    return {
      promise,
      cancel: () => {
        clearTimeout(timer);
        this.waiting.delete(key);
      },
    };
  }
}

