/**
 * What the DCC does out of band, behind the admin API: SMKI certificates for parties (with the issuing policy:
 * MP134B BR2), device registration and provisioning of hosted emulated devices, revocations (immediate or
 * PMA-delayed), each persisted (smki-store.ts) so a restarted DCC knows the same parties, keys and revocations.
 */
import type { KeyObject } from 'node:crypto';
import type { CertificateProduct } from '../protocol/smki/certificate-products.ts';
import { derToPem } from '../protocol/smki/certificate.ts';
import type { Eui } from '../protocol/smki/eui.ts';
import { checkIssuingPolicy, IssuingPolicyError } from '../protocol/smki/issuing-policy.ts';
import { RemotePartyRole, type UserRole } from '../protocol/smki/roles.ts';
import type { IssuedCertificate, SmkiService } from '../protocol/smki/smki-service.ts';
import { AdjustableClock } from './clock.ts';
import { z } from 'zod';
import { DEVICE_PARTY_ROLES, type DeviceRecord, type Party, roleMismatch } from './registry.ts';
import { type AdtFile, adtFileInput } from './anomaly.ts';
import { BadInput, describeZodError, NotFound } from './schemas.ts';
import type { DccService } from './service.ts';
import { persistCertificate, persistRevocation } from './smki-store.ts';
import { type SolrEvent, solrInstructionInput } from './solr.ts';
import { type Page, pagedQuery, setMeta } from './store.ts';

export interface PartyKeys {
  eui: Eui;
  ds: KeyObject | null;
  ka: KeyObject | null;
}

/** Whom a device must trust, from SMKI: its supplier, its network operator and the ACB (GBCS trust anchor cells). */
export interface DeviceTrustAnchors {
  supplier: PartyKeys;
  networkOperator: PartyKeys | null;
  acb: PartyKeys;
}

/** Creates or re-attaches the emulated device for a registered record (implemented by the harness). */
export interface DeviceProvisioner {
  /**
   * Returns the device's DS and KA public keys (for its SMKI Device certificates), or null for SMETS1 meters.
   * `initial` is the state an emulated device starts in, when the registration asked for one; `dccNow` the DCC's
   * time, which the meters' clocks start from. `fresh`: the DCC registers the device anew, so whatever a host kept
   * of it (from a registration the DCC's store then lost) is not its state.
   */
  provision(record: DeviceRecord, anchors: DeviceTrustAnchors, initial?: InitialDeviceState, dccNow?: Date, fresh?: boolean): Promise<{ ds: KeyObject; ka: KeyObject } | null>;
}

const initialStateInput = z.strictObject({ paymentMode: z.enum(['credit', 'prepayment']).optional(), meterBalance: z.number().int().optional() });

/** The state a hosted emulated device starts in (ignored for devices that already exist). */
export interface InitialDeviceState {
  paymentMode?: 'credit' | 'prepayment';
  meterBalance?: number;
}

export class DccAdmin {
  constructor(
    private readonly dcc: DccService,
    private readonly smki: SmkiService,
    readonly acbEui: Eui,
    private readonly provisioner: DeviceProvisioner | null,
  ) {}

  private get db() {
    return this.dcc.db;
  }

  /** Re-provisions every registered device (after a restart: same seed-derived keys, state reattached). */
  async restoreDevices(): Promise<void> {
    if (this.provisioner) for (const d of this.dcc.registry.devices()) await this.provision(d);
  }

  /**
   * Moves the DCC's clock by `move`, made on a copy: the clock itself takes the new time only once the store holds
   * it. Moved first, a change the store refused would leave the DCC (and the meters following it) ahead of the
   * time it comes back with after a restart.
   */
  async moveClock(move: (clock: AdjustableClock) => void): Promise<void> {
    const clock = this.adjustableClock();
    const next = new AdjustableClock().adopt(clock.setting);
    move(next);
    const mark = this.dcc.commitMark();
    this.persistClock(next);
    await this.dcc.durableSince(mark);
    clock.adopt(next.setting);
  }

  /** The DCC's clock, when the admin may move it; a DCC on real time refuses. */
  adjustableClock(): AdjustableClock {
    const clock = this.dcc.options.clock;
    if (!(clock instanceof AdjustableClock)) throw new BadInput('this DCC runs on real time');
    return clock;
  }

  /** Stores where the clock stands: its offset from real time, and the instant it is held at when frozen. */
  persistClock(clock = this.dcc.options.clock): void {
    if (!(clock instanceof AdjustableClock)) return;
    this.dcc.write(() => {
      setMeta(this.db, 'clock-offset-ms', String(clock.offset));
      setMeta(this.db, 'clock-frozen-at', clock.frozen ? clock.now().toISOString() : '');
    });
  }

