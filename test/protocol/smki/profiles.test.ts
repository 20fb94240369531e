import test from 'ava';
import { pemToDer, readCertificate } from '../../../protocol/smki/certificate.ts';
import { inspectCertificate } from '../../../protocol/smki/certificate-details.ts';
import { keyIdentifier } from '../../../protocol/smki/key-id.ts';
import { generateKeyPair } from '../../../protocol/smki/keys.ts';
import { Keystore } from '../../../protocol/smki/keystore.ts';
import { profileOf, profileProblems } from '../../../protocol/smki/profile-check.ts';
import { DEVICE_NOT_AFTER, organisationTemplate, xmlSigningTemplate } from '../../../protocol/smki/profiles.ts';
import { RemotePartyRole } from '../../../protocol/smki/roles.ts';
import { readFixture, zaz1KeystorePath } from '../../helpers/fixtures.ts';
import { readFileSync } from 'node:fs';
import { ESME, SUPPLIER, T0, hierarchy, opensslText } from './support.ts';

const flat = (s: string) => s.replace(/\s+/g, ' ');
const colonHex = (b: Buffer) => b.toString('hex').toUpperCase().match(/../g)!.join(':');
const zaz1 = Keystore.fromZaz1(readFileSync(zaz1KeystorePath, 'utf8'));

test('an Organisation certificate reads back through readCertificate: role, EUI, usage, serial, issuer, key', async (t) => {
  const { oca } = await hierarchy();
  const keys = generateKeyPair();
  const serial = 0x4fbc525201a1d7586c1bc1c4734deb9fn;
  const cert = await oca.issueOrganisation({ eui: SUPPLIER, role: RemotePartyRole.supplier, usage: 'digitalSignature', publicKey: keys.publicKey, notBefore: T0 }, serial);
  const info = readCertificate(cert.pem);
  t.is(info.kind, 'organisation');
  t.is(info.role, 2);
  t.is(info.eui, SUPPLIER);
  t.is(info.keyUsage, 'digitalSignature');
  t.is(info.serial, serial.toString(10));
  t.is(info.issuer, 'CN=HIL-OCA,OU=07');
  t.true(info.publicKey.equals(keys.publicKey));
  t.deepEqual(info.notBefore, T0);
  t.deepEqual(info.notAfter, new Date('2035-05-31T23:59:59Z'), 'ten years less a second, as ZAZ1');
});

test('openssl shows an Organisation KA certificate as the ZAZ1 ones look', async (t) => {
  const { oca } = await hierarchy();
  const keys = generateKeyPair();
  const cert = await oca.issueOrganisation({ eui: SUPPLIER, role: 2, usage: 'keyAgreement', publicKey: keys.publicKey, notBefore: T0, commonName: 'GITTESTSUPPLIER' });
  const text = flat(opensslText(cert.pem));
  t.true(text.includes('Signature Algorithm: ecdsa-with-SHA256'));
  t.true(text.includes('Issuer: OU = 07, CN = HIL-OCA'));
  t.true(text.includes('Subject: CN = GITTESTSUPPLIER, OU = 02, x500UniqueIdentifier = #03090090B3D51F30010000'));
  t.true(text.includes('ASN1 OID: prime256v1'));
  t.true(text.includes('X509v3 Key Usage: critical Key Agreement X509v3'));
  t.true(text.includes(`X509v3 Subject Key Identifier: ${colonHex(keyIdentifier(keys.publicKey))}`));
  t.true(text.includes('X509v3 Certificate Policies: critical Policy: 1.2.826.0.1.8641679.1.2.1.4'));
  t.true(text.includes(`X509v3 Authority Key Identifier: ${colonHex(oca.keyId)}`));
});

