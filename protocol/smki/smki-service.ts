/**
 * The mock SMKI service: CA hierarchy, issuing policy, revocation register and directory behind one object.
 * Pure and in memory (the mock DCC puts HTTP in front of it). Time comes from the clock it is given, or from
 * the `at` of each question; nothing here reads the wall clock.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { type CertificateInfo, readCertificate } from './certificate.ts';
import { type CertificateProduct, PRODUCT_DESCRIPTIONS } from './certificate-products.ts';
import { type ChainResult, verifyChain } from './chain.ts';
import type { CrlInfo, RevocationReason } from './crl.ts';
import { CertificateDirectory, type DirectoryEntry, type DirectoryQuery, type Party } from './directory.ts';
import type { Eui } from './eui.ts';
import { type SmkiHierarchy, createSmkiHierarchy } from './hierarchy.ts';
import { ISSUING_POLICY, type IssuingPolicy, type Requester, checkIssuingPolicy } from './issuing-policy.ts';
import { generateKeyPair } from './keys.ts';
import type { Keystore } from './keystore.ts';
import { type CertificateRef, RevocationRegister, type RevocationRecord, type RevocationStatus, countsAsValid } from './revocation-register.ts';
import { zaz1Entries } from './zaz1-import.ts';
import { provider, x509 } from './x509-lib.ts';

export type Clock = () => Date;

export class SmkiServiceError extends Error {
  override readonly name = 'SmkiServiceError';
}

export interface CertificateRequest {
  requester: { eui: Eui; role: Requester };
  product: CertificateProduct;
  /** Subject OU of an Organisation certificate; default: the requester role's remote party role. */
  remotePartyRole?: number;
  /** The device a Device certificate is for. Organisation and XML Signing certificates name the requester's EUI. */
  deviceEui?: Eui;
  /**
   * The subject's public key. With neither this nor `csr`, SMKI generates the key pair and returns the private
   * key (what emulated parties want).
   */
  publicKey?: KeyObject;
  /** A PKCS#10 request (PEM or DER) whose signature proves possession of the key. */
  csr?: string | Uint8Array;
  /** Optional organisation name in the subject CN of Organisation and XML Signing certificates. */
  commonName?: string;
  /** Directory name; default derived from product, EUI and serial. */
  name?: string;
  notAfter?: Date;
}

export interface IssuedCertificate {
  entry: DirectoryEntry;
  certificate: CertificateInfo;
  /** Present when SMKI generated the key pair. */
  privateKey: KeyObject | null;
}

export type CertificateStatus =
  | RevocationStatus
  | { state: 'expired'; notAfter: Date }
  | { state: 'not-yet-valid'; notBefore: Date }
  | { state: 'unknown' };

/** A decimal serial (unique across what SMKI knows, else ambiguous), or issuer and serial (a CertificateInfo fits). */
export type CertRef = string | CertificateRef;

export type VerificationResult =
  | { ok: true; trust: 'hierarchy' | 'imported'; status: CertificateStatus; entry: DirectoryEntry | null }
  | { ok: false; reason: string; status: CertificateStatus | null };

export interface SmkiServiceOptions {
  clock: Clock;
  /** Default: a fresh hierarchy with notBefore = clock(), keys derived from `seed` when given. */
  hierarchy?: SmkiHierarchy;
  seed?: string;
  policy?: IssuingPolicy;
  /** CRL nextUpdate - thisUpdate; default one day. */
  crlLifetimeMs?: number;
  /**
   * The last cRLNumber issued and where to keep each new one, for a service that outlives its process: RFC 5280
   * 5.2.3 wants the numbers to increase for as long as the CA issues CRLs. Default: from 0, kept in memory.
   */
  crlNumbers?: { last: bigint; keep(n: bigint): void };
}

const DAY_MS = 24 * 3600 * 1000;

export class SmkiService {
  readonly directory = new CertificateDirectory();
  readonly register = new RevocationRegister();
  private crlNumber: bigint;
  private latest: CrlInfo | null = null;

  private constructor(
    readonly hierarchy: SmkiHierarchy,
    readonly policy: IssuingPolicy,
    private readonly clock: Clock,
    private readonly crlLifetimeMs: number,
    private readonly crlNumbers: SmkiServiceOptions['crlNumbers'],
  ) {
    this.crlNumber = crlNumbers?.last ?? 0n;
  }

  static async create(options: SmkiServiceOptions): Promise<SmkiService> {
    const hierarchy =
      options.hierarchy ?? (await createSmkiHierarchy({ at: options.clock(), ...(options.seed === undefined ? {} : { seed: options.seed }) }));
    return new SmkiService(hierarchy, options.policy ?? ISSUING_POLICY, options.clock, options.crlLifetimeMs ?? DAY_MS, options.crlNumbers);
  }

  /** Loads a ZAZ1 keystore (JSON text, parsed JSON or Keystore): parties, certificates and keys, trusted as imported. */
  importZaz1(source: string | unknown): DirectoryEntry[] {
    return zaz1Entries(source).map((e) => this.directory.add(e));
  }

