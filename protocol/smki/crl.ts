/**
 * Certificate Revocation Lists: issued with @peculiar/x509, read back into plain values, verified against the
 * issuing CA's public key. Serials are decimal strings here, as everywhere in the SMKI code.
 */
import type { KeyObject, webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, CRLReason, CertificateList, id_ce_cRLNumber, id_ce_cRLReasons } from '@peculiar/asn1-x509';
import { nameToString, readPart } from './certificate.ts';
import { keyIdentifierHex } from './key-id.ts';
import { ECDSA_SHA256, provider, spki, x509 } from './x509-lib.ts';

export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** RFC 5280 CRLReason codes (6, certificateHold, is left out: SMKI revocation is final). */
const REASON_CODE: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
};
const REASON_BY_CODE = new Map<number, RevocationReason>(REVOCATION_REASONS.map((r) => [REASON_CODE[r], r]));

export class CrlError extends Error {
  override readonly name = 'CrlError';
}

export interface CrlEntry {
  serial: string;
  revocationDate: Date;
  reason: RevocationReason;
}

export interface CrlInfo {
  /** DUIS form of the issuer ("CN=HIL-OCA,OU=07"). */
  issuer: string;
  number: bigint | null;
  thisUpdate: Date;
  nextUpdate: Date;
  authorityKeyId: Buffer | null;
  entries: CrlEntry[];
  der: Buffer;
  pem: string;
}

export interface CrlSigner {
  subjectDer: Buffer;
  keyId: Buffer;
  signingKey: webcrypto.CryptoKey;
}

export interface CrlInput {
  thisUpdate: Date;
  /** Required by RFC 5280, and by the ASN.1 parser here, which loses the entries of a CRL without it. */
  nextUpdate: Date;
  number: bigint;
  entries: readonly CrlEntry[];
}

export function serialToHex(serial: string): string {
  const hex = BigInt(serial).toString(16);
  return hex.length % 2 ? '0' + hex : hex;
}

export async function createCrl(signer: CrlSigner, input: CrlInput): Promise<CrlInfo> {
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: new x509.Name(signer.subjectDer),
      thisUpdate: input.thisUpdate,
      nextUpdate: input.nextUpdate,
      signingAlgorithm: ECDSA_SHA256,
      signingKey: signer.signingKey,
      extensions: [
        new x509.AuthorityKeyIdentifierExtension(signer.keyId.toString('hex')),
        new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(Number(input.number)))),
      ],
      // Every entry carries its reason code, "unspecified" included: given an entry without extensions,
      // @peculiar/x509 2.2.0 writes an empty crlEntryExtensions SEQUENCE, which RFC 5280 forbids and OpenSSL rejects.
      entries: input.entries.map((e) => ({
        serialNumber: serialToHex(e.serial),
        revocationDate: e.revocationDate,
        extensions: [reasonExtension(e.reason)],
      })),
    },
    provider,
  );
  return readCrl(new Uint8Array(crl.rawData));
}

function reasonExtension(reason: RevocationReason): x509.Extension {
  return new x509.Extension(id_ce_cRLReasons, false, AsnConvert.serialize(new CRLReason(REASON_CODE[reason])));
}

export function readCrl(input: string | Uint8Array): CrlInfo {
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(typeof input === 'string' ? input : new Uint8Array(input));
  } catch (e) {
    throw new CrlError(`not a CRL: ${(e as Error).message}`);
  }
  const der = Buffer.from(crl.rawData);
  const asn = crlPart('its structure', () => AsnConvert.parse(der, CertificateList));
  if (!crl.nextUpdate) throw new CrlError('CRL has no nextUpdate (RFC 5280 requires it; entries would be misread)');
  const numberExt = crlPart('its extensions', () => crl.getExtension(id_ce_cRLNumber));
  const akiExt = crlPart('its extensions', () => crl.getExtension(x509.AuthorityKeyIdentifierExtension));
  return {
    issuer: nameToString(asn.tbsCertList.issuer),
    number: numberExt ? crlPart('its cRLNumber', () => BigInt(AsnConvert.parse(numberExt.value, CRLNumber).value)) : null,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    authorityKeyId: akiExt?.keyId ? Buffer.from(akiExt.keyId, 'hex') : null,
    entries: crl.entries.map((e, i) =>
      crlPart(`its entry ${i + 1}`, () => ({
        serial: BigInt('0x' + e.serialNumber).toString(10),
        revocationDate: e.revocationDate,
        reason: REASON_BY_CODE.get(e.reason ?? 0) ?? 'unspecified',
      })),
    ),
    der,
    pem: crlPem(der),
  };
}

const crlPart = <T>(what: string, read: () => T): T => readPart(what, read, (m) => new CrlError(m));

/** OpenSSL wants the "X509 CRL" PEM label; @peculiar/x509 writes "CRL". */
function crlPem(der: Buffer): string {
  return `-----BEGIN X509 CRL-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END X509 CRL-----\n`;
}

/** True when the CRL's signature verifies with this public key (and the key id matches, when the CRL names one). */
export async function verifyCrl(crl: CrlInfo | string | Uint8Array, issuerPublicKey: KeyObject): Promise<boolean> {
  const info = typeof crl === 'string' || crl instanceof Uint8Array ? readCrl(crl) : crl;
  if (info.authorityKeyId && info.authorityKeyId.toString('hex') !== keyIdentifierHex(issuerPublicKey)) return false;
  const parsed = new x509.X509Crl(new Uint8Array(info.der));
  try {
    return await parsed.verify({ publicKey: new x509.PublicKey(spki(issuerPublicKey)) }, provider);
  } catch {
    return false;
  }
}