test('an Organisation certificate has the ZAZ1 extension layout: same extensions, order and criticality', async (t) => {
  const { oca } = await hierarchy();
  const cert = await oca.issueOrganisation({ eui: SUPPLIER, role: 2, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  const ours = inspectCertificate(cert);
  const theirs = inspectCertificate(zaz1.byName('Z1-supplier-ds')!.certificate);
  t.deepEqual(ours.extensions, theirs.extensions);
  t.is(ours.subjectKeyId!.length, 8);
  t.deepEqual(ours.authorityKeyId, oca.keyId);
  t.deepEqual(profileProblems(ours), []);
  t.deepEqual(profileProblems(theirs), [], 'the ZAZ1 supplier certificate passes our profile check too');
});

test('XML Signing certificates carry role 135 (OU=87), the DCC one role 137 (OU=89), digitalSignature only', async (t) => {
  const { oca } = await hierarchy();
  const user = await oca.issueXmlSigning({ eui: SUPPLIER, publicKey: generateKeyPair().publicKey, notBefore: T0 });
  const dcc = await oca.issueXmlSigning({ eui: SUPPLIER, publicKey: generateKeyPair().publicKey, notBefore: T0, dcc: true });
  t.is(readCertificate(user.der).role, 135);
  t.is(readCertificate(dcc.der).role, 137);
  t.is(readCertificate(user.der).keyUsage, 'digitalSignature');
  t.is(profileOf(inspectCertificate(user)), 'xml-signing');
  t.deepEqual(profileProblems(inspectCertificate(dcc)), []);
  const text = flat(opensslText(user.pem));
  t.true(text.includes('Subject: OU = 87, x500UniqueIdentifier = #03090090B3D51F30010000'));
  t.true(text.includes('X509v3 Key Usage: critical Digital Signature'));
  t.true(flat(opensslText(dcc.pem)).includes('Subject: OU = 89,'));
  t.throws(() => organisationTemplate({ eui: SUPPLIER, role: 135, usage: 'keyAgreement', publicKey: generateKeyPair().publicKey, notBefore: T0 }), {
    message: /digitalSignature only/,
  });
  t.is(xmlSigningTemplate({ eui: SUPPLIER, publicKey: generateKeyPair().publicKey, notBefore: T0 }).extensions.length, 3);
});

for (const usage of ['digitalSignature', 'keyAgreement'] as const) {
  test(`a Device ${usage} certificate: empty subject, hwModuleName SAN with the EUI, notAfter 9999-12-31`, async (t) => {
    const { dca } = await hierarchy();
    const keys = generateKeyPair();
    const cert = await dca.issueDevice({ eui: ESME, usage, publicKey: keys.publicKey, notBefore: T0 });
    const info = readCertificate(cert.pem);
    t.is(info.kind, 'device');
    t.is(info.eui, ESME);
    t.is(info.role, null);
    t.is(info.keyUsage, usage);
    t.is(info.issuer, 'CN=HIL-DCA');
    t.deepEqual(info.notAfter, DEVICE_NOT_AFTER);
    t.true(info.publicKey.equals(keys.publicKey));
    const text = flat(opensslText(cert.pem));
    t.true(text.includes('Subject: Subject Public Key Info'), 'empty subject');
    t.true(text.includes('Not After : Dec 31 23:59:59 9999 GMT'));
    t.true(text.includes('X509v3 Subject Alternative Name: critical othername: 1.3.6.1.5.5.7.8.4::'));
    t.true(text.includes(`X509v3 Key Usage: critical ${usage === 'digitalSignature' ? 'Digital Signature' : 'Key Agreement'} X509v3`));
    t.true(text.includes('X509v3 Certificate Policies: critical Policy: 1.2.826.0.1.1800000.1.2.1.4'));
  });
}

test('a Device certificate has the layout of the RTDS ESME certificate, SAN bytes included', async (t) => {
  const { dca } = await hierarchy();
  const cert = await dca.issueDevice({ eui: ESME, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  const ours = inspectCertificate(cert);
  const rtds = inspectCertificate(readFixture('keystore', '00db1234567890a0-ds.pem'));
  t.deepEqual(ours.extensions, rtds.extensions);
  t.deepEqual(ours.subjectAltName, rtds.subjectAltName);
  t.deepEqual(ours.subjectDer, rtds.subjectDer);
  t.deepEqual(profileProblems(ours), []);
  t.deepEqual(profileProblems(rtds), []);
});

test('CA certificates: root OU=00 self-signed, OCA OU=07 like ZAZ1 "OU=07, CN=Z1", DCA CN only; all CA:TRUE', async (t) => {
  const { root, oca, dca } = await hierarchy();
  t.is(root.name, 'CN=HIL-ROOT,OU=00');
  t.is(oca.name, 'CN=HIL-OCA,OU=07');
  t.is(dca.name, 'CN=HIL-DCA');
  for (const ca of [root, oca, dca]) {
    t.is(ca.certificate.kind, 'ca');
    t.deepEqual(profileProblems(ca.details), []);
  }
  t.is(profileOf(root.details), 'root-ca');
  t.is(profileOf(oca.details), 'issuing-ca');
  const text = flat(opensslText(oca.certificate.pem));
  t.true(text.includes('X509v3 Basic Constraints: critical CA:TRUE, pathlen:0'));
  t.true(text.includes('X509v3 Key Usage: critical Certificate Sign, CRL Sign'));
  t.true(text.includes('Issuer: OU = 00, CN = HIL-ROOT'));
});

test('the profile check reports what is wrong with a certificate that breaks its profile', async (t) => {
  const { oca } = await hierarchy();
  // An Organisation-shaped certificate with no EUI and no extensions, signed through the low-level sign().
  const bad = await oca.sign({
    subject: [{ '2.5.4.11': ['02'] }],
    publicKey: generateKeyPair().publicKey,
    notBefore: T0,
    notAfter: new Date('2030-01-01T00:00:00Z'),
    extensions: [],
  });
  const problems = profileProblems(inspectCertificate(bad));
  t.true(problems.includes('no subjectKeyIdentifier'));
  t.true(problems.includes('keyUsage missing or not critical'));
  t.true(problems.some((p) => p.includes('x500UniqueIdentifier')));
  t.true(problems.some((p) => p.includes('certificatePolicies')));
});

test('the serial of an issued certificate is a positive 16-octet integer', async (t) => {
  const { oca } = await hierarchy();
  for (let i = 0; i < 5; i++) {
    const cert = await oca.issueXmlSigning({ eui: SUPPLIER, publicKey: generateKeyPair().publicKey, notBefore: T0 });
    const hex = BigInt(cert.serial).toString(16);
    t.true(hex.length === 31 || hex.length === 32, hex);
    t.false(/^[89a-f]/.test(hex.padStart(32, '0')), 'top bit clear: no sign octet in DER');
  }
});

test('a certificate with a malformed extension is refused with a CertificateError naming it, not a library error', (t) => {
  const der = pemToDer(readFixture('keystore', '00db1234567890a0-ds.pem'));
  const keyUsage = der.indexOf(Buffer.from('0603551d0f', 'hex'));
  let value = keyUsage + 5;
  if (der[value] === 0x01) value += 3; // the critical flag
  const damaged = Buffer.from(der);
  damaged[value + 2] = 0x04; // the BIT STRING inside written as an OCTET STRING
  t.throws(() => readCertificate(damaged), { name: 'CertificateError', message: /^its keyUsage extension is malformed/ });
});

test('a certificate whose public key is not a point on the curve is refused with a CertificateError, not a library error', (t) => {
  const damaged = Buffer.from(pemToDer(readFixture('keystore', '00db1234567890a0-ds.pem')));
  // The P-256 key's BIT STRING: 03 42 00 04 X Y. Changing Y's last bit takes the point off the curve.
  const at = damaged.indexOf(Buffer.from('03420004', 'hex'));
  t.true(at > 0);
  damaged[at + 4 + 63]! ^= 0x01;
  t.throws(() => readCertificate(damaged), { name: 'CertificateError', message: /^its public key is malformed/ });
});
