/**
 * Everything a profile check or a chain walk needs from a certificate, beyond the CertificateInfo that GBCS and
 * DUIS code reads: raw names, key identifiers, constraints, policies, the SAN and the algorithms.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CertificatePolicies,
  KeyUsage,
  Name,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_certificatePolicies,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { type CertificateInfo, CertificateError, OID_HW_MODULE_NAME, nameToString, pemToDer, readCertificate } from './certificate.ts';
import { HardwareModuleName } from './profiles.ts';

export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

export interface SubjectAttribute {
  type: string;
  /** Text for string attributes; DER of the value for anything else (x500UniqueIdentifier's BIT STRING). */
  text: string | null;
  der: Buffer | null;
}

export interface CertificateDetails {
  info: CertificateInfo;
  version: number;
  /** DUIS form, most specific first ("CN=Z1,OU=07"); "" for an empty subject. */
  subject: string;
  subjectDer: Buffer;
  issuerDer: Buffer;
  subjectAttributes: SubjectAttribute[];
  signatureAlgorithm: string;
  /** From node:crypto: 'ec' and 'prime256v1' for every SMKI certificate. */
  publicKeyType: string | undefined;
  namedCurve: string | undefined;
  subjectKeyId: Buffer | null;
  authorityKeyId: Buffer | null;
  basicConstraints: { critical: boolean; ca: boolean; pathLength: number | null } | null;
  keyUsage: { critical: boolean; flags: number } | null;
  policies: { critical: boolean; oids: string[] } | null;
  /** hardwareModuleName entries of the subjectAltName; otherEntries counts anything else in it. */
  subjectAltName: { critical: boolean; hwModules: { hwType: string; serial: Buffer }[]; otherEntries: number } | null;
  /** Every extension OID in order, with its criticality. */
  extensions: { id: string; critical: boolean }[];
}

export function inspectCertificate(input: string | Uint8Array | CertificateInfo): CertificateDetails {
  const info = isInfo(input) ? input : readCertificate(input);
  const der = isInfo(input) ? input.der : typeof input === 'string' ? pemToDer(input) : input;
  const cert = AsnConvert.parse(der, Certificate);
  const tbs = cert.tbsCertificate;
  const details: CertificateDetails = {
    info,
    version: tbs.version + 1,
    subject: nameToString(tbs.subject),
    subjectDer: Buffer.from(AsnConvert.serialize(tbs.subject)),
    issuerDer: Buffer.from(AsnConvert.serialize(tbs.issuer)),
    subjectAttributes: subjectAttributes(tbs.subject),
    signatureAlgorithm: cert.signatureAlgorithm.algorithm,
    publicKeyType: info.publicKey.asymmetricKeyType,
    namedCurve: info.publicKey.asymmetricKeyDetails?.namedCurve,
    subjectKeyId: null,
    authorityKeyId: null,
    basicConstraints: null,
    keyUsage: null,
    policies: null,
    subjectAltName: null,
    extensions: [],
  };
  for (const ext of tbs.extensions ?? []) {
    const critical = ext.critical;
    details.extensions.push({ id: ext.extnID, critical });
    const value = ext.extnValue.buffer;
    try {
      switch (ext.extnID) {
        case id_ce_subjectKeyIdentifier:
          details.subjectKeyId = Buffer.from(AsnConvert.parse(value, SubjectKeyIdentifier).buffer);
          break;
        case id_ce_authorityKeyIdentifier: {
          const aki = AsnConvert.parse(value, AuthorityKeyIdentifier);
          details.authorityKeyId = aki.keyIdentifier ? Buffer.from(aki.keyIdentifier.buffer) : null;
          break;
        }
        case id_ce_basicConstraints: {
          const bc = AsnConvert.parse(value, BasicConstraints);
          details.basicConstraints = { critical, ca: bc.cA, pathLength: bc.pathLenConstraint ?? null };
          break;
        }
        case id_ce_keyUsage:
          details.keyUsage = { critical, flags: AsnConvert.parse(value, KeyUsage).toNumber() };
          break;
        case id_ce_certificatePolicies:
          details.policies = { critical, oids: AsnConvert.parse(value, CertificatePolicies).map((p) => p.policyIdentifier) };
          break;
        case id_ce_subjectAltName: {
          const san = { critical, hwModules: [] as { hwType: string; serial: Buffer }[], otherEntries: 0 };
          for (const gn of AsnConvert.parse(value, SubjectAlternativeName)) {
            if (gn.otherName?.typeId === OID_HW_MODULE_NAME) {
              const hw = AsnConvert.parse(gn.otherName.value, HardwareModuleName);
              san.hwModules.push({ hwType: hw.hwType, serial: Buffer.from(hw.hwSerialNum) });
            } else san.otherEntries++;
          }
          details.subjectAltName = san;
          break;
        }
      }
    } catch (e) {
      throw new CertificateError(`extension ${ext.extnID} is malformed: ${(e as Error).message}`);
    }
  }
  return details;
}

function isInfo(x: unknown): x is CertificateInfo {
  return typeof x === 'object' && x !== null && 'der' in x && 'serial' in x;
}

function subjectAttributes(name: Name): SubjectAttribute[] {
  const out: SubjectAttribute[] = [];
  for (const rdn of name) {
    for (const atv of rdn) {
      const any = atv.value.anyValue;
      out.push({ type: atv.type, text: any ? null : atv.value.toString(), der: any ? Buffer.from(any) : null });
    }
  }
  return out;
}
