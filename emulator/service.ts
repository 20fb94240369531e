/**
 * The mock DCC core: takes a DUIS Service Request as it arrives at a DCC Boxed URL and runs it through the DCC's
 * checks in order, then transforms, correlates, MACs and routes it, recording exactly one terminal outcome per
 * accepted request and queueing every asynchronous response and alert in the durable outbox.
 *
 *   gateway: parse (hardened) -> XML signature against SMKI status -> RequestID counter (anti-replay)
 *   access:  E1 -> E2 -> E3 (BR6) -> E19 -> E4 (BR4, BR6) -> E5 -> E11 -> E12/E17 -> E13
 *   then:    CV4 transform | CV5 correlation + SoLR content (BR5) | CV1 SMETS1 content (BR5)
 *            -> anomaly detection (quarantine, AD1) -> ACB MAC -> device
 */
import type { KeyObject } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type DuisRequest,
  type DuisResponse,
  formatDateTime,
  formatRequestId,
  parseRequest,
  parseRequestId,
  type ResponseCode,
  type ResponseContent,
  serviceReferenceOf,
  type ServiceReferenceVariant,
  signResponse,
  type SignerResolver,
  verifyRequest,
  type XmlSigner,
} from '../protocol/duis/index.ts';
import { decodeGeneralSigning, encodeGeneralCiphering, type GeneralSigning } from '../protocol/gbcs/apdu.ts';
import { formatMessageCode } from '../protocol/gbcs/message-codes.ts';
import { parseFutureDatedAlert } from '../protocol/gbcs/usecases/alerts.ts';
import { checkReply, decodeS1sp } from '../protocol/s1sp/frame.ts';
import { wrapCommand, wrapNonCriticalCommand } from '../protocol/gbcs/security.ts';
import type { Eui } from '../protocol/smki/eui.ts';
import type { AgreementPublic } from '../protocol/smki/keys.ts';
import { RemotePartyRole, type UserRole } from '../protocol/smki/roles.ts';
import { countsAsValid } from '../protocol/smki/revocation-register.ts';
import type { SmkiService } from '../protocol/smki/smki-service.ts';
import { AnomalyDetection } from './anomaly.ts';
import { type AccessDecision, checkAccess, type Refusal, type UrlKind } from './access/checks.ts';
import type { EligibilityTable } from './access/srv-matrix.ts';
import type { Clock } from './clock.ts';
import { GroupCommit, isStoreRefusal } from './group-commit.ts';
import { NO_ENDPOINT_YET, Outbox, type OutboxKind, type OutboxOptions } from './outbox.ts';
import type { DevicePort, DeviceReply } from './ports.ts';
import { type DeviceRecord, type Party, type PartyInput, readPartyUpdate, Registry } from './registry.ts';
import { BadInput } from './schemas.ts';
import { SolrEvents } from './solr.ts';
import { type Db, type Page, pagedQuery } from './store.ts';
import { correlate, PreCommands, preCommandOriginator, sameIssue, scContentCheck, smets1ContentCheck, type Transformer, transformDeviceService, transformPaymentMode } from './transform.ts';
import { DEVICE_SERVICE_SRVS } from '../protocol/transform/device-services.ts';
import { TransformError } from '../protocol/transform/payment-mode.ts';
import { smets1Operation } from './s1sp.ts';
import { dropUnstoredCertificates, reloadRevocations } from './smki-store.ts';

/**
 * Seeded defects: each switches one control off or weakens it, for negative-control runs that must turn the
 * MP134B PIT pack red. Never set in normal operation.
 */
export const DEFECTS = {
  'sc-allowed-ecs03': 'the SoLR content check lets a switch to prepayment through',
  'sc-dated-unbounded': 'the SoLR content check lets a switch to Credit be dated any distance ahead (replacing the change pending on the meter)',
  'content-check-message-code-only': 'the SoLR content check reads only the message code (SMETS1: only that the request is UpdatePaymentMode)',
  'skip-correlation': 'Signed Pre-Commands are not compared with the Pre-Command the DCC issued',
  'accept-revoked-certificate': 'revoked XML Signing certificates still authenticate requests',
  'ignore-adt': 'ADT files neither scope the SoLR Contingency role nor quarantine',
  'drop-alerts-after-revocation': "alerts for a failed supplier's devices are not routed to its SRP",
  'skip-solr-event-check': 'the SoLR Contingency role may act without an Authority instruction',
  'skip-eligibility': 'every role may send every SRV',
  'skip-device-authorisation': 'any role may address any device',
  'skip-smets1-content-check': 'SMETS1 requests from the SoLR Contingency role are not content-checked',
  'skip-request-counter': 'RequestID counters are not checked for replays',
  'skip-user-status': 'a User whose status forbids it (a failed supplier) may still send requests',
  'skip-signature-check': "requests are not checked against their XML signature (the RequestID's User is believed)",
  'sc-issued-digital-signing': 'SMKI issues the SoLR Contingency role Digital Signing certificates',
} as const;
export type Defect = keyof typeof DEFECTS;

/** The longest refusal reason sent back or stored, in characters. */
const MAX_REASON = 1000;

export interface DccKeys {
  /** The DCC's XML Signing key (role 137) and its IssuerSerial: signs every DUIS response. */
  xmlSigner: XmlSigner;
  dccEui: Eui;
  /** The ACB's Key Agreement private key: the MAC on every Command. */
  acbKaPrivate: KeyObject;
}

export interface DccOptions {
  db: Db;
  clock: Clock;
  smki: SmkiService;
  eligibility: EligibilityTable;
  keys: DccKeys;
  devices: DevicePort;
  /** Every User's responses go here instead of their registered endpoint (DCC Boxed's single callback). */
  callback?: string;
  deviceTimeoutMs?: number;
  outbox?: OutboxOptions;
  defects?: readonly Defect[];
  /**
   * Device Key Agreement public keys for devices SMKI holds no Device certificate for: a directory vouched for
   * in bulk (fleet runs, where issuing a certificate per meter is out of reach). SMKI is asked first.
   */
  deviceKeyDirectory?: (device: DeviceRecord) => AgreementPublic | null;
  /** Schema validation of every request (slow: libxml2 in WebAssembly); the built-in structural checks always run. */
  validateSchema?: (xml: string) => Promise<string | null>;
  gbcsVersion?: string;
}