  /** Trusts one certificate from outside our hierarchy (the RTDS Device certificates, say), without validity checks. */
  importCertificate(pemOrDer: string | Uint8Array, options: { name?: string; privateKey?: KeyObject } = {}): DirectoryEntry {
    return this.directory.add({
      name: options.name ?? '',
      certificate: readCertificate(pemOrDer),
      privateKey: options.privateKey ?? null,
      source: 'external',
      checkValidity: false,
      requester: null,
    });
  }

  /** Issues a certificate after the issuing-policy check; an IssuingPolicyError says why a request is refused. */
  async issue(request: CertificateRequest): Promise<IssuedCertificate> {
    const { requester, product } = request;
    const decision = checkIssuingPolicy(
      { requester: requester.role, product, ...(request.remotePartyRole === undefined ? {} : { remotePartyRole: request.remotePartyRole }) },
      this.policy,
    );
    const notBefore = this.clock();
    // A certificate from a CA not yet (or no longer) valid would fail its own chain; the gateway checks only the
    // end entity's dates, so it would authenticate there all the same.
    const ca = product === 'device-ds' || product === 'device-ka' ? this.hierarchy.dca : this.hierarchy.oca;
    if (notBefore < ca.certificate.notBefore || notBefore > ca.certificate.notAfter) {
      throw new SmkiServiceError(`SMKI issues nothing at ${notBefore.toISOString()}: its ${ca.purpose} CA is valid from ${ca.certificate.notBefore.toISOString()} to ${ca.certificate.notAfter.toISOString()}`);
    }
    const { publicKey, privateKey } = await this.subjectKey(request);
    const common = { publicKey, notBefore, ...(request.commonName === undefined ? {} : { commonName: request.commonName }) };
    if (request.notAfter && request.notAfter <= notBefore) throw new SmkiServiceError(`notAfter ${request.notAfter.toISOString()} is not after the certificate's start, ${notBefore.toISOString()}`);
    const validity = request.notAfter ? { notAfter: request.notAfter } : {};
    let certificate: CertificateInfo;
    if (product === 'device-ds' || product === 'device-ka') {
      if (!request.deviceEui) throw new SmkiServiceError(`a ${PRODUCT_DESCRIPTIONS[product]} request needs deviceEui`);
      certificate = await this.hierarchy.dca.issueDevice({
        eui: request.deviceEui,
        usage: product === 'device-ds' ? 'digitalSignature' : 'keyAgreement',
        publicKey,
        notBefore,
      });
    } else if (product === 'xml-signing') {
      certificate = await this.hierarchy.oca.issueXmlSigning({ ...common, ...validity, eui: requester.eui, dcc: requester.role === 'DCC' });
    } else {
      certificate = await this.hierarchy.oca.issueOrganisation({
        ...common,
        ...validity,
        eui: requester.eui,
        role: decision.remotePartyRole!,
        usage: product === 'organisation-ds' ? 'digitalSignature' : 'keyAgreement',
      });
    }
    const entry = this.directory.add({
      name: request.name ?? '',
      certificate,
      privateKey,
      source: 'issued',
      checkValidity: true,
      requester,
    });
    return { entry, certificate, privateKey };
  }

  private async subjectKey(request: CertificateRequest): Promise<{ publicKey: KeyObject; privateKey: KeyObject | null }> {
    let publicKey: KeyObject;
    if (request.csr !== undefined) {
      const csr = new x509.Pkcs10CertificateRequest(typeof request.csr === 'string' ? request.csr : new Uint8Array(request.csr));
      if (!(await csr.verify(provider))) throw new SmkiServiceError('certificate request signature does not verify (no proof of possession)');
      publicKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    } else if (request.publicKey) {
      publicKey = request.publicKey;
    } else {
      return generateKeyPair();
    }
    if (publicKey.asymmetricKeyType !== 'ec' || publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new SmkiServiceError('SMKI certificates carry P-256 (prime256v1) keys only');
    }
    return { publicKey, privateKey: null };
  }

  /** The directory entry a reference names, or undefined; a bare serial held under two issuers is an error. */
  lookup(ref: CertRef): DirectoryEntry | undefined {
    if (typeof ref !== 'string') return this.directory.byIssuerSerial(ref.issuer, ref.serial);
    const found = this.directory.bySerial(ref);
    if (found.length > 1) throw new SmkiServiceError(`serial ${ref} is held under ${found.length} issuers: name the issuer`);
    return found[0];
  }

  byIssuerSerial(issuer: string, serial: string): DirectoryEntry | undefined {
    return this.directory.byIssuerSerial(issuer, serial);
  }

  find(query: DirectoryQuery): DirectoryEntry[] {
    return this.directory.find(query);
  }

  party(eui: Eui): Party | undefined {
    return this.directory.party(eui);
  }

