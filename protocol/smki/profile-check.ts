/**
 * Profile conformance: does a certificate have the shape its SMKI profile requires? Returns the problems found
 * (empty when it conforms) so a caller can report every one, not just the first.
 */
import { KeyUsageFlags, id_ce_basicConstraints, id_ce_certificatePolicies, id_ce_keyUsage, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import { OID_CN, OID_OU, OID_UNIQUE_IDENTIFIER } from './certificate.ts';
import { type CertificateDetails, OID_ECDSA_WITH_SHA256 } from './certificate-details.ts';
import { keyIdentifier } from './key-id.ts';
import { DEVICE_NOT_AFTER, OID_HW_TYPE_SMKI_DEVICE, POLICY_OID } from './profiles.ts';
import { RemotePartyRole, roleName } from './roles.ts';

export type ProfileName = 'organisation' | 'xml-signing' | 'device' | 'root-ca' | 'issuing-ca';

/** The profile a certificate claims to follow, from its shape. */
export function profileOf(d: CertificateDetails): ProfileName {
  if (d.info.kind === 'ca' || d.basicConstraints?.ca) return d.subjectDer.equals(d.issuerDer) ? 'root-ca' : 'issuing-ca';
  if (d.info.kind === 'device') return 'device';
  const role = d.info.role;
  return role === RemotePartyRole.xmlSigning || role === RemotePartyRole.dccXmlSigning ? 'xml-signing' : 'organisation';
}

const KNOWN_CRITICAL = new Set([id_ce_keyUsage, id_ce_basicConstraints, id_ce_certificatePolicies, id_ce_subjectAltName]);
const END_ENTITY_USAGES = new Set<number>([KeyUsageFlags.digitalSignature, KeyUsageFlags.keyAgreement]);

export function profileProblems(d: CertificateDetails, expected: ProfileName = profileOf(d)): string[] {
  const problems: string[] = [];
  const add = (p: string) => problems.push(p);
  const actual = profileOf(d);
  if (actual !== expected) add(`is a ${actual} certificate, expected ${expected}`);

  if (d.version !== 3) add(`version ${d.version}, expected 3`);
  if (d.signatureAlgorithm !== OID_ECDSA_WITH_SHA256) add(`signature algorithm ${d.signatureAlgorithm}, expected ecdsa-with-SHA256`);
  if (d.publicKeyType !== 'ec' || d.namedCurve !== 'prime256v1') add(`public key ${d.publicKeyType}/${d.namedCurve}, expected EC P-256`);
  if (!d.subjectKeyId) add('no subjectKeyIdentifier');
  else if (!d.subjectKeyId.equals(keyIdentifier(d.info.publicKey))) add('subjectKeyIdentifier is not the 8-octet SMKI key id of the public key');
  if (!d.authorityKeyId) add('no authorityKeyIdentifier');
  else if (d.authorityKeyId.length !== 8) add(`authorityKeyIdentifier is ${d.authorityKeyId.length} octets, expected 8`);
  if (!d.keyUsage?.critical) add('keyUsage missing or not critical');
  for (const ext of d.extensions) if (ext.critical && !KNOWN_CRITICAL.has(ext.id)) add(`unexpected critical extension ${ext.id}`);

  if (actual === 'root-ca' || actual === 'issuing-ca') {
    if (!d.basicConstraints?.critical || !d.basicConstraints.ca) add('basicConstraints cA missing or not critical');
    if (d.keyUsage && !(d.keyUsage.flags & KeyUsageFlags.keyCertSign)) add('CA keyUsage lacks keyCertSign');
    if (d.keyUsage && d.keyUsage.flags & (KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement)) add('CA keyUsage must not allow digitalSignature or keyAgreement');
    return problems;
  }

  // End-entity profiles.
  if (d.basicConstraints?.ca) add('end-entity certificate asserts cA');
  if (d.keyUsage && !END_ENTITY_USAGES.has(d.keyUsage.flags)) add('keyUsage must be exactly one of digitalSignature or keyAgreement');
  const policy = actual === 'device' ? POLICY_OID.device : POLICY_OID.organisation;
  if (!d.policies?.critical || !d.policies.oids.includes(policy)) add(`certificatePolicies must be critical and assert ${policy}`);

  if (actual === 'device') {
    if (d.subjectDer.length !== 2) add('Device certificate subject must be empty');
    const san = d.subjectAltName;
    if (!san?.critical) add('Device certificate needs a critical subjectAltName');
    else if (san.hwModules.length !== 1 || san.otherEntries > 0) add('subjectAltName must hold exactly one hardwareModuleName');
    else {
      const hw = san.hwModules[0]!;
      if (hw.serial.length !== 8) add(`hardwareModuleName serial is ${hw.serial.length} octets, expected an 8-octet EUI-64`);
      if (hw.hwType !== OID_HW_TYPE_SMKI_DEVICE) add(`hardwareModuleName hwType ${hw.hwType}, expected ${OID_HW_TYPE_SMKI_DEVICE}`);
    }
    if (d.info.notAfter.getTime() !== DEVICE_NOT_AFTER.getTime()) add(`notAfter ${d.info.notAfter.toISOString()}, expected 9999-12-31T23:59:59Z`);
    return problems;
  }

  // Organisation and XML Signing.
  if (d.subjectAltName) add('Organisation certificate must not carry a subjectAltName');
  const count = (type: string) => d.subjectAttributes.filter((a) => a.type === type).length;
  if (count(OID_OU) !== 1) add('subject needs exactly one OU (the role code)');
  if (count(OID_UNIQUE_IDENTIFIER) !== 1) add('subject needs exactly one x500UniqueIdentifier (the EUI-64)');
  const others = d.subjectAttributes.filter((a) => ![OID_OU, OID_UNIQUE_IDENTIFIER, OID_CN].includes(a.type));
  if (others.length) add(`unexpected subject attributes ${others.map((a) => a.type).join(', ')}`);
  if (d.info.eui === null) add('x500UniqueIdentifier is not a BIT STRING of 8 octets');
  const role = d.info.role;
  if (role === null) add('OU is not a two-hex-digit role code');
  else if (roleName(role) === undefined || role === RemotePartyRole.root || role === RemotePartyRole.issuingAuthority) {
    add(`role ${role} is not an end-entity remote party role`);
  }
  if (actual === 'xml-signing' && d.info.keyUsage !== 'digitalSignature') add('XML Signing certificates are digitalSignature only');
  return problems;
}