  /** Issues (and persists) a certificate for a party; the issuing policy refuses what its role may not hold. */
  async issuePartyCertificate(eui: Eui, product: CertificateProduct, role?: UserRole): Promise<IssuedCertificate> {
    const party = this.dcc.registry.party(eui);
    if (!party) throw new NotFound(`no party ${eui}: register it first`);
    const asRole = role ?? party.roles[0]!;
    // Not a policy refusal (403): the request names a role the party does not have.
    if (!party.roles.includes(asRole)) throw new BadInput(`role: ${eui} acts as ${party.roles.join(', ')}, not as ${asRole}`);
    // A refusal a business requirement makes is about the party, whatever role it asks in: an SC party that also
    // acts as a supplier still gets no Digital Signing certificate (MP134B BR2).
    for (const other of party.roles) {
      try {
        checkIssuingPolicy({ requester: other, product }, this.smki.policy);
      } catch (e) {
        if (e instanceof IssuingPolicyError && e.requirement) throw e;
      }
    }
    const issue = async () => {
      const issued = await this.smki.issue({ requester: { eui, role: asRole }, product, name: `${product}-${eui}-${asRole}` });
      this.persistIssued(issued, { eui, role: asRole });
      return issued;
    };
    return product === 'organisation-ds' || product === 'organisation-ka' ? this.dcc.issuingGbcsCertificate(eui, issue) : issue();
  }

  /**
   * Stores a certificate SMKI has just issued; if the store refuses it, SMKI forgets it too (its holder is told
   * the issue failed and never gets the key). One whose group SQLite loses later is dropped then (service.ts).
   */
  private persistIssued(issued: IssuedCertificate, owner: { eui: string; role: string }): void {
    try {
      this.dcc.write(() => persistCertificate(this.db, issued, owner));
    } catch (e) {
      const entry = this.smki.directory.byIssuerSerial(issued.certificate.issuer, issued.certificate.serial);
      if (entry) this.smki.directory.remove(entry);
      throw e;
    }
  }

  certificatesOf(eui: Eui): { name: string; product: string; serial: string; issuer: string; status: string }[] {
    return this.smki.find({ eui }).map((e) => ({
      name: e.name,
      product: e.product,
      serial: e.certificate.serial,
      issuer: e.certificate.issuer,
      status: this.smki.status({ issuer: e.certificate.issuer, serial: e.certificate.serial }, this.dcc.now()).state,
    }));
  }

  /**
   * Records the Authority's instruction. The parties it names must be registered in the roles they play (a
   * supplier, IS or GS; a party in the SC role), else the instruction would be stored and every request under it
   * refused later (E3, E4) for a reason that is only a typo here.
   */
  instructSolr(body: unknown): SolrEvent {
    const input = solrInstructionInput.parse(body);
    this.registeredAs('failedSupplier', input.failedSupplier, ['IS', 'GS'], 'a supplier (IS or GS)');
    this.registeredAs('contingencyParty', input.contingencyParty, ['SC'], 'SC (SoLR Contingency)');
    const listed = new Set<string>();
    input.devices?.forEach((eui, i) => {
      const device = this.dcc.registry.device(eui);
      if (!device) throw new BadInput(`devices.${i}: no device ${eui} is registered`);
      if (device.supplier !== input.failedSupplier) throw new BadInput(`devices.${i}: device ${eui} is registered to ${device.supplier}, not to the failed supplier`);
      if (listed.has(eui)) throw new BadInput(`devices.${i}: device ${eui} is listed twice`);
      listed.add(eui);
    });
    return this.dcc.write(() => this.dcc.solr.instruct(input, this.dcc.now()));
  }

  /** Ends Authority instruction `id` at `at` (checked by the caller: now or later, and earlier than its end). */
  endSolr(id: number, at: Date): SolrEvent | undefined {
    return this.dcc.write(() => this.dcc.solr.end(id, at));
  }

  /** Appoints one of a party's officers (an ARO or SRO), or updates one; says who its officers now are. */
  addOfficer(eui: Eui, body: unknown) {
    this.dcc.write(() => this.dcc.anomaly.addOfficer(eui, body as never));
    return this.dcc.anomaly.officers(eui);
  }

