/**
 * SMKI certificate profiles (GBCS / SMKI as DOMAIN.md section 4 describes them), as templates a
 * CertificateAuthority signs. Field order and encodings follow the ZAZ1 and RTDS certificates so ours look the
 * same under `openssl x509 -text`: extensions KeyUsage, SubjectKeyIdentifier, [SubjectAltName], Certificate
 * Policies, then the AuthorityKeyIdentifier the issuing CA appends.
 */
import type { KeyObject } from 'node:crypto';
import { AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';
import { GeneralName, OtherName, SubjectAlternativeName, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import { OID_CN, OID_HW_MODULE_NAME, OID_OU, OID_UNIQUE_IDENTIFIER, type KeyUsageName } from './certificate.ts';
import { type Eui, euiToBytes } from './eui.ts';
import { keyIdentifier } from './key-id.ts';
import { RemotePartyRole, roleOu } from './roles.ts';
import { x509 } from './x509-lib.ts';

/**
 * Certificate policy OIDs. **[model]** We carry the test-PKI OIDs the reference data carries: the ZAZ1
 * Organisation certificates assert ...8641679.1.2.1.4, the RTDS Device certificates ...1800000.1.2.1.4.
 * CA certificates assert anyPolicy so a policy-checking verifier accepts either below them.
 */
export const POLICY_OID = {
  organisation: '1.2.826.0.1.8641679.1.2.1.4',
  device: '1.2.826.0.1.1800000.1.2.1.4',
  any: '2.5.29.32.0',
} as const;

/** hwType of the hardwareModuleName in RTDS Device certificates. */
export const OID_HW_TYPE_SMKI_DEVICE = '1.2.826.0.1.8641679.1.2.2.1';

/** Device certificates never expire: GBCS devices have no trustworthy clock to check it against. */
export const DEVICE_NOT_AFTER = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

/** RFC 4108 HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }. */
@AsnType({ type: AsnTypeTypes.Sequence })
export class HardwareModuleName {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier }) hwType = '';
  @AsnProp({ type: AsnPropTypes.OctetString }) hwSerialNum: ArrayBuffer = new ArrayBuffer(0);
  constructor(params: Partial<HardwareModuleName> = {}) {
    Object.assign(this, params);
  }
}

/** What a CA needs to sign a certificate; the CA adds serial, issuer, validity checks and the AKI. */
export interface CertificateTemplate {
  /** Subject RDNs in DER order; [] for Device certificates. */
  subject: x509.JsonName;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: x509.Extension[];
}

const KU_FLAGS: Record<KeyUsageName, x509.KeyUsageFlags> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
};

/** X.509 carries time to the second: truncate so the template and the signed certificate agree. */
export function toSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** ZAZ1 Organisation certificates run for N years less one second (2015-10-30T00:00:00 to 2025-10-29T23:59:59). */
export function yearsLater(from: Date, years: number): Date {
  const d = new Date(from.getTime());
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return new Date(d.getTime() - 1000);
}

function subjectKeyIdExtension(publicKey: KeyObject): x509.Extension {
  return new x509.SubjectKeyIdentifierExtension(keyIdentifier(publicKey).toString('hex'));
}

/** 2.5.4.45 takes a BIT STRING: DER 03 09 00 <8 octets>, written as the '#hex' form @peculiar/x509 passes through. */
function uniqueIdentifierValue(eui: Eui): string {
  return '#030900' + euiToBytes(eui).toString('hex');
}

export interface OrganisationProfileInput {
  eui: Eui;
  /** Remote party role code carried in the subject OU. */
  role: number;
  usage: KeyUsageName;
  publicKey: KeyObject;
  notBefore: Date;
  /** Default: ten years less a second, as the ZAZ1 Organisation certificates. */
  notAfter?: Date;
  /** Optional organisation name (ZAZ1: "CN=GITTESTSUPPLIER"). */
  commonName?: string;
}

