/**
 * A simulated DCC User: builds DUIS Service Requests, signs them with its XML Signing key, posts them to the
 * DCC's DCC Boxed URLs, verifies the DCC's signed replies, and for critical commands signs the Pre-Command the
 * DCC returns with a GBCS Digital Signing key (a supplier's own, or for the SoLR Contingency role the failed
 * supplier's key its HSM still holds) and sends it back as the Signed Pre-Command.
 */
import type { KeyObject } from 'node:crypto';
import {
  type CommandVariant,
  type DuisRequest,
  type DuisResponse,
  parseRequest,
  type RequestBody,
  type RequestId,
  type ServiceReferenceVariant,
  serviceReferenceOf,
  signRequest,
  type SignerResolver,
  verifyResponse,
  type XmlSigner,
} from '../../protocol/duis/index.ts';
import { decodeGeneralSigning, encodeGeneralSigning, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { formatMessageCode, useCaseByCode, useCasesForSrv } from '../../protocol/gbcs/message-codes.ts';
import { signApdu } from '../../protocol/gbcs/security.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import { notTheAnswer } from './dcc-verifier.ts';

export type DccUrl = 'serviceT' | 'serviceS' | 'serviceD';

export interface DccReply {
  status: number;
  text: string;
  /** The parsed DUIS response when the DCC answered with one and its signature verified. */
  response: DuisResponse | null;
  /**
   * Why a 200 answer was not accepted as the DCC's response: bad signature, not DUIS, not the answer to the
   * request sent, or (critical()) a Pre-Command other than the one asked for.
   */
  problem: string | null;
}

/** Strictly increasing counters shared by every agent of a run: time-based, so later Users outrank earlier ones. */
export class CounterSource {
  private last = 0n;

  next(): bigint {
    const t = BigInt(Date.now()) * 1000n;
    this.last = t > this.last ? t : this.last + 1n;
    return this.last;
  }
}

export interface UserIdentity {
  eui: Eui;
  name: string;
  xml: XmlSigner;
  /** The GBCS Digital Signing key this User signs Pre-Commands with, when it has one. */
  gbcsSigner?: KeyObject;
}

export interface AgentOptions {
  dccUrl: string;
  counters: CounterSource;
  /** Resolves the DCC's XML Signing certificate, to verify its replies. */
  dccVerifier: SignerResolver<unknown>;
  timeoutMs?: number;
  /** Sees every request and reply (the harness records traffic per step). */
  onTraffic?: (event: { direction: 'user->dcc' | 'dcc->user'; user: Eui; url: DccUrl; status?: number; payload: string }) => void;
}

export interface RequestSpec {
  target: Eui;
  srv: ServiceReferenceVariant;
  cv: CommandVariant;
  body: RequestBody;
  counter?: bigint;
}

export interface CriticalResult {
  transform: DccReply;
  send: DccReply | null;
  /** The Pre-Command the DCC returned, when the agent signed it. */
  preCommand: Buffer | null;
  /** The Signed Pre-Command as sent in CV 5 (after any tamper): the command the device answers (checkDeviceAnswer). */
  command: GeneralSigning | null;
  signedXml: string | null;
  requestId: DuisRequest['header']['requestId'];
}

export class UserAgent {
  constructor(
    readonly identity: UserIdentity,
    private readonly options: AgentOptions,
  ) {}

  get eui(): Eui {
    return this.identity.eui;
  }

  request(spec: RequestSpec): DuisRequest {
    return {
      schemaVersion: '5.4',
      header: {
        requestId: { user: this.identity.eui, target: spec.target, counter: spec.counter ?? this.options.counters.next() },
        commandVariant: spec.cv,
        serviceReference: serviceReferenceOf(spec.srv),
        serviceReferenceVariant: spec.srv,
      },
      body: spec.body,
    };
  }

  sign(request: DuisRequest, signer: XmlSigner = this.identity.xml): string {
    return signRequest(request, signer);
  }

  /**
   * Posts XML (signed by the caller or by this agent) to a DCC URL and checks the DCC's signature on the reply,
   * and that it answers `sent` (XML is read for its RequestID unless the caller, who built it, says which).
   * `signal` abandons the exchange (the caller was stopped): the promise rejects with its reason.
   */
  async post(
    url: DccUrl,
    request: DuisRequest | string,
    sent: RequestId | null = typeof request === 'string' ? requestIdIn(request) : request.header.requestId,
    signal?: AbortSignal,
  ): Promise<DccReply> {
    const xml = typeof request === 'string' ? request : this.sign(request);
    this.options.onTraffic?.({ direction: 'user->dcc', user: this.identity.eui, url, payload: xml });
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const res = await fetch(`${this.options.dccUrl}/api/v1/${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: xml,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    this.options.onTraffic?.({ direction: 'dcc->user', user: this.identity.eui, url, status: res.status, payload: text });
    if (res.status !== 200) return { status: res.status, text, response: null, problem: null };
    const verified = verifyResponse(text, this.options.dccVerifier);
    if (!verified.ok) return { status: res.status, text, response: null, problem: `DCC reply rejected: ${verified.error.toString()}` };
    const wrong = sent && notTheAnswer(verified.value.response, sent);
    if (wrong) return { status: res.status, text, response: null, problem: `DCC reply rejected: ${wrong}` };
    return { status: res.status, text, response: verified.value.response, problem: null };
  }

  /** Signs a Pre-Command with this User's GBCS key (or `key`) as the Signed Pre-Command. */
  signPreCommand(preCommand: Uint8Array, key: KeyObject | undefined = this.identity.gbcsSigner): Buffer {
    if (!key) throw new Error(`${this.identity.name} holds no GBCS Digital Signing key to sign a Pre-Command with`);
    const d = decodeGeneralSigning(preCommand);
    if (!d.ok) throw new Error(`the Pre-Command does not decode: ${d.error.toString()}`);
    return encodeGeneralSigning(signApdu(d.value, key));
  }

  /**
   * The two halves of a critical request: CV 4 to serviceT, then (if the DCC returned a Pre-Command) the
   * Signed Pre-Command as CV 5 to serviceS with the same RequestID. `tamper` may change the signed APDU first.
   * Like a User's HSM, the agent signs only the Pre-Command it asked for: a command to the request's device,
   * with its counter, of a use case of its SRV (for SRV 1.6, of the payment mode asked for), and from
   * `originator` when given (whose key signs it: the User, or for the SoLR Contingency role the failed
   * supplier; the agent cannot tell from a key). Any other comes back as a rejected transform reply. `signal`
   * abandons both exchanges, as for post().
   */
  async critical(
    spec: Omit<RequestSpec, 'cv'>,
    options: { tamper?: (apdu: GeneralSigning) => GeneralSigning; signWith?: KeyObject; xmlSigner?: XmlSigner; originator?: Eui; signal?: AbortSignal } = {},
  ): Promise<CriticalResult> {
    const cv4 = this.request({ ...spec, cv: 4 });
    const transform = await this.post('serviceT', this.sign(cv4, options.xmlSigner), cv4.header.requestId, options.signal);
    const content = transform.response?.body.kind === 'ResponseMessage' ? transform.response.body.content : undefined;
    if (transform.response?.header.responseCode !== 'I0' || content?.kind !== 'PreCommand') {
      return { transform, send: null, preCommand: null, command: null, signedXml: null, requestId: cv4.header.requestId };
    }
    const preCommand = Buffer.from(content.gbcsPayload);
    const wrong = preCommandProblem(preCommand, cv4, options.originator);
    if (wrong) {
      return { transform: { ...transform, response: null, problem: `Pre-Command refused: ${wrong}` }, send: null, preCommand: null, command: null, signedXml: null, requestId: cv4.header.requestId };
    }
    const d = decodeGeneralSigning(this.signPreCommand(preCommand, options.signWith));
    if (!d.ok) throw new Error(d.error.toString());
    const command = options.tamper ? options.tamper(d.value) : d.value;
    const cv5: DuisRequest = { ...cv4, header: { ...cv4.header, commandVariant: 5 }, body: { kind: 'SignedPreCommand', gbcsPayload: encodeGeneralSigning(command) } };
    const signedXml = this.sign(cv5, options.xmlSigner);
    const send = await this.post('serviceS', signedXml, cv4.header.requestId, options.signal);
    return { transform, send, preCommand, command, signedXml, requestId: cv4.header.requestId };
  }
}

/** Why a Pre-Command is not the one `request` asked for, or null when it is. */
function preCommandProblem(preCommand: Uint8Array, request: DuisRequest, originator: Eui | undefined): string | null {
  const d = decodeGeneralSigning(preCommand);
  if (!d.ok) return `it does not decode: ${d.error.toString()}`;
  const a = d.value;
  const { requestId, serviceReferenceVariant: srv } = request.header;
  if (a.cra !== 'command') return `it is a ${a.cra}, not a command`;
  if (a.recipient !== requestId.target) return `it is addressed to ${a.recipient}, not to ${requestId.target}, the request's device`;
  if (a.counter !== requestId.counter) return `its counter is ${a.counter}, not ${requestId.counter}, the RequestID's`;
  if (originator && a.originator !== originator) return `its originator is ${a.originator}, not ${originator}`;
  const codes = preCommandCodes(srv, request.body);
  if (codes.length > 0 && !codes.includes(a.messageCode)) {
    const name = useCaseByCode(a.messageCode)?.name ?? 'no use case this User knows';
    return `its message code ${formatMessageCode(a.messageCode)} (${name}) is not one SRV ${srv} asks for (${codes.map(formatMessageCode).join(', ')})`;
  }
  return null;
}

/** The message codes of SRV `srv`'s critical use cases (for SRV 1.6 those of the mode asked for); none known: empty. */
function preCommandCodes(srv: string, body: RequestBody): number[] {
  const mode = body.kind === 'UpdatePaymentMode' ? (body.paymentMode.mode === 'Credit' ? ['ECS02', 'GCS02'] : ['ECS03', 'GCS03']) : null;
  return useCasesForSrv(srv)
    .filter((u) => u.critical && (!mode || mode.includes(u.name)))
    .map((u) => u.code);
}

/** The RequestID of a request given as XML, when it reads as one (a deliberately broken one may not). */
function requestIdIn(xml: string): RequestId | null {
  const r = parseRequest(xml);
  return r.ok ? r.value.header.requestId : null;
}
