/**
 * A keystore of SMKI certificates, with private keys where we hold them, looked up by EUI and key usage.
 * Reads the ZAZ1 (DCC Boxed test PKI) JSON format:
 *   { eui: { digitalSignature | keyAgreement: { serial: { certificate, privateKey?, role, name } } } }
 * and loose PEM certificates (public only). Validity dates are recorded, never checked against the wall clock:
 * most ZAZ1 certificates are past notAfter and the RTDS vectors are still signed with them.
 */
import type { KeyObject } from 'node:crypto';
import { type CertificateInfo, CertificateError, issuerNameKey, type KeyUsageName, readCertificate } from './certificate.ts';
import { type Eui, parseEui } from './eui.ts';
import { privateKeyFromPem } from './keys.ts';
import { RemotePartyRole } from './roles.ts';

export interface KeyEntry {
  eui: Eui;
  usage: KeyUsageName;
  /** Remote party role code (organisation certificates) or null (device certificates). */
  role: number | null;
  name: string;
  certificate: CertificateInfo;
  publicKey: KeyObject;
  privateKey: KeyObject | null;
}

export class KeystoreError extends Error {
  override readonly name = 'KeystoreError';
}

/** XML Signing roles: their keys sign DUIS XML, never GBCS. */
export function isXmlSigningRole(role: number | null): boolean {
  return role === RemotePartyRole.xmlSigning || role === RemotePartyRole.dccXmlSigning;
}

export class Keystore {
  private readonly entries: KeyEntry[] = [];

  /** Parses ZAZ1 keystore JSON (text or already-parsed). Errors name the entry that is wrong. */
  static fromZaz1(json: string | unknown): Keystore {
    const store = new Keystore();
    store.addZaz1(json);
    return store;
  }

  addZaz1(json: string | unknown): this {
    let data: unknown = json;
    if (typeof json === 'string') {
      try {
        data = JSON.parse(json);
      } catch (e) {
        throw new KeystoreError(`keystore is not JSON: ${(e as Error).message}`);
      }
    }
    if (!isObject(data)) throw new KeystoreError('keystore must be a JSON object keyed by EUI');
    for (const [euiText, usages] of Object.entries(data)) {
      const eui = parseEui(euiText);
      if (!isObject(usages)) throw new KeystoreError(`${euiText}: expected an object of key usages`);
      for (const [usage, serials] of Object.entries(usages)) {
        if (usage !== 'digitalSignature' && usage !== 'keyAgreement') throw new KeystoreError(`${euiText}: unknown key usage ${usage}`);
        if (!isObject(serials)) throw new KeystoreError(`${euiText}.${usage}: expected an object keyed by serial`);
        for (const [serial, entry] of Object.entries(serials)) {
          const where = `${euiText}.${usage}.${serial}`;
          if (!isObject(entry) || typeof entry.certificate !== 'string') throw new KeystoreError(`${where}: missing certificate`);
          let certificate: CertificateInfo;
          try {
            certificate = readCertificate(entry.certificate);
          } catch (e) {
            throw new KeystoreError(`${where}: ${(e as Error).message}`);
          }
          if (certificate.eui !== eui) throw new KeystoreError(`${where}: certificate is for ${certificate.eui ?? 'no EUI'}`);
          if (certificate.keyUsage !== usage) throw new KeystoreError(`${where}: certificate key usage is ${certificate.keyUsage ?? 'none'}`);
          let privateKey: KeyObject | null = null;
          if (typeof entry.privateKey === 'string' && entry.privateKey.length > 0) {
            try {
              privateKey = privateKeyFromPem(entry.privateKey).privateKey;
            } catch (e) {
              throw new KeystoreError(`${where}: private key: ${(e as Error).message}`);
            }
          }
          this.add({
            eui,
            usage,
            role: certificate.role,
            name: typeof entry.name === 'string' ? entry.name : where,
            certificate,
            publicKey: certificate.publicKey,
            privateKey,
          });
        }
      }
    }
    return this;
  }

  /** Adds a public certificate (organisation or device) read from PEM or DER. */
  addCertificate(pemOrDer: string | Uint8Array, name?: string): KeyEntry {
    const certificate = readCertificate(pemOrDer);
    if (!certificate.eui) throw new CertificateError('certificate carries no EUI-64');
    if (!certificate.keyUsage) throw new CertificateError('certificate is neither digitalSignature nor keyAgreement only');
    return this.add({
      eui: certificate.eui,
      usage: certificate.keyUsage,
      role: certificate.role,
      name: name ?? `${certificate.kind}-${certificate.eui}-${certificate.keyUsage}`,
      certificate,
      publicKey: certificate.publicKey,
      privateKey: null,
    });
  }

  add(entry: KeyEntry): KeyEntry {
    this.entries.push(entry);
    return entry;
  }

  all(): readonly KeyEntry[] {
    return this.entries;
  }

  /** Every entry for this EUI and usage; GBCS lookups exclude XML Signing certificates. */
  find(eui: Eui, usage: KeyUsageName, opts: { gbcs?: boolean; role?: number } = {}): KeyEntry[] {
    return this.entries.filter(
      (e) =>
        e.eui === eui &&
        e.usage === usage &&
        (opts.role === undefined || e.role === opts.role) &&
        (!opts.gbcs || !isXmlSigningRole(e.role)),
    );
  }

  byName(name: string): KeyEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  /** Entry by DUIS KeyInfo: issuer name (spaces after commas ignored) and decimal serial. */
  byIssuerSerial(issuer: string, serial: string): KeyEntry | undefined {
    const name = issuerNameKey(issuer);
    return this.entries.find((e) => e.certificate.serial === serial && issuerNameKey(e.certificate.issuer) === name);
  }

  /**
   * The one private key for a GBCS operation. Where a party holds several for the same usage (ZAZ1 has a
   * replacement "Z1b" set beside the primary "Z1" one), the earliest-issued certificate is the primary.
   */
  signingKey(eui: Eui, usage: KeyUsageName, role?: number): KeyEntry {
    const candidates = this.find(eui, usage, { gbcs: true, ...(role === undefined ? {} : { role }) }).filter((e) => e.privateKey);
    const entry = candidates.sort((a, b) => a.certificate.notBefore.getTime() - b.certificate.notBefore.getTime())[0];
    if (!entry) throw new KeystoreError(`no ${usage} private key for ${eui}${role === undefined ? '' : ` in role ${role}`}`);
    return entry;
  }

  /** The XML Signing entry (role 135, or 137 for the DCC) with a private key for this EUI. */
  xmlSigningKey(eui: Eui): KeyEntry {
    const entry = this.entries.find((e) => e.eui === eui && isXmlSigningRole(e.role) && e.privateKey);
    if (!entry) throw new KeystoreError(`no XML Signing private key for ${eui}`);
    return entry;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