export function organisationTemplate(input: OrganisationProfileInput): CertificateTemplate {
  if (!Number.isInteger(input.role) || input.role < 0 || input.role > 255) throw new RangeError(`role code out of range: ${input.role}`);
  if ((input.role === RemotePartyRole.xmlSigning || input.role === RemotePartyRole.dccXmlSigning) && input.usage !== 'digitalSignature') {
    throw new RangeError('XML Signing certificates are digitalSignature only');
  }
  const notBefore = toSecond(input.notBefore);
  const subject: x509.JsonName = [];
  if (input.commonName !== undefined) subject.push({ [OID_CN]: [input.commonName] });
  subject.push({ [OID_OU]: [roleOu(input.role)] }, { [OID_UNIQUE_IDENTIFIER]: [uniqueIdentifierValue(input.eui)] });
  return {
    subject,
    publicKey: input.publicKey,
    notBefore,
    notAfter: toSecond(input.notAfter ?? yearsLater(notBefore, 10)),
    extensions: [
      new x509.KeyUsagesExtension(KU_FLAGS[input.usage], true),
      subjectKeyIdExtension(input.publicKey),
      new x509.CertificatePolicyExtension([POLICY_OID.organisation], true),
    ],
  };
}

export interface XmlSigningProfileInput extends Omit<OrganisationProfileInput, 'role' | 'usage'> {
  /** The DCC's own XML Signing certificate carries role 137 instead of 135. */
  dcc?: boolean;
}

export function xmlSigningTemplate(input: XmlSigningProfileInput): CertificateTemplate {
  const { dcc, ...rest } = input;
  return organisationTemplate({ ...rest, role: dcc ? RemotePartyRole.dccXmlSigning : RemotePartyRole.xmlSigning, usage: 'digitalSignature' });
}

export interface DeviceProfileInput {
  eui: Eui;
  usage: KeyUsageName;
  publicKey: KeyObject;
  notBefore: Date;
}

/** The hardwareModuleName otherName as a critical subjectAltName: the only place a Device certificate names its device. */
export function hwModuleNameExtension(eui: Eui, hwType: string = OID_HW_TYPE_SMKI_DEVICE): x509.Extension {
  const hw = new HardwareModuleName({ hwType, hwSerialNum: new Uint8Array(euiToBytes(eui)).buffer });
  const san = new SubjectAlternativeName([
    new GeneralName({ otherName: new OtherName({ typeId: OID_HW_MODULE_NAME, value: AsnConvert.serialize(hw) }) }),
  ]);
  return new x509.Extension(id_ce_subjectAltName, true, AsnConvert.serialize(san));
}

export function deviceTemplate(input: DeviceProfileInput): CertificateTemplate {
  return {
    subject: [],
    publicKey: input.publicKey,
    notBefore: toSecond(input.notBefore),
    notAfter: DEVICE_NOT_AFTER,
    extensions: [
      new x509.KeyUsagesExtension(KU_FLAGS[input.usage], true),
      subjectKeyIdExtension(input.publicKey),
      hwModuleNameExtension(input.eui),
      new x509.CertificatePolicyExtension([POLICY_OID.device], true),
    ],
  };
}

export interface CaProfileInput {
  subject: x509.JsonName;
  publicKey: KeyObject;
  notBefore: Date;
  /** Default 9999-12-31T23:59:59Z: a CA must outlive the Device certificates below it, which never expire. */
  notAfter?: Date;
  /** 0 for an issuing CA (end-entity certificates only below it); undefined for the root. */
  pathLength?: number;
}

export function caTemplate(input: CaProfileInput): CertificateTemplate {
  return {
    subject: input.subject,
    publicKey: input.publicKey,
    notBefore: toSecond(input.notBefore),
    notAfter: toSecond(input.notAfter ?? DEVICE_NOT_AFTER),
    extensions: [
      new x509.BasicConstraintsExtension(true, input.pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      subjectKeyIdExtension(input.publicKey),
      new x509.CertificatePolicyExtension([POLICY_OID.any], false),
    ],
  };
}

/** CA subject in SMKI style: role OU first, then CN, as the ZAZ1 issuer "OU=07, CN=Z1" (DUIS writes "CN=Z1,OU=07"). */
export function caSubject(commonName: string, role?: number): x509.JsonName {
  const subject: x509.JsonName = [];
  if (role !== undefined) subject.push({ [OID_OU]: [roleOu(role)] });
  subject.push({ [OID_CN]: [commonName] });
  return subject;
}