  /**
   * An ADT file from a party's officers: the supplier it is scoped to must be a registered supplier (for an SC
   * party it is required, BR4), and each SRV one the DCC knows, else the file opens nothing and counts nothing.
   */
  submitAdt(party: Party, body: unknown): AdtFile {
    const input = adtFileInput.parse(body);
    if (input.supplier === undefined && party.roles.includes('SC')) throw new BadInput('supplier: an ADT file of a SoLR Contingency party names the supplier whose devices it covers (BR4)');
    if (input.supplier !== undefined) this.registeredAs('supplier', input.supplier, ['IS', 'GS'], 'a supplier (IS or GS)');
    input.thresholds.forEach((t, i) => {
      if (!this.dcc.options.eligibility.get(t.srv)) throw new BadInput(`thresholds.${i}.srv: ${t.srv} is not a Service Reference Variant this DCC knows`);
    });
    return this.dcc.write(() => this.dcc.anomaly.submit(party.eui, input, this.dcc.now()));
  }

  /** Refuses (400 on `field`) a party that is not registered or acts in none of `roles`. */
  private registeredAs(field: string, eui: Eui, roles: readonly UserRole[], what: string): void {
    const party = this.dcc.registry.party(eui);
    if (!party) throw new BadInput(`${field}: no party ${eui} is registered`);
    const mismatch = roleMismatch(eui, party.roles, roles, what);
    if (mismatch) throw new BadInput(`${field}: ${mismatch}`);
  }

  revoke(serial: string, issuer: string | undefined, effectiveAt: Date | undefined, orderedBy: string | undefined) {
    const ref = issuer ? { issuer, serial } : serial;
    const entry = this.smki.lookup(ref);
    if (!entry) throw new NotFound(`no certificate ${serial} in SMKI`);
    const now = this.dcc.now();
    const record = this.smki.revoke(ref, { requestedAt: now, ...(effectiveAt ? { at: effectiveAt } : {}), ...(orderedBy ? { orderedBy } : {}) });
    // Refused once SQLite has lost the open group; the register is then made what the store holds again (reloadRevocations).
    this.dcc.write(() => persistRevocation(this.db, record));
    // A supplier whose XML Signing certificate is revoked now has its alerts routed to its SRP (BR7): those
    // waiting move at once rather than at the outbox's next look. A delayed one is found by that look.
    this.dcc.outbox.rerouteWaitingNow();
    // Delayed is about this order: a pending revocation brought forward to now is not delayed, whenever it was first ordered.
    return { serial, issuer: entry.certificate.issuer, name: entry.name, requestedAt: record.requestedAt, effectiveAt: record.effectiveAt, delayed: record.effectiveAt > now };
  }

  /**
   * The Organisation CA's next CRL (DER), once the number it carries is durable: its number joins the open group
   * commit, and a group SQLite lost would otherwise let a later CRL, after a restart, carry the same number.
   */
  async crl(): Promise<Uint8Array> {
    const mark = this.dcc.commitMark();
    const crl = await this.smki.crl({ at: this.dcc.now() });
    await this.dcc.durableSince(mark);
    return crl.der;
  }

  /**
   * Why the DCC's clock may not be set back to `to` (ms since the epoch), or null. Devices a provisioner hosts keep
   * their clocks with the DCC's only forward (their pending changes, logs and counters are dated by them), so a DCC
   * hosting devices refuses to go back rather than leave them ahead of it.
   */
  clockBackProblem(to: number): string | null {
    const now = this.dcc.now().getTime();
    if (!this.provisioner || to >= now) return null;
    return `this DCC hosts devices, whose clocks never go back, and ${new Date(to).toISOString()} is before its time (${new Date(now).toISOString()}); start a DCC with a fresh store to begin earlier`;
  }

  /** Registers a device; with a provisioner, also creates the emulated device and issues its SMKI Device certificates. */
  async registerDevice(body: unknown): Promise<DeviceRecord & { hosted: boolean }> {
    const { initialState, ...rest } = (body ?? {}) as Record<string, unknown>;
    const input = this.dcc.registry.readDevice(rest);
    // Without one, the host's own default applies (`dcc serve`: prepayment).
    const parsedInitial = initialState === undefined ? undefined : initialStateInput.safeParse(initialState);
    if (parsedInitial && !parsedInitial.success) throw new BadInput(describeZodError(parsedInitial.error, 'initialState'));
    const initial = parsedInitial?.data;
    if (initial && this.dcc.registry.device(input.eui)) {
      throw new BadInput(`initialState: device ${input.eui} is already registered, and a meter's state changes only by commands (initialState applies when a device is first registered)`);
    }
    // Its supplier's keys become the meter's trust anchor, and the supplier the party its requests come from.
    const { supplier, networkOperator } = DEVICE_PARTY_ROLES[input.fuel];
    this.registeredAs('supplier', input.supplier, [supplier.role], supplier.what);
    if (input.networkOperator) this.registeredAs('networkOperator', input.networkOperator, [networkOperator.role], networkOperator.what);
    const fresh = !this.dcc.registry.device(input.eui);
    const record = this.dcc.write(() => this.dcc.registry.putParsedDevice(input));
    if (this.provisioner) await this.provision(record, initial, fresh);
    return { ...record, hosted: this.provisioner !== null };
  }