/** What a DUIS response echoes of the request it answers. */
type Answered = Pick<DuisRequest, 'schemaVersion'> & { header: Pick<DuisRequest['header'], 'requestId' | 'serviceReference' | 'serviceReferenceVariant'> };

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
}

export interface RequestRecord {
  id: number;
  requestId: string;
  user: string;
  role: string | null;
  srv: string;
  cv: number;
  target: string;
  url: string;
  receivedAt: string;
  outcome: string | null;
  responseCode: string | null;
  reason: string | null;
  check: string | null;
  terminalAt: string | null;
  dispatched: boolean;
}

const TEXT = 'text/plain; charset=utf-8';
const XML = 'application/xml';

export class DccService {
  readonly registry: Registry;
  readonly solr: SolrEvents;
  readonly anomaly: AnomalyDetection;
  readonly outbox: Outbox;
  /** Parties a GBCS Organisation certificate is being issued to, and how many issues are under way. */
  private readonly gbcsIssuing = new Map<Eui, number>();
  /** Writes of one event-loop turn share a COMMIT; replies, Commands and deliveries wait for it (group-commit.ts). */
  private readonly commits: GroupCommit;
  private readonly preCommands: PreCommands;
  private readonly defects: ReadonlySet<string>;
  private readonly deviceTimeoutMs: number;
  private readonly transformers = new Map<string, Transformer>([['1.6', transformPaymentMode], ...DEVICE_SERVICE_SRVS.map((srv): [string, Transformer] => [srv, transformDeviceService])]);
  private readonly inFlight = new Set<Promise<void>>();
  /** Aborted by stop(): a device's answer still waiting to be recorded is then left to the restart (E21). */
  private readonly stopping = new AbortController();
  private dccCounter = BigInt(Date.now()) * 1000n;
  private unsubscribeAlerts: (() => void) | null = null;

  constructor(readonly options: DccOptions) {
    this.registry = new Registry(options.db);
    // An instruction (or its end) may change where a supplier's waiting alerts go (BR7).
    this.solr = new SolrEvents(options.db, () => this.outbox.rerouteWaitingNow());
    this.anomaly = new AnomalyDetection(options.db);
    this.preCommands = new PreCommands(options.db);
    this.commits = new GroupCommit(options.db, () => {
      this.registry.forget();
      this.solr.forget();
      this.anomaly.forget();
      reloadRevocations(options.db, options.smki);
      dropUnstoredCertificates(options.db, options.smki);
    });
    this.outbox = new Outbox(options.db, { now: () => this.now(), ...options.outbox }, this.commits, (m) => this.rerouteAlert(m) ?? this.rerouteToCurrentEndpoint(m));
    this.defects = new Set(options.defects ?? []);
    this.deviceTimeoutMs = options.deviceTimeoutMs ?? 30_000;
  }

  get db(): Db {
    return this.options.db;
  }

  now(): Date {
    return this.options.clock.now();
  }

  /**
   * Starts delivering, settles what a previous run left in flight (a Command sent but never answered gets its
   * terminal outcome now: E21, the device's answer was lost with the process), and listens for alerts.
   */
  start(): void {
    const open = this.db.prepare('SELECT id FROM requests WHERE outcome IS NULL').all() as { id: number }[];
    for (const { id } of open) this.settleLost(id);
    this.unsubscribeAlerts = this.options.devices.onAlert((device, frame) => this.routeAlert(device, frame));
    // What waits goes where each User's messages go now: a callback given at this start takes what was kept.
    this.commits.write(() => {
      for (const p of this.registry.parties()) {
        const endpoint = this.endpointOf(p);
        if (endpoint) this.outbox.route(p.eui, endpoint);
      }
      this.outbox.rerouteWaiting();
    });
    this.outbox.start();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.unsubscribeAlerts?.();
    await Promise.allSettled([...this.inFlight]);
    await this.outbox.stop();
    this.commits.flush();
  }

  /** Resolves when every dispatched command has its outcome and every queued message is delivered. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.outbox.idle();
    await this.commits.durable();
  }

  /** Resolves once everything the DCC has written so far is committed (before an answer leaves the DCC). */
  durable(): Promise<void> {
    return this.commits.durable();
  }

  /**
   * Runs `step`, which writes to the store, within the DCC's group commit: once SQLite has lost the open group, it is
   * refused (StoreCommitError) and changes nothing, where a write of its own would commit alone while the caller
   * is told the group failed. For the admin's writes (instructions, ADT files, officers, devices, certificates,
   * revocations, the clock).
   */
  write<T>(step: () => T): T {
    return this.commits.write(step);
  }

  /** A mark taken before work that writes and awaits: `durableSince` then covers every write it made. */
  commitMark(): number {
    return this.commits.mark();
  }

  /** Resolves once every write made since `mark` is committed; rejects if any of it was lost. */
  durableSince(mark: number): Promise<void> {
    return this.commits.durableSince(mark);
  }

  /**
   * Registers or updates a party; what was kept for it while it had no endpoint goes out once it has one, and
   * alerts waiting for a route go where it now sends them (a supplier that failed, or named its SRP, BR7).
   */
  putParty(input: PartyInput): Party {
    // Read as the registry reads it: the certificates are looked up under the canonical EUI, however it was spelled.
    const update = readPartyUpdate(input);
    // An EUI names one organisation: a User registered as the DCC would be issued certificates devices trust as the ACB's.
    if (update.eui === this.options.keys.dccEui) throw new BadInput(`eui: ${update.eui} is the DCC's own EUI (its Access Control Broker's too), not a party's`);
    if (update.roles?.includes('SC')) this.refuseScWithGbcsCertificates(update.eui);
    const party = this.commits.write(() => {
      const p = this.registry.putParty(input);
      const endpoint = this.endpointOf(p);
      if (endpoint) this.outbox.route(p.eui, endpoint);
      this.outbox.rerouteWaiting();
      return p;
    });
    this.outbox.kick();
    return party;
  }

