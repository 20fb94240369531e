import test from 'ava';
import { readCertificate } from '../../../protocol/smki/certificate.ts';
import { verifyChain } from '../../../protocol/smki/chain.ts';
import { createSmkiHierarchy } from '../../../protocol/smki/hierarchy.ts';
import { generateKeyPair } from '../../../protocol/smki/keys.ts';
import { deviceTemplate, organisationTemplate } from '../../../protocol/smki/profiles.ts';
import { ESME, SUPPLIER, T0, hierarchy, hoursAfter, opensslVerify } from './support.ts';

const LATER = new Date('2027-01-01T00:00:00Z');

test('issued Organisation, XML Signing and Device certificates verify to the root; openssl agrees', async (t) => {
  const h = await hierarchy();
  const org = await h.oca.issueOrganisation({ eui: SUPPLIER, role: 2, usage: 'keyAgreement', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  const xml = await h.oca.issueXmlSigning({ eui: SUPPLIER, publicKey: generateKeyPair().publicKey, notBefore: T0 });
  const dev = await h.dca.issueDevice({ eui: ESME, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  for (const [cert, ca, profile] of [
    [org, h.oca, 'organisation'],
    [xml, h.oca, 'xml-signing'],
    [dev, h.dca, 'device'],
  ] as const) {
    const r = verifyChain(cert, h, LATER);
    if (!r.ok) return t.fail(r.reason);
    t.is(r.profile, profile);
    t.deepEqual(r.chain.map((c) => c.serial), [cert.serial, ca.certificate.serial, h.root.certificate.serial]);
    const o = opensslVerify(h.root.certificate.pem, ca.certificate.pem, cert.pem, LATER);
    t.true(o.ok, o.output);
  }
  t.true(verifyChain(h.oca.certificate, h, LATER).ok);
  t.true(verifyChain(h.root.certificate, h, LATER).ok);
});

test('an Organisation certificate signed by the Device CA is refused: wrong CA for the profile', async (t) => {
  const h = await hierarchy();
  const wrong = await h.dca.sign(organisationTemplate({ eui: SUPPLIER, role: 2, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 }));
  const r = verifyChain(wrong, h, LATER);
  t.false(r.ok);
  if (!r.ok) t.regex(r.reason, /issued by "CN=HIL-DCA", not by the Organisation CA/);
  const devFromOca = await h.oca.sign(deviceTemplate({ eui: ESME, usage: 'keyAgreement', publicKey: generateKeyPair().publicKey, notBefore: T0 }));
  const r2 = verifyChain(devFromOca, h, LATER);
  t.false(r2.ok);
  if (!r2.ok) t.regex(r2.reason, /not by the Device CA/);
});

test('a certificate from another hierarchy with the same CA names is refused', async (t) => {
  const h = await hierarchy();
  const impostor = await createSmkiHierarchy({ at: T0 });
  t.is(impostor.oca.name, h.oca.name);
  const cert = await impostor.oca.issueOrganisation({ eui: SUPPLIER, role: 2, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  const r = verifyChain(cert, h, LATER);
  t.false(r.ok);
  if (!r.ok) t.regex(r.reason, /authority key/);
  t.false(opensslVerify(h.root.certificate.pem, h.oca.certificate.pem, cert.pem, LATER).ok, 'openssl refuses it too');
});

test('a tampered certificate is refused: its signature no longer verifies', async (t) => {
  const h = await hierarchy();
  const cert = await h.oca.issueOrganisation({ eui: SUPPLIER, role: 2, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  // Change the role in the subject from OU=02 to OU=03 without re-signing: still a well-formed certificate.
  const der = Buffer.from(cert.der);
  const ou = der.indexOf(Buffer.from('060355040b13023032', 'hex')); // OID 2.5.4.11, PrintableString "02"
  t.true(ou > 0);
  der[ou + 8] = 0x33;
  const tampered = readCertificate(der);
  t.is(tampered.role, 3);
  const r = verifyChain(tampered, h, LATER);
  t.false(r.ok);
  if (!r.ok) t.regex(r.reason, /signature does not verify with the Organisation CA key/);
  // A flipped bit in the signature itself.
  const sig = Buffer.from(cert.der);
  sig[sig.length - 3]! ^= 0x01;
  t.false(verifyChain(sig, h, LATER).ok);
});

test('validity is checked at the instant given: before notBefore and after notAfter are refused', async (t) => {
  const h = await hierarchy();
  const cert = await h.oca.issueOrganisation({
    eui: SUPPLIER,
    role: 2,
    usage: 'digitalSignature',
    publicKey: generateKeyPair().publicKey,
    notBefore: hoursAfter(T0, 24),
    notAfter: hoursAfter(T0, 48),
  });
  const early = verifyChain(cert, h, hoursAfter(T0, 23));
  t.false(early.ok);
  if (!early.ok) t.regex(early.reason, /not valid until/);
  t.true(verifyChain(cert, h, hoursAfter(T0, 36)).ok);
  const late = verifyChain(cert, h, hoursAfter(T0, 49));
  t.false(late.ok);
  if (!late.ok) t.regex(late.reason, /expired/);
  // The CAs themselves start at T0: nothing verifies before it.
  const dev = await h.dca.issueDevice({ eui: ESME, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  t.false(verifyChain(dev, h, hoursAfter(T0, -1)).ok);
  t.true(verifyChain(dev, h, new Date('9999-12-31T00:00:00Z')).ok, 'Device certificates never expire');
});

test('a certificate that breaks its profile is refused even when correctly signed', async (t) => {
  const h = await hierarchy();
  const template = organisationTemplate({ eui: SUPPLIER, role: 2, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  template.extensions = template.extensions.slice(1); // drop KeyUsage
  const r = verifyChain(await h.oca.sign(template), h, LATER);
  t.false(r.ok);
  if (!r.ok) t.regex(r.reason, /does not conform to its profile: .*keyUsage/);
});

test('an unreadable certificate is refused with a reason, not a crash', async (t) => {
  const h = await hierarchy();
  const r = verifyChain(Buffer.from('3003020100', 'hex'), h, LATER);
  t.false(r.ok);
  if (!r.ok) t.regex(r.reason, /unreadable/);
});
