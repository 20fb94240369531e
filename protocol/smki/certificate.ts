/**
 * Reads what GBCS needs from an SMKI certificate: whose it is (EUI-64), in which role, for which key usage, and
 * its public key. Organisation certificates carry the role in the subject OU and the EUI in
 * x500UniqueIdentifier (2.5.4.45); Device certificates have an empty subject and carry the EUI in a
 * hardwareModuleName otherName (1.3.6.1.5.5.7.8.4) of the subjectAltName.
 */
import { X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, id_ce_keyUsage, id_ce_subjectAltName, KeyUsage, KeyUsageFlags, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { type Eui, euiFromBytes } from './eui.ts';
import { roleName } from './roles.ts';

export const OID_OU = '2.5.4.11';
export const OID_CN = '2.5.4.3';
export const OID_UNIQUE_IDENTIFIER = '2.5.4.45';
export const OID_HW_MODULE_NAME = '1.3.6.1.5.5.7.8.4';

export type KeyUsageName = 'digitalSignature' | 'keyAgreement';

export interface CertificateInfo {
  kind: 'organisation' | 'device' | 'ca';
  eui: Eui | null;
  /** Remote party role code from the OU (organisation certificates), else null. */
  role: number | null;
  keyUsage: KeyUsageName | null;
  /** Decimal string: SMKI serials are up to 128 bits. */
  serial: string;
  /** Issuer as DUIS X509IssuerName writes it ("CN=Z1,OU=07"). */
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  der: Buffer;
  pem: string;
}

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

const SHORT_NAMES: Record<string, string> = { [OID_CN]: 'CN', [OID_OU]: 'OU', '2.5.4.10': 'O', '2.5.4.6': 'C' };

/** A BIT STRING's content octets (unused-bits octet dropped), parsed from its DER encoding. */
function bitStringOctets(der: Uint8Array): Uint8Array | null {
  if (der.length < 3 || der[0] !== 0x03) return null;
  const len = der[1]!;
  if (len >= 0x80 || len + 2 !== der.length || der[2] !== 0) return null;
  return der.subarray(3);
}

function attributeText(value: { toString(): string; anyValue?: ArrayBuffer }): string {
  return value.toString();
}

export function pemToDer(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new CertificateError('no PEM CERTIFICATE block found');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

export function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** Issuer or subject in the comma-joined "CN=Z1,OU=07" form DUIS uses, most specific RDN first. */
export function nameToString(rdns: Certificate['tbsCertificate']['issuer']): string {
  const parts: string[] = [];
  for (const rdn of rdns) for (const atv of rdn) parts.push(`${SHORT_NAMES[atv.type] ?? atv.type}=${attributeText(atv.value)}`);
  return parts.reverse().join(',');
}

/** Reads one part of a certificate or CRL; what the ASN.1 library throws on a malformed part becomes `fail`'s error, naming the part. */
export function readPart<T>(what: string, read: () => T, fail: (message: string) => Error): T {
  try {
    return read();
  } catch (e) {
    throw fail(`${what} is malformed: ${(e as Error).message}`);
  }
}

const certificatePart = <T>(what: string, read: () => T): T => readPart(what, read, (m) => new CertificateError(m));

export function readCertificate(input: string | Uint8Array): CertificateInfo {
  const der = typeof input === 'string' ? pemToDer(input) : Buffer.from(input);
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch (e) {
    throw new CertificateError(`not an X.509 certificate: ${(e as Error).message}`);
  }
  const tbs = cert.tbsCertificate;
  let role: number | null = null;
  // An Organisation certificate names its EUI in the subject, a Device certificate (empty subject) in its SAN:
  // each is read from its own place only, so a SAN cannot name another organisation than the subject.
  let eui: Eui | null = null;
  let sanEui: Eui | null = null;
  for (const rdn of tbs.subject) {
    for (const atv of rdn) {
      if (atv.type === OID_OU) {
        const ou = attributeText(atv.value);
        if (/^[0-9A-Fa-f]{2}$/.test(ou)) role = parseInt(ou, 16);
      } else if (atv.type === OID_UNIQUE_IDENTIFIER && atv.value.anyValue) {
        const octets = bitStringOctets(new Uint8Array(atv.value.anyValue));
        if (octets?.length === 8) eui = euiFromBytes(octets);
      }
    }
  }
  let keyUsage: KeyUsageName | null = null;
  let isCa = false;
  for (const ext of tbs.extensions ?? []) {
    if (ext.extnID === id_ce_keyUsage) {
      const ku = certificatePart('its keyUsage extension', () => {
        const parsed = AsnConvert.parse(ext.extnValue, KeyUsage);
        parsed.toNumber(); // a value of the wrong ASN.1 type fails only here
        return parsed;
      });
      const flags = ku.toNumber();
      if (flags & (KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)) isCa = true;
      else if (flags === KeyUsageFlags.digitalSignature) keyUsage = 'digitalSignature';
      else if (flags === KeyUsageFlags.keyAgreement) keyUsage = 'keyAgreement';
    } else if (ext.extnID === id_ce_subjectAltName) {
      const san = certificatePart('its subjectAltName extension', () => AsnConvert.parse(ext.extnValue, SubjectAlternativeName));
      for (const gn of san) {
        if (gn.otherName?.typeId === OID_HW_MODULE_NAME) {
          sanEui = hwModuleSerial(new Uint8Array(gn.otherName.value)) ?? sanEui;
        }
      }
    }
  }
  // node:crypto decodes the key when asked for it: a point off the curve fails there, not at the certificate.
  const publicKey = certificatePart('its public key', () => new NodeX509(der).publicKey);
  const kind = isCa ? 'ca' : tbs.subject.length === 0 ? 'device' : 'organisation';
  return {
    kind,
    eui: kind === 'device' ? sanEui : eui,
    role: kind === 'organisation' ? role : null,
    keyUsage,
    serial: BigInt('0x' + Buffer.from(tbs.serialNumber).toString('hex')).toString(10),
    issuer: nameToString(tbs.issuer),
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    publicKey,
    der,
    pem: derToPem(der),
  };
}

/**
 * HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }, inside the
 * otherName's [0] EXPLICIT wrapper. Returns the serial when it is an 8-octet EUI.
 */
function hwModuleSerial(value: Uint8Array): Eui | null {
  // Walk the DER by hand: the shapes are fixed and tiny, and asn1-schema has no HardwareModuleName class.
  let p = 0;
  const header = (tag: number): number | null => {
    if (value[p] !== tag) return null;
    const len = value[p + 1]!;
    if (len >= 0x80) return null;
    p += 2;
    return len;
  };
  if (value[p] === 0xa0) header(0xa0); // [0] EXPLICIT, when the value still carries it
  if (header(0x30) === null) return null;
  const oidLen = header(0x06);
  if (oidLen === null) return null;
  p += oidLen;
  const serialLen = header(0x04);
  if (serialLen !== 8) return null;
  if (p + 8 > value.length) return null;
  return euiFromBytes(value.subarray(p, p + 8));
}

export function describeRole(info: CertificateInfo): string {
  if (info.role === null) return info.kind;
  return `${roleName(info.role) ?? 'unknown'} (${info.role})`;
}

/**
 * An issuer name as DUIS KeyInfo and SMKI records are matched on: spaces around the commas between RDNs, and at
 * the ends, do not count. Linear in the name's length (a backtracking pattern here let one request's
 * X509IssuerName of spaces hold the DCC for seconds).
 */
export function issuerNameKey(name: string): string {
  return name
    .split(',')
    .map((rdn) => rdn.trim())
    .join(',');
}