  /**
   * MP134B BR2: the SC role holds no Digital Signing (nor GBCS Key Agreement) certificate. A party that holds one
   * (issued in another role) cannot take the SC role until they are revoked: one not yet valid, or expired, counts
   * too, as the DCC's clock may yet be set into its validity.
   */
  private refuseScWithGbcsCertificates(eui: Eui): void {
    if (this.gbcsIssuing.has(eui)) throw new BadInput(`roles: a GBCS Organisation certificate is being issued to ${eui}, and a party in the SC role holds none (MP134B BR2)`);
    const now = this.now();
    const smki = this.options.smki;
    const held = smki
      .find({ eui })
      .filter((e) => (e.product === 'organisation-ds' || e.product === 'organisation-ka') && smki.status({ issuer: e.certificate.issuer, serial: e.certificate.serial }, now).state !== 'revoked');
    if (held.length) throw new BadInput(`roles: a party in the SC role holds no GBCS Organisation certificate (MP134B BR2), and ${eui} holds ${held.map((e) => `${e.product} ${e.certificate.serial}`).join(', ')}: revoke them first`);
  }

  /**
   * Issues a GBCS Organisation certificate to `eui` through `issue`; until it is stored the party may not take the
   * SC role (BR2), as the check of its roles was made before the issue's await.
   */
  async issuingGbcsCertificate<T>(eui: Eui, issue: () => Promise<T>): Promise<T> {
    this.gbcsIssuing.set(eui, (this.gbcsIssuing.get(eui) ?? 0) + 1);
    try {
      return await issue();
    } finally {
      const left = this.gbcsIssuing.get(eui)! - 1;
      if (left) this.gbcsIssuing.set(eui, left);
      else this.gbcsIssuing.delete(eui);
    }
  }

  /** Registers a transform for another SRV (SMETS2+ CV 4/1). */
  addTransformer(srv: string, t: Transformer): void {
    this.transformers.set(srv, t);
  }

  has(defect: Defect): boolean {
    return this.defects.has(defect);
  }

  // ------------------------------------------------------------------ gateway

  /** Takes a request and answers it once what it wrote is committed. */
  async handle(url: UrlKind, body: string | Uint8Array): Promise<HttpReply> {
    const reply = await this.take(url, body);
    await this.commits.durable();
    return reply;
  }

  private async take(url: UrlKind, body: string | Uint8Array): Promise<HttpReply> {
    const received = this.now();
    const xml = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    if (this.options.validateSchema) {
      const invalid = await this.options.validateSchema(xml);
      if (invalid) return this.reject(url, 400, `schema: ${invalid}`, null, received);
    }
    const verified = this.has('skip-signature-check') ? unverified(body) : verifyRequest(body, this.signerResolver(received));
    if (!verified.ok) {
      const e = verified.error;
      const status = e.code.startsWith('signer') || e.code === 'digest-mismatch' || e.code === 'signature-invalid' ? 401 : 400;
      return this.reject(url, status, e.toString(), null, received);
    }
    const request = verified.value.request;
    const { requestId } = request.header;
    if (verified.value.signerEui !== requestId.user) {
      return this.reject(url, 401, `the request is signed by ${verified.value.signerEui ?? 'an unknown party'}, not by the User ${requestId.user} its RequestID names`, request, received);
    }
    const replay = this.checkCounter(request);
    if (replay) return this.reject(url, 409, replay, request, received);
    return this.process(url, request, received);
  }

  /** Signers must hold an XML Signing certificate (role 135) that SMKI counts as valid now (or revocation delayed). */
  private signerResolver(at: Date): SignerResolver<unknown> {
    const smki = this.options.smki;
    return ({ issuer, serial }) => {
      const entry = smki.byIssuerSerial(issuer, serial);
      if (!entry) return null;
      if (entry.certificate.role !== RemotePartyRole.xmlSigning) {
        return { refused: `certificate ${serial} of ${issuer} is not a User's XML Signing certificate (role ${entry.certificate.role})` };
      }
      const status = smki.status({ issuer: entry.certificate.issuer, serial }, at);
      if (!countsAsValid(status) && !(status.state === 'revoked' && this.has('accept-revoked-certificate'))) {
        return { refused: `XML Signing certificate ${serial} is ${status.state}` };
      }
      return { publicKey: entry.certificate.publicKey, signer: entry, eui: entry.eui };
    };
  }

  /** RequestID counters strictly increase per User. A CV 5 reuses its CV 4's RequestID: correlation guards it. */
  private checkCounter(request: DuisRequest): string | null {
    if (request.header.commandVariant === 5 || this.has('skip-request-counter')) return null;
    const { user, counter } = request.header.requestId;
    const row = this.db.prepare('SELECT last FROM counters WHERE user = ?').get(user) as { last: string } | undefined;
    if (row && counter <= BigInt(row.last)) return `RequestID counter ${counter} is not greater than ${row.last}, the last one this User sent (replay)`;
    return null;
  }

  private reject(url: UrlKind, status: number, fullReason: string, request: DuisRequest | null, at: Date): HttpReply {
    // A reason may quote what the sender wrote (an element name, a prefix): anyone could grow the store by
    // a body's size per refusal. The start says what was wrong; the length says how much was left out.
    const reason = fullReason.length > MAX_REASON ? `${fullReason.slice(0, MAX_REASON)}... (${fullReason.length} characters)` : fullReason;
    this.commits.write(() =>
      this.db
        .prepare('INSERT INTO rejections (url, received_at, http_status, reason, request_id) VALUES (?, ?, ?, ?, ?)')
        .run(url, at.toISOString(), status, reason, request ? formatRequestId(request.header.requestId) : null),
    );
    return { status, contentType: TEXT, body: reason + '\n' };
  }

