/**
 * The SMKI repository's view of who holds which certificate: every certificate we issued or imported, grouped
 * into parties by EUI-64, with the private key where we hold it (emulated parties, the ZAZ1 test keys).
 */
import type { KeyObject } from 'node:crypto';
import { type CertificateInfo, issuerNameKey, type KeyUsageName } from './certificate.ts';
import { type CertificateProduct, productOf } from './certificate-products.ts';
import type { Eui } from './eui.ts';
import type { Requester } from './issuing-policy.ts';
import { Keystore } from './keystore.ts';

/** issued: by our hierarchy; zaz1: the DCC Boxed test PKI; external: any other trusted import (RTDS device certs). */
export type CertificateSource = 'issued' | 'zaz1' | 'external';

export interface DirectoryEntry {
  name: string;
  /** The EUI-64 the certificate names: the party's, or the device's for Device certificates. */
  eui: Eui;
  product: CertificateProduct;
  certificate: CertificateInfo;
  privateKey: KeyObject | null;
  source: CertificateSource;
  /** Whether status checks apply notBefore/notAfter. False for imported test PKIs: most ZAZ1 certificates are expired. */
  checkValidity: boolean;
  /** Who asked for it, for certificates we issued. */
  requester: { eui: Eui; role: Requester } | null;
}

export interface Party {
  eui: Eui;
  /** User Roles this party has requested certificates in (empty for imported parties). */
  roles: Set<Requester>;
  entries: DirectoryEntry[];
}

export interface DirectoryQuery {
  eui?: Eui;
  /** Remote party role code (subject OU). */
  role?: number;
  usage?: KeyUsageName;
  product?: CertificateProduct;
  source?: CertificateSource;
  /** Only entries with a private key. */
  withPrivateKey?: boolean;
}

export class DirectoryError extends Error {
  override readonly name = 'DirectoryError';
}

const issuerKey = (issuer: string, serial: string) => `${issuerNameKey(issuer)}#${serial}`;

export class CertificateDirectory {
  private readonly entries: DirectoryEntry[] = [];
  private readonly byKey = new Map<string, DirectoryEntry>();
  /** Entries by EUI, in the order added: a lookup per command stays as cheap with a million certificates as with ten. */
  private readonly byEui = new Map<Eui, DirectoryEntry[]>();
  private readonly partiesByEui = new Map<Eui, Party>();

  add(input: Omit<DirectoryEntry, 'product' | 'eui'> & { name?: string }): DirectoryEntry {
    const { certificate } = input;
    const product = productOf(certificate);
    if (!product) throw new DirectoryError(`certificate ${certificate.serial} is not an SMKI end-entity certificate of a known product (a CA, or its role and key usage do not go together)`);
    if (!certificate.eui) throw new DirectoryError(`certificate ${certificate.serial} names no EUI-64 where its kind carries it (the subject of an Organisation certificate, the subjectAltName of a Device one)`);
    const key = issuerKey(certificate.issuer, certificate.serial);
    if (this.byKey.has(key)) throw new DirectoryError(`certificate ${certificate.serial} of "${certificate.issuer}" is already in the directory`);
    const entry: DirectoryEntry = { ...input, name: input.name || `${product}-${certificate.eui}-${certificate.serial}`, eui: certificate.eui, product };
    this.entries.push(entry);
    this.byKey.set(key, entry);
    const same = this.byEui.get(entry.eui);
    if (same) same.push(entry);
    else this.byEui.set(entry.eui, [entry]);
    if (certificate.kind === 'organisation') {
      const party = this.partyFor(certificate.eui);
      if (entry.requester) party.roles.add(entry.requester.role);
      party.entries.push(entry);
    }
    return entry;
  }

  /**
   * Takes an entry out (a certificate whose issue the store lost: nobody received it, and nothing may trust it). A
   * party's roles are what its remaining certificates were issued for.
   */
  remove(entry: DirectoryEntry): void {
    const key = issuerKey(entry.certificate.issuer, entry.certificate.serial);
    if (this.byKey.get(key) !== entry) return;
    this.byKey.delete(key);
    this.entries.splice(this.entries.indexOf(entry), 1);
    const same = this.byEui.get(entry.eui)!;
    same.splice(same.indexOf(entry), 1);
    if (same.length === 0) this.byEui.delete(entry.eui);
    const party = this.partiesByEui.get(entry.eui);
    if (!party || !party.entries.includes(entry)) return;
    party.entries.splice(party.entries.indexOf(entry), 1);
    party.roles = new Set(party.entries.flatMap((e) => (e.requester ? [e.requester.role] : [])));
    if (party.entries.length === 0) this.partiesByEui.delete(entry.eui);
  }

  private partyFor(eui: Eui): Party {
    let party = this.partiesByEui.get(eui);
    if (!party) this.partiesByEui.set(eui, (party = { eui, roles: new Set(), entries: [] }));
    return party;
  }

  byIssuerSerial(issuer: string, serial: string): DirectoryEntry | undefined {
    return this.byKey.get(issuerKey(issuer, serial));
  }

  /** Every entry with this serial (serials are unique per issuer only). */
  bySerial(serial: string): DirectoryEntry[] {
    return this.entries.filter((e) => e.certificate.serial === serial);
  }

  byName(name: string): DirectoryEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  find(query: DirectoryQuery = {}): DirectoryEntry[] {
    const from = query.eui === undefined ? this.entries : (this.byEui.get(query.eui) ?? []);
    return from.filter(
      (e) =>
        (query.eui === undefined || e.eui === query.eui) &&
        (query.role === undefined || e.certificate.role === query.role) &&
        (query.usage === undefined || e.certificate.keyUsage === query.usage) &&
        (query.product === undefined || e.product === query.product) &&
        (query.source === undefined || e.source === query.source) &&
        (!query.withPrivateKey || e.privateKey !== null),
    );
  }

  /** The party (an organisation: Device certificates belong to no party) whose certificates carry this EUI. */
  party(eui: Eui): Party | undefined {
    return this.partiesByEui.get(eui);
  }

  parties(): Party[] {
    return [...this.partiesByEui.values()];
  }

  all(): readonly DirectoryEntry[] {
    return this.entries;
  }

  /** A Keystore view (the type GBCS and DUIS signing code takes) of every certificate, keys included. */
  toKeystore(): Keystore {
    const store = new Keystore();
    for (const e of this.entries) {
      store.add({
        eui: e.eui,
        usage: e.certificate.keyUsage!,
        role: e.certificate.role,
        name: e.name,
        certificate: e.certificate,
        publicKey: e.certificate.publicKey,
        privateKey: e.privateKey,
      });
    }
    return store;
  }
}