  /**
   * Revokes now, or (PMA-ordered delay) with effect at `at`. Certificates of any source can be revoked; only
   * those our OCA issued appear on its CRL.
   */
  revoke(ref: CertRef, options: { at?: Date; reason?: RevocationReason; orderedBy?: string; requestedAt?: Date } = {}): RevocationRecord {
    const entry = this.lookup(ref);
    if (!entry) throw new SmkiServiceError(`no certificate ${typeof ref === 'string' ? ref : `${ref.serial} of "${ref.issuer}"`} in the SMKI directory`);
    return this.register.revoke(entry.certificate, {
      // The caller's instant when it has one, so that what it reports of the order is about this very time.
      requestedAt: options.requestedAt ?? this.clock(),
      ...(options.at ? { effectiveAt: options.at } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
      ...(options.orderedBy ? { orderedBy: options.orderedBy } : {}),
    });
  }

  /**
   * Status at `at`: revoked wins; then, for certificates whose validity is checked, expired / not-yet-valid;
   * then valid or revocation-delayed-until (which still counts as valid: see countsAsValid).
   */
  status(ref: CertRef, at: Date): CertificateStatus {
    const entry = this.lookup(ref);
    if (!entry) return { state: 'unknown' };
    return this.statusOf(entry.certificate, entry.checkValidity, at);
  }

  /** Whether a directory entry's certificate counts as valid at `at` (see countsAsValid), without looking it up again. */
  validAt(entry: DirectoryEntry, at: Date): boolean {
    return countsAsValid(this.statusOf(entry.certificate, entry.checkValidity, at));
  }

  private statusOf(certificate: CertificateInfo, checkValidity: boolean, at: Date): CertificateStatus {
    const revocation = this.register.status(certificate, at);
    if (revocation.state === 'revoked') return revocation;
    if (checkValidity && at < certificate.notBefore) return { state: 'not-yet-valid', notBefore: certificate.notBefore };
    if (checkValidity && at > certificate.notAfter) return { state: 'expired', notAfter: certificate.notAfter };
    return revocation;
  }

  /**
   * May this certificate be relied on at `at`? Our own certificates must chain to our root; imported ones must be
   * byte-identical to what was imported. Then the status must count as valid.
   */
  verify(certificate: CertificateInfo | string | Uint8Array, at: Date): VerificationResult {
    let info: CertificateInfo;
    try {
      info = typeof certificate === 'string' || certificate instanceof Uint8Array ? readCertificate(certificate) : certificate;
    } catch (e) {
      return { ok: false, reason: `unreadable certificate: ${(e as Error).message}`, status: null };
    }
    const entry = this.directory.byIssuerSerial(info.issuer, info.serial) ?? null;
    let trust: 'hierarchy' | 'imported';
    if (entry && entry.source !== 'issued') {
      if (!entry.certificate.der.equals(info.der)) return { ok: false, reason: `not the certificate imported as ${entry.name}`, status: null };
      trust = 'imported';
    } else {
      const chain: ChainResult = verifyChain(info, this.hierarchy, at);
      if (!chain.ok) return { ok: false, reason: chain.reason, status: null };
      if (entry && !entry.certificate.der.equals(info.der)) return { ok: false, reason: `not the certificate SMKI issued as serial ${info.serial}`, status: null };
      trust = 'hierarchy';
    }
    const status = this.statusOf(info, entry?.checkValidity ?? true, at);
    if (!countsAsValid(status)) return { ok: false, reason: `certificate ${info.serial} is ${describeStatus(status)}`, status };
    return { ok: true, trust, status, entry };
  }

  /** Issues the next Organisation CRL: every revocation of an OCA certificate in effect at `at` (default now). */
  async crl(options: { at?: Date } = {}): Promise<CrlInfo> {
    const thisUpdate = options.at ?? this.clock();
    const entries = this.register
      .effective(this.hierarchy.oca.name, thisUpdate)
      .map((r) => ({ serial: r.serial, revocationDate: r.effectiveAt, reason: r.reason }));
    this.crlNumber += 1n;
    this.crlNumbers?.keep(this.crlNumber);
    this.latest = await this.hierarchy.oca.issueCrl({
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + this.crlLifetimeMs),
      number: this.crlNumber,
      entries,
    });
    return this.latest;
  }

  /** The CRL issued last, if any. */
  latestCrl(): CrlInfo | null {
    return this.latest;
  }

  /** Every certificate and key SMKI knows, as the Keystore type GBCS and DUIS signing code takes. */
  keystore(): Keystore {
    return this.directory.toKeystore();
  }
}

export function describeStatus(status: CertificateStatus): string {
  switch (status.state) {
    case 'valid':
    case 'unknown':
      return status.state;
    case 'revoked':
      return `revoked since ${status.since.toISOString()}`;
    case 'revocation-delayed-until':
      return `valid, revocation delayed until ${status.until.toISOString()}`;
    case 'expired':
      return `expired at ${status.notAfter.toISOString()}`;
    case 'not-yet-valid':
      return `not valid until ${status.notBefore.toISOString()}`;
  }
}