  // ------------------------------------------------------------------ access, transform, dispatch

  private process(url: UrlKind, request: DuisRequest, now: Date): HttpReply {
    const { header } = request;
    const decision = checkAccess(
      {
        registry: this.registry,
        eligibility: this.options.eligibility,
        solr: this.solr,
        anomaly: this.anomaly,
        supportedSrvs: (d) => this.options.devices.supportedSrvs(d),
        disabled: this.disabledChecks(),
      },
      request,
      url,
      now,
    );
    if (!decision.ok) return this.refuse(url, request, decision, decision.role ?? null, now);
    const { role, device, srv } = decision;
    if (!device) {
      return this.finish(url, request, role, now, { code: null, outcome: 'not-emulated', reason: `non-device service ${srv.srv} is not emulated` }, { status: 501, contentType: TEXT, body: `SRV ${srv.srv} (non-device) is not emulated by this DCC\n` }).reply;
    }
    const cv = header.commandVariant;
    if (cv === 4) return this.transform(url, request, decision, device, now);
    if (cv === 5) return this.sendSigned(url, request, decision, device, now);
    return this.sendCommandVariant1(url, request, decision, device, now);
  }

  private disabledChecks(): Set<string> {
    const off = new Set<string>();
    if (this.has('skip-eligibility')) off.add('eligibility');
    if (this.has('skip-device-authorisation')) off.add('device-authorisation');
    if (this.has('skip-solr-event-check')) off.add('solr-event');
    if (this.has('ignore-adt')) off.add('adt-scope');
    if (this.has('skip-user-status')) off.add('user-status');
    return off;
  }

  private transform(url: UrlKind, request: DuisRequest, decision: Extract<AccessDecision, { ok: true }>, device: DeviceRecord, now: Date): HttpReply {
    const t = this.transformers.get(decision.srv.srv);
    if (!t) return this.refuse(url, request, { code: 'E11', check: 'device-type', reason: `no transform for SRV ${decision.srv.srv}` }, decision.role, now);
    let apdu: GeneralSigning;
    try {
      apdu = t(request, device, preCommandOriginator(decision.role, request.header.requestId.user, device), now);
    } catch (e) {
      return this.refuse(url, request, { code: 'E11', check: 'transform', reason: (e as Error).message }, decision.role, now);
    }
    const requestId = formatRequestId(request.header.requestId);
    return this.commits.write(() => {
      const bytes = this.preCommands.issue(requestId, request.header.requestId.user, decision.role, device.eui, decision.srv.srv, apdu, now);
      const content: ResponseContent = { kind: 'PreCommand', gbcsVersion: this.options.gbcsVersion ?? '4.0', gbcsPayload: bytes };
      return this.finish(url, request, decision.role, now, { code: 'I0', outcome: 'transformed', reason: `Pre-Command ${formatMessageCode(apdu.messageCode)} issued` }, null, content).reply;
    });
  }

  private sendSigned(url: UrlKind, request: DuisRequest, decision: Extract<AccessDecision, { ok: true }>, device: DeviceRecord, now: Date): HttpReply {
    const body = request.body;
    if (body.kind !== 'SignedPreCommand') {
      return this.refuse(url, request, { code: 'E12', check: 'command-variant', reason: 'Command Variant 5 carries a SignedPreCommand body' }, decision.role, now);
    }
    const requestId = formatRequestId(request.header.requestId);
    let apdu: GeneralSigning;
    if (this.has('skip-correlation')) {
      const d = decodeGeneralSigning(body.gbcsPayload);
      if (!d.ok) return this.refuse(url, request, { code: 'E12', check: 'correlation', reason: 'the Signed Pre-Command does not decode' }, decision.role, now);
      apdu = d.value;
    } else {
      const issued = this.preCommands.get(requestId);
      const c = correlate(issued, request.header.requestId.user, decision.srv.srv, body.gbcsPayload);
      if (!c.ok) return this.refuse(url, request, c, decision.role, now);
      // The SoLR content check below follows the role: the one the Pre-Command was issued to, not one that
      // authorises the CV 5 since (a change of supplier).
      const drifted = sameIssue(issued!, decision.role, preCommandOriginator(decision.role, request.header.requestId.user, device));
      if (drifted) return this.refuse(url, request, drifted, decision.role, now);
      apdu = c.apdu;
    }
    if (decision.role === 'SC' && !this.has('sc-allowed-ecs03')) {
      const bad = scContentCheck(decision.srv.srv, apdu, { codeOnly: this.has('content-check-message-code-only'), ...this.contentCheckTimes(decision, device, now) });
      if (bad) return this.refuse(url, request, bad, decision.role, now);
    }
    const deviceKa = this.deviceKaKey(device, now);
    if ('code' in deviceKa) return this.refuse(url, request, deviceKa, decision.role, now);
    const command = encodeGeneralCiphering(wrapCommand(apdu, this.options.keys.acbKaPrivate, deviceKa));
    return this.dispatch(url, request, decision, device, now, command, requestId);
  }