  /**
   * The party's keys a device is given to trust: per usage, its oldest certificate that counts as valid now (the
   * one DCC Boxed's meters trust, where a supplier holds two), so a revoked or expired key is not handed to a
   * new meter; else its newest (a failed supplier's revoked key stays the one its meters trust: the SC role's
   * Pre-Commands are signed with it).
   */
  private partyKeys(eui: Eui, remoteRole: number): PartyKeys {
    const now = this.dcc.now();
    const pick = (usage: 'digitalSignature' | 'keyAgreement') => {
      const oldestFirst = this.smki.find({ eui, usage, role: remoteRole }).sort((a, b) => a.certificate.notBefore.getTime() - b.certificate.notBefore.getTime());
      const valid = oldestFirst.find((e) => this.smki.validAt(e, now));
      return (valid ?? oldestFirst[oldestFirst.length - 1])?.certificate.publicKey ?? null;
    };
    return { eui, ds: pick('digitalSignature'), ka: pick('keyAgreement') };
  }

  trustAnchors(record: DeviceRecord): DeviceTrustAnchors {
    return {
      supplier: this.partyKeys(record.supplier, RemotePartyRole.supplier),
      networkOperator: record.networkOperator ? this.partyKeys(record.networkOperator, RemotePartyRole.networkOperator) : null,
      acb: this.partyKeys(this.acbEui, RemotePartyRole.accessControlBroker),
    };
  }

  private async provision(record: DeviceRecord, initial?: InitialDeviceState, fresh = false): Promise<void> {
    const keys = await this.provisioner!.provision(record, this.trustAnchors(record), initial, this.dcc.now(), fresh);
    if (!keys) return;
    for (const [product, publicKey] of [
      ['device-ds', keys.ds],
      ['device-ka', keys.ka],
    ] as const) {
      const existing = this.smki.find({ eui: record.eui, product }).some((e) => e.certificate.publicKey.equals(publicKey));
      if (existing) continue;
      const issued = await this.smki.issue({ requester: { eui: record.supplier, role: 'DCC' }, product, deviceEui: record.eui, publicKey });
      this.persistIssued(issued, { eui: record.eui, role: 'device' });
    }
  }

  /** The DCC's public identity: the certificates Users verify its responses with and devices trust as ACB. */
  identity() {
    const keys = this.dcc.options.keys;
    const xml = this.smki.byIssuerSerial(keys.xmlSigner.issuer, keys.xmlSigner.serial);
    return {
      eui: keys.dccEui,
      acbEui: this.acbEui,
      xmlSigningCertificate: xml ? derToPem(xml.certificate.der) : null,
      acbCertificates: this.smki.find({ eui: this.acbEui, role: RemotePartyRole.accessControlBroker }).map((e) => derToPem(e.certificate.der)),
      rootCertificate: this.smki.hierarchy.root.toPem().certificate,
    };
  }

  /** The outbox, oldest first: for one recipient, and a page (the messages after `afterId`, at most `limit`). */
  deliveries(filter: { recipient?: Eui } & Page = {}) {
    const q = pagedQuery('SELECT id, endpoint, recipient, kind, request_row, created_at, attempts, delivered_at, last_error, body FROM outbox', { recipient: filter.recipient }, filter);
    const rows = this.db.prepare(q.sql).all(q.params) as {
      id: number;
      endpoint: string;
      recipient: string;
      kind: string;
      request_row: number | null;
      created_at: string;
      attempts: number;
      delivered_at: string | null;
      last_error: string | null;
      body: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      endpoint: r.endpoint,
      recipient: r.recipient,
      kind: r.kind,
      requestRow: r.request_row,
      createdAt: r.created_at,
      attempts: r.attempts,
      delivered: r.delivered_at !== null && r.delivered_at !== 'undeliverable',
      undeliverable: r.delivered_at === 'undeliverable',
      lastError: r.last_error,
      body: r.body,
    }));
  }
}