  private sendCommandVariant1(url: UrlKind, request: DuisRequest, decision: Extract<AccessDecision, { ok: true }>, device: DeviceRecord, now: Date): HttpReply {
    if (device.type === 'SMETS1') {
      if (decision.role === 'SC' && !this.has('skip-smets1-content-check') && !this.has('sc-allowed-ecs03')) {
        const bad = smets1ContentCheck(request, { serviceOnly: this.has('content-check-message-code-only'), ...this.contentCheckTimes(decision, device, now) });
        if (bad) return this.refuse(url, request, bad, decision.role, now);
      }
      try {
        smets1Operation(request);
      } catch (e) {
        if (!(e instanceof TransformError)) throw e;
        return this.refuse(url, request, { code: 'E11', check: 'transform', reason: e.message }, decision.role, now);
      }
      return this.dispatch(url, request, decision, device, now, null);
    }
    const t = this.transformers.get(decision.srv.srv);
    if (!t) return this.refuse(url, request, { code: 'E11', check: 'device-type', reason: `no transform for SRV ${decision.srv.srv}` }, decision.role, now);
    const deviceKa = this.deviceKaKey(device, now);
    if ('code' in deviceKa) return this.refuse(url, request, deviceKa, decision.role, now);
    let command: Buffer;
    try {
      // A non-critical command carries no User signature: the ACB's MAC is its authentication. Its originator is
      // a remote party the device knows: for SC the failed supplier, as for a Pre-Command.
      const apdu = t(request, device, preCommandOriginator(decision.role, request.header.requestId.user, device), now);
      command = encodeGeneralCiphering(wrapNonCriticalCommand(apdu, this.options.keys.acbKaPrivate, deviceKa));
    } catch (e) {
      return this.refuse(url, request, { code: 'E11', check: 'transform', reason: (e as Error).message }, decision.role, now);
    }
    return this.dispatch(url, request, decision, device, now, command);
  }

  /** When a switch may be dated: before the instruction ends, and (unless seeded away) within the horizon from now. */
  private contentCheckTimes(decision: Extract<AccessDecision, { ok: true }>, device: DeviceRecord, now: Date): { instructionEnds: Date | null; now?: Date } {
    return { instructionEnds: this.instructionEnds(decision, device, now), ...(this.has('sc-dated-unbounded') ? {} : { now }) };
  }

  /** When the Authority's instructions that let this SC party act on this device end (null: open-ended, or none). */
  private instructionEnds(decision: Extract<AccessDecision, { ok: true }>, device: DeviceRecord, now: Date): Date | null {
    return this.solr.authorisedUntil(decision.party.eui, device.supplier, device.eui, now) ?? null;
  }

  /**
   * The device's Key Agreement public key: from its newest SMKI Device certificate that counts as valid now (the
   * newest, after a key change), else the directory for devices SMKI holds none for. A device whose KA
   * certificates are all revoked gets no Command: the directory does not stand in for a revoked key.
   */
  private deviceKaKey(device: DeviceRecord, now: Date): AgreementPublic | Refusal {
    const smki = this.options.smki;
    const entries = smki.find({ eui: device.eui, usage: 'keyAgreement' }).filter((e) => e.certificate.kind === 'device');
    const valid = entries.findLast((e) => smki.validAt(e, now));
    if (valid) return valid.certificate.publicKey;
    if (entries.length) {
      const states = entries.map(({ certificate: c }) => `${c.serial} ${smki.status({ issuer: c.issuer, serial: c.serial }, now).state}`);
      return { code: 'E5', check: 'device-status', reason: `device ${device.eui} has no Key Agreement certificate SMKI counts as valid (${states.join(', ')})` };
    }
    return this.options.deviceKeyDirectory?.(device) ?? noDeviceKey(device);
  }

  /**
   * Anomaly detection, then the hand-off to the device: the request row, the counter, the ADT count and (for
   * CV 5) the Pre-Command's use are written in one transaction before anything leaves the DCC.
   */
  private dispatch(
    url: UrlKind,
    request: DuisRequest,
    decision: Extract<AccessDecision, { ok: true }>,
    device: DeviceRecord,
    now: Date,
    command: Buffer | null,
    /** CV 5: the Pre-Command this Command uses up. */
    preCommandRequestId?: string,
  ): HttpReply {
    const { party, role, srv } = decision;
    const threshold = this.has('ignore-adt') ? undefined : this.anomaly.threshold(party.eui, srv.srv, device.supplier);
    let rowId = 0;
    let quarantined = false;
    const reply = this.commits.write(() => {
      const verdict = this.anomaly.count(party.eui, srv.srv, threshold, now);
      if (verdict.kind === 'quarantine') {
        quarantined = true;
        const r = this.finish(url, request, role, now, {
          code: 'I99',
          outcome: 'quarantined',
          check: 'anomaly',
          reason: `${verdict.count} requests for SRV ${srv.srv} in ${verdict.threshold.periodSeconds} s exceed the quarantine threshold ${verdict.threshold.quarantine}`,
        });
        this.queueQuarantineAlert(party, request, now, r.rowId);
        // Quarantined, not executed: the Pre-Command is spent all the same, so the same Signed Pre-Command
        // posted again (a CV 5 reuses its CV 4's RequestID, so no counter check stops it) is refused.
        if (preCommandRequestId) this.preCommands.markUsed(preCommandRequestId, r.rowId);
        return r.reply;
      }
      const r = this.finishPending(url, request, role, now, command);
      rowId = r.rowId;
      if (preCommandRequestId) this.preCommands.markUsed(preCommandRequestId, rowId);
      return r.reply;
    });
    if (quarantined) this.outbox.kick();
    // The Command leaves only once its request row is committed; if that commit fails, nothing leaves.
    else this.track(this.commits.durable().then(() => this.deliver(rowId, request, device, command), () => {}));
    return reply;
  }

  /** Keeps `p` until it settles; a failure nobody awaits is logged, not left to end the process (unhandled). */
  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    p.catch((e: unknown) => process.stderr.write(`dcc: a dispatched request's outcome could not be recorded (its restart answers it E21): ${(e as Error).stack ?? String(e)}\n`)).finally(() => this.inFlight.delete(p));
  }

  private async deliver(rowId: number, request: DuisRequest, device: DeviceRecord, command: Buffer | null): Promise<void> {
    let reply: DeviceReply;
    try {
      reply = await this.withDeadline(() =>
        command
          ? this.options.devices.sendCommand(device, command, this.deviceTimeoutMs)
          : this.options.devices.sendSmets1(device, { srv: request.header.serviceReferenceVariant, body: request.body, counter: request.header.requestId.counter, user: request.header.requestId.user }, this.deviceTimeoutMs),
      );
    } catch (e) {
      reply = { kind: 'comms-failure', reason: (e as Error).message };
    }
    await this.recordReply(rowId, request, reply, this.now());
  }

  /**
   * The DCC's own limit on a device port call: a port that never settles would leave the request open for good
   * and stop() waiting on it. The port has its timeout once more (a rig reads the meter's state after the
   * command), at least a second, before the DCC answers as for a silent device (E21).
   */
  private async withDeadline(send: () => Promise<DeviceReply>): Promise<DeviceReply> {
    const deadlineMs = Math.min(2 ** 31 - 1, this.deviceTimeoutMs + Math.max(this.deviceTimeoutMs, 1_000));
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<DeviceReply>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'no-response', reason: `the device port gave no answer within ${deadlineMs} ms` }), deadlineMs);
    });
    try {
      return await Promise.race([send(), overrun]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Records a device's answer and queues its response for the User. The device has acted on the Command, so a
   * record that SQLite loses (a full disk, an I/O error: at a statement or at the COMMIT) is written again, with
   * growing pauses, until the store takes it; only a DCC stopping meanwhile leaves the request to its restart,
   * which answers it E21.
   */
  private async recordReply(rowId: number, request: DuisRequest, reply: DeviceReply, now: Date): Promise<void> {
    for (let pauseMs = 100; ; pauseMs = Math.min(pauseMs * 2, 10_000)) {
      try {
        this.writeReply(rowId, request, reply, now);
        await this.commits.durable();
        this.outbox.kick();
        return;
      } catch (e) {
        if (!isStoreRefusal(e)) throw e;
        const stopped = await delay(pauseMs, false, { signal: this.stopping.signal }).catch(() => true);
        if (stopped) return;
      }
    }
  }

  private writeReply(rowId: number, request: DuisRequest, reply: DeviceReply, now: Date): void {
    const party = this.registry.party(request.header.requestId.user);
    this.commits.write(() => {
      let code: ResponseCode;
      let content: ResponseContent | undefined;
      let outcome: string;
      if (reply.kind === 'response') {
        code = 'I0';
        outcome = 'device-responded';
        content = { kind: 'GBCSPayload', gbcsPayload: reply.frame };
      } else {
        code = reply.kind === 'no-response' ? 'E21' : 'E20';
        outcome = reply.kind;
      }
      const changed = this.db
        .prepare("UPDATE requests SET outcome = ?, response_code = ?, reason = ?, terminal_at = ? WHERE id = ? AND outcome IS NULL")
        .run(outcome, code, reply.kind === 'response' ? 'the device answered; its response is queued for the User' : reply.reason, now.toISOString(), rowId);
      if (changed.changes === 1 && party) this.queueResponse(party, request, code, now, rowId, content);
    });
  }

  /** A request still open at start-up was sent before a crash and never answered: E21, exactly once. */
  private settleLost(rowId: number): void {
    const row = this.db.prepare('SELECT * FROM requests WHERE id = ?').get(rowId) as { request_id: string; user: string; srv: string; cv: number; schema_version: string } | undefined;
    if (!row) return;
    const now = this.now();
    this.db.transaction(() => {
      const changed = this.db
        .prepare("UPDATE requests SET outcome = 'no-response', response_code = 'E21', reason = ?, terminal_at = ? WHERE id = ? AND outcome IS NULL")
        .run('the DCC restarted before the device answered', now.toISOString(), rowId);
      const party = this.registry.party(row.user as Eui);
      if (changed.changes === 1 && party) {
        const srv = row.srv as ServiceReferenceVariant;
        // In the version the request named, as every answer is (a row kept by an earlier version reads 5.4).
        const answered: Answered = { schemaVersion: row.schema_version, header: { requestId: parseRequestId(row.request_id), serviceReference: serviceReferenceOf(srv), serviceReferenceVariant: srv } };
        this.queueResponse(party, answered, 'E21', now, rowId);
      }
    })();
  }

  // ------------------------------------------------------------------ outcomes and responses

  private refuse(url: UrlKind, request: DuisRequest, refusal: Refusal, role: UserRole | null, now: Date): HttpReply {
    return this.finish(url, request, role, now, { code: refusal.code, outcome: 'refused', check: refusal.check, reason: refusal.reason }).reply;
  }

  /**
   * Records a request with its terminal outcome and answers it: a DCC-signed DUIS response with `code`, or `raw`
   * for outcomes DUIS has no response for.
   */
  private finish(
    url: UrlKind,
    request: DuisRequest,
    role: UserRole | null,
    now: Date,
    outcome: { code: ResponseCode | null; outcome: string; check?: string; reason: string },
    raw: HttpReply | null = null,
    content?: ResponseContent,
  ): { rowId: number; reply: HttpReply } {
    const rowId = this.insertRequest(url, request, role, now, null, outcome);
    const reply = raw ?? { status: 200, contentType: XML, body: this.signedResponse(request, outcome.code!, now, content) };
    return { rowId, reply };
  }

  private finishPending(url: UrlKind, request: DuisRequest, role: UserRole, now: Date, command: Buffer | null): { rowId: number; reply: HttpReply } {
    const rowId = this.insertRequest(url, request, role, now, command ?? Buffer.alloc(0), null);
    return { rowId, reply: { status: 200, contentType: XML, body: this.signedResponse(request, 'I99', now) } };
  }

  private insertRequest(url: UrlKind, request: DuisRequest, role: UserRole | null, now: Date, command: Buffer | null, outcome: { code: ResponseCode | null; outcome: string; check?: string; reason: string } | null): number {
    const h = request.header;
    const insert = () => {
      if (h.commandVariant !== 5) {
        this.db
          .prepare('INSERT INTO counters (user, last) VALUES (?, ?) ON CONFLICT (user) DO UPDATE SET last = excluded.last')
          .run(h.requestId.user, h.requestId.counter.toString());
      }
      const info = this.db
        .prepare(
          `INSERT INTO requests (request_id, user, role, srv, cv, target, url, received_at, command, dispatched_at, outcome, response_code, reason, check_name, terminal_at, schema_version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          formatRequestId(h.requestId),
          h.requestId.user,
          role,
          h.serviceReferenceVariant,
          h.commandVariant,
          h.requestId.target,
          url,
          now.toISOString(),
          command,
          command ? now.toISOString() : null,
          outcome?.outcome ?? null,
          outcome?.code ?? null,
          outcome?.reason ?? null,
          outcome?.check ?? null,
          outcome ? now.toISOString() : null,
          request.schemaVersion,
        );
      return Number(info.lastInsertRowid);
    };
    return this.db.inTransaction ? insert() : this.commits.write(insert);
  }

  private responseModel(request: Answered, code: ResponseCode, now: Date, content?: ResponseContent): DuisResponse {
    return {
      schemaVersion: request.schemaVersion,
      header: { requestId: request.header.requestId, responseCode: code, responseDateTime: formatDateTime(now) },
      body: {
        kind: 'ResponseMessage',
        serviceReference: request.header.serviceReference,
        serviceReferenceVariant: request.header.serviceReferenceVariant,
        ...(content ? { content } : {}),
      },
    };
  }

  private signedResponse(request: Answered, code: ResponseCode, now: Date, content?: ResponseContent): string {
    return signResponse(this.responseModel(request, code, now, content), this.options.keys.xmlSigner);
  }

  private endpointOf(party: Party): string | null {
    return this.options.callback ?? party.endpoint;
  }

  /** A response is kept for its User even while it has no endpoint: it goes out once the User registers one. */
  private queueResponse(party: Party, request: Answered, code: ResponseCode, now: Date, rowId: number, content?: ResponseContent): void {
    const endpoint = this.endpointOf(party) ?? NO_ENDPOINT_YET;
    this.outbox.enqueue({ endpoint, recipient: party.eui, kind: 'response', requestRow: rowId, body: this.signedResponse(request, code, now, content) });
  }

  private queueQuarantineAlert(party: Party, request: DuisRequest, now: Date, rowId: number): void {
    const endpoint = this.endpointOf(party) ?? NO_ENDPOINT_YET;
    const model: DuisResponse = {
      schemaVersion: request.schemaVersion,
      header: { responseId: { originator: this.options.keys.dccEui, target: party.eui, counter: this.nextDccCounter() }, responseCode: 'I0', responseDateTime: formatDateTime(now) },
      body: {
        kind: 'DCCAlertMessage',
        dccAlertCode: 'AD1',
        alert: { kind: 'QuarantinedRequest', breach: 'ADUserThresholdBreach', requestId: request.header.requestId, quarantineEventRef: BigInt(rowId) },
      },
    };
    this.outbox.enqueue({ endpoint, recipient: party.eui, kind: 'dcc-alert', requestRow: rowId, body: signResponse(model, this.options.keys.xmlSigner) });
  }

  private nextDccCounter(): bigint {
    this.dccCounter += 1n;
    return this.dccCounter;
  }

  // ------------------------------------------------------------------ alerts (BR7)

  /**
   * A device alert goes to the User it is addressed to. [model] MP134B BR7: once that User is a failed supplier
   * (an Authority SoLR instruction has started) or its XML Signing certificate is revoked, the DCC routes the
   * alert to the supplier's Shared Resource Provider instead, or, if it names none, to the contingency party the
   * Authority's instruction names, so the party acting for the supplier keeps seeing its devices' alerts. An
   * alert with no route yet is kept (not sent to the failed supplier) until it has one.
   */
  routeAlert(deviceEui: Eui, frame: Uint8Array): void {
    const now = this.now();
    const read = readDeviceAlert(frame, (eui) => this.registry.device(eui)?.supplier);
    if ('problem' in read) {
      // In the group, as every other write: outside it, a row could commit after SQLite rolled the group back.
      this.commits.write(() =>
        this.db.prepare('INSERT INTO rejections (url, received_at, http_status, reason, request_id) VALUES (?, ?, ?, ?, ?)').run(`device:${deviceEui}`, now.toISOString(), 0, `unreadable alert: ${read.problem}`, null),
      );
      return;
    }
    const alert = read;
    const addressee = this.registry.party(alert.recipient);
    const recipient = addressee ? this.alertRecipient(addressee, alert.device, now) : undefined;
    const alertCode = alert.code;
    const model: DuisResponse = {
      schemaVersion: '5.4',
      header: { responseId: { originator: alert.device, target: alert.recipient, counter: alert.counter }, responseCode: 'I0', responseDateTime: formatDateTime(now) },
      body: { kind: 'DeviceAlertMessage', alertCode, gbcsPayload: frame },
    };
    // Kept for a route: the addressee is registered, and its SRP or an instruction may yet name where its alerts go.
    const kept = !recipient && addressee && !this.has('drop-alerts-after-revocation');
    this.commits.write(() => {
      const id = this.outbox.enqueue({
        // A recipient without an endpoint yet gets the alert once it registers one, as it would a response.
        endpoint: (recipient && this.endpointOf(recipient)) ?? NO_ENDPOINT_YET,
        recipient: recipient?.eui ?? alert.recipient,
        addressee: alert.recipient,
        device: alert.device,
        kind: 'device-alert',
        requestRow: null,
        body: signResponse(model, this.options.keys.xmlSigner),
        ...(kept ? { waiting: noAlertRoute(alert.recipient) } : {}),
      });
      if (!recipient && !kept) this.db.prepare("UPDATE outbox SET delivered_at = 'undeliverable', last_error = ? WHERE id = ?").run(`no route for alert ${alertCode} to ${alert.recipient}`, id);
    });
    this.outbox.kick();
  }

  /**
   * BR7 for an alert that was already queued (its addressee's endpoint down, or none yet) when the addressee
   * failed or lost its certificate: it moves to the SRP (or the instruction's contingency party) as a new alert
   * would go there, to wait for that party's endpoint if it has none; with no such party yet it waits, kept, and
   * is not sent to the failed addressee. The route is always worked out from the addressee (one hop), so two
   * parties that are each other's SRP do not pass an alert back and forth.
   */
  private rerouteAlert(m: { kind: OutboxKind; recipient: string; addressee: string | null; device: string | null }): { recipient: string; endpoint: string; waiting?: string } | null {
    if (m.kind !== 'device-alert') return null;
    const addressee = this.registry.party((m.addressee ?? m.recipient) as Eui);
    if (!addressee) return null;
    const to = this.alertRecipient(addressee, m.device as Eui | null, this.now());
    if (!to) return this.has('drop-alerts-after-revocation') ? null : { recipient: addressee.eui, endpoint: NO_ENDPOINT_YET, waiting: noAlertRoute(addressee.eui) };
    return { recipient: to.eui, endpoint: this.endpointOf(to) ?? NO_ENDPOINT_YET };
  }

  /** A User that has replaced its endpoint (or a callback given since) gets there what still waits at the old one. */
  private rerouteToCurrentEndpoint(m: { recipient: string; endpoint: string }): { recipient: string; endpoint: string } | null {
    const party = this.registry.party(m.recipient as Eui);
    const endpoint = party && this.endpointOf(party);
    return endpoint && endpoint !== m.endpoint ? { recipient: m.recipient, endpoint } : null;
  }

  /**
   * Who gets an alert from `device` addressed to `addressee` now: itself, or for a failed supplier its SRP, else
   * the contingency party an instruction covering the device names.
   */
  private alertRecipient(addressee: Party, device: Eui | null, now: Date): Party | undefined {
    const failed = addressee.status === 'failed' || this.solr.hasFailed(addressee.eui, now) || !this.hasValidXmlCertificate(addressee.eui, now);
    if (!failed) return addressee;
    if (this.has('drop-alerts-after-revocation')) return undefined;
    const to = addressee.srp ?? this.solr.contingencyFor(addressee.eui, device, now);
    return to ? this.registry.party(to) : undefined;
  }

  private hasValidXmlCertificate(eui: Eui, at: Date): boolean {
    const certs = this.options.smki.find({ eui, role: RemotePartyRole.xmlSigning });
    return certs.some((e) => this.options.smki.validAt(e, at));
  }

  // ------------------------------------------------------------------ audit

  requests(filter: AuditFilter = {}): RequestRecord[] {
    const q = requestsQuery(filter);
    const rows = this.db
      .prepare(q.sql)
      .all(q.params) as {
      id: number;
      request_id: string;
      user: string;
      role: string | null;
      srv: string;
      cv: number;
      target: string;
      url: string;
      received_at: string;
      command: Buffer | null;
      outcome: string | null;
      response_code: string | null;
      reason: string | null;
      check_name: string | null;
      terminal_at: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      requestId: r.request_id,
      user: r.user,
      role: r.role,
      srv: r.srv,
      cv: r.cv,
      target: r.target,
      url: r.url,
      receivedAt: r.received_at,
      outcome: r.outcome,
      responseCode: r.response_code,
      reason: r.reason,
      check: r.check_name,
      terminalAt: r.terminal_at,
      dispatched: r.command !== null,
    }));
  }
}

/** The audit log's query for these filters (by RequestID once per step of a scenario: it must use the index). */
export function requestsQuery(filter: AuditFilter): { sql: string; params: Record<string, string | number> } {
  return pagedQuery('SELECT * FROM requests', { request_id: filter.requestId, user: filter.user }, filter);
}

/** What the audit log is asked for: the filters, and a page. */
export interface AuditFilter extends Page {
  requestId?: string;
  user?: string;
}

function noAlertRoute(addressee: string): string {
  return `${addressee} may not have its alerts (failed, or without a valid XML Signing certificate) and names no SRP, and no Authority instruction covering the device names a contingency party: kept until one does (MP134B BR7)`;
}

function noDeviceKey(device: DeviceRecord): Refusal {
  return { code: 'E5', check: 'device-status', reason: `device ${device.eui} has no Key Agreement certificate in SMKI (not commissioned)` };
}

/** The 'skip-signature-check' defect: the request as parsed, its RequestID's User taken on trust. */
function unverified(body: string | Uint8Array): ReturnType<typeof verifyRequest> {
  const parsed = parseRequest(body);
  if (!parsed.ok) return parsed;
  return { ok: true, value: { request: parsed.value, signerEui: parsed.value.header.requestId.user } as never };
}

/**
 * Who an alert is from and for. A SMETS2+ alert (GBCS, CRA 03) names its recipient; a SMETS1 alert comes via
 * the S1SP and is for the meter's registered supplier. The DUIS AlertCode is 8F66 for future-dated execution
 * alerts, else the GBCS message code.
 */
function readDeviceAlert(frame: Uint8Array, supplierOf: (device: Eui) => Eui | undefined): { device: Eui; recipient: Eui; counter: bigint; code: string } | { problem: string } {
  const d = decodeGeneralSigning(frame);
  if (d.ok) {
    if (d.value.cra !== 'alert') return { problem: `a ${d.value.cra} is not an alert` };
    const code = parseFutureDatedAlert(d.value).ok ? '8F66' : formatMessageCode(d.value.messageCode).slice(2);
    return { device: d.value.originator, recipient: d.value.recipient, counter: d.value.counter, code };
  }
  const s = decodeS1sp(frame);
  if (s.ok && s.value.frame.type === 'alert') {
    // The S1SP's check covers the whole alert: a damaged one must not reach a supplier as its meter's word.
    if (!checkReply(s.value)) return { problem: `SMETS1 alert from ${s.value.frame.from} fails its integrity check` };
    const a = s.value.frame;
    const supplier = supplierOf(a.from);
    if (!supplier) return { problem: `SMETS1 alert from unregistered meter ${a.from}` };
    return { device: a.from, recipient: supplier, counter: a.id, code: a.code.toString(16).toUpperCase().padStart(4, '0') };
  }
  return { problem: d.error.toString() };
}
