import test from 'ava';
import { generateKeyPairSync, sign, verify, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { verifyCrl } from '../../../protocol/smki/crl.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { IssuingPolicyError } from '../../../protocol/smki/issuing-policy.ts';
import { RemotePartyRole } from '../../../protocol/smki/roles.ts';
import { SmkiService } from '../../../protocol/smki/smki-service.ts';
import { x509 } from '../../../protocol/smki/x509-lib.ts';
import { RTDS_ESME, deviceCertPath, zaz1KeystorePath } from '../../helpers/fixtures.ts';
import { ESME, SRP, SUPPLIER, T0, hierarchy, hoursAfter } from './support.ts';

const ZAZ1_JSON = readFileSync(zaz1KeystorePath, 'utf8');

/** A service on a clock the test moves by hand. */
async function service() {
  const clock = { now: T0 };
  const smki = await SmkiService.create({ clock: () => clock.now, hierarchy: await hierarchy() });
  return { smki, clock };
}

function signsAndVerifies(privateKey: import('node:crypto').KeyObject, publicKey: import('node:crypto').KeyObject): boolean {
  const sig = sign('sha256', Buffer.from('x'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return verify('sha256', Buffer.from('x'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
}

test('an Import Supplier is granted Digital Signing, Key Agreement and XML Signing certificates', async (t) => {
  const { smki } = await service();
  const requester = { eui: SUPPLIER, role: 'IS' as const };
  const ds = await smki.issue({ requester, product: 'organisation-ds', commonName: 'HIL SUPPLIER' });
  const ka = await smki.issue({ requester, product: 'organisation-ka' });
  const xml = await smki.issue({ requester, product: 'xml-signing' });
  t.is(ds.certificate.role, RemotePartyRole.supplier);
  t.is(ds.certificate.keyUsage, 'digitalSignature');
  t.is(ka.certificate.keyUsage, 'keyAgreement');
  t.is(xml.certificate.role, RemotePartyRole.xmlSigning);
  t.true(signsAndVerifies(ds.privateKey!, ds.certificate.publicKey), 'the generated key belongs to the certificate');
  for (const c of [ds, ka, xml]) {
    const v = smki.verify(c.certificate, hoursAfter(T0, 1));
    t.true(v.ok && v.trust === 'hierarchy', JSON.stringify(v));
  }
  t.deepEqual([...smki.party(SUPPLIER)!.roles], ['IS']);
  t.is(smki.find({ eui: SUPPLIER, role: RemotePartyRole.supplier, usage: 'digitalSignature' })[0], ds.entry);
  t.is(smki.byIssuerSerial('CN=HIL-OCA, OU=07', xml.certificate.serial), xml.entry);
  // The Keystore view is what GBCS and DUIS signing code takes.
  const store = smki.keystore();
  t.is(store.signingKey(SUPPLIER, 'digitalSignature').certificate.serial, ds.certificate.serial);
  t.is(store.xmlSigningKey(SUPPLIER).certificate.serial, xml.certificate.serial);
});

test('SC is refused a Digital Signing certificate with the BR2 error and nothing is issued', async (t) => {
  const { smki } = await service();
  const e = await t.throwsAsync(smki.issue({ requester: { eui: SRP, role: 'SC' }, product: 'organisation-ds' }), { instanceOf: IssuingPolicyError });
  t.is(e?.requirement, 'MP134B BR2');
  t.regex(e?.message ?? '', /BR2.*not Digital Signing certificates for Critical Commands/);
  t.deepEqual(smki.find({ eui: SRP }), []);
  await t.throwsAsync(smki.issue({ requester: { eui: SRP, role: 'SC' }, product: 'organisation-ka' }), { message: /BR2/ });
});

test('a certificate asked to end before it starts is refused, and nothing is issued', async (t) => {
  const smki = await SmkiService.create({ clock: () => T0, hierarchy: await hierarchy() });
  await t.throwsAsync(smki.issue({ requester: { eui: SUPPLIER, role: 'IS' }, product: 'organisation-ds', notAfter: new Date(T0.getTime() - 86_400_000) }), { message: /notAfter .* is not after the certificate's start/ });
  t.deepEqual(smki.find({ eui: SUPPLIER }), []);
});

test('SC is granted an XML Signing certificate that verifies', async (t) => {
  const { smki } = await service();
  const xml = await smki.issue({ requester: { eui: SRP, role: 'SC' }, product: 'xml-signing' });
  t.is(xml.certificate.role, 135);
  t.is(xml.certificate.eui, SRP);
  t.true(smki.verify(xml.certificate, hoursAfter(T0, 1)).ok);
  t.deepEqual([...smki.party(SRP)!.roles], ['SC']);
  t.is(smki.keystore().xmlSigningKey(SRP).certificate.serial, xml.certificate.serial);
  t.throws(() => smki.keystore().signingKey(SRP, 'digitalSignature'), { message: /no digitalSignature private key/ });
});

test('immediate and PMA-delayed revocation: status before and after, and what each CRL lists', async (t) => {
  const { smki, clock } = await service();
  const requester = { eui: SUPPLIER, role: 'IS' as const };
  const a = await smki.issue({ requester, product: 'organisation-ds' });
  const b = await smki.issue({ requester, product: 'organisation-ka' });
  const c = await smki.issue({ requester, product: 'xml-signing' });

  clock.now = hoursAfter(T0, 1);
  smki.revoke(a.certificate.serial, { reason: 'keyCompromise' });
  const delayUntil = hoursAfter(T0, 48);
  smki.revoke(b.certificate, { at: delayUntil, orderedBy: 'PMA', reason: 'cessationOfOperation' });

  t.deepEqual(smki.status(a.certificate.serial, T0), { state: 'valid' });
  t.is(smki.status(a.certificate.serial, hoursAfter(T0, 1)).state, 'revoked');
  const delayed = smki.status(b.certificate, hoursAfter(T0, 2));
  t.is(delayed.state, 'revocation-delayed-until');
  if (delayed.state === 'revocation-delayed-until') t.deepEqual(delayed.until, delayUntil);
  t.true(smki.verify(b.certificate, hoursAfter(T0, 47)).ok, 'a delayed revocation still counts as valid');
  t.is(smki.status(b.certificate, delayUntil).state, 'revoked');
  t.deepEqual(smki.status(c.certificate.serial, hoursAfter(T0, 100)), { state: 'valid' });
  const refused = smki.verify(a.certificate, hoursAfter(T0, 2));
  t.false(refused.ok);
  if (!refused.ok) t.regex(refused.reason, /revoked since/);

  clock.now = hoursAfter(T0, 2);
  const first = await smki.crl();
  t.deepEqual(first.entries.map((e) => e.serial), [a.certificate.serial], 'only the effective revocation');
  t.is(first.entries[0]!.reason, 'keyCompromise');
  t.deepEqual(first.entries[0]!.revocationDate, hoursAfter(T0, 1));
  t.true(await verifyCrl(first, smki.hierarchy.oca.publicKey));

  clock.now = hoursAfter(T0, 49);
  const second = await smki.crl();
  t.deepEqual(second.entries.map((e) => e.serial).sort(), [a.certificate.serial, b.certificate.serial].sort());
  t.deepEqual(second.entries.find((e) => e.serial === b.certificate.serial)?.revocationDate, delayUntil);
  t.is(second.number, first.number! + 1n);
  t.deepEqual(second.nextUpdate, hoursAfter(T0, 73));
  t.is(smki.latestCrl(), second);
  t.true(await verifyCrl(second.der, smki.hierarchy.oca.publicKey));
});

test('revocation needs a certificate SMKI knows and cannot be backdated', async (t) => {
  const { smki, clock } = await service();
  t.throws(() => smki.revoke('42'), { message: /no certificate 42/ });
  const x = await smki.issue({ requester: { eui: SUPPLIER, role: 'IS' }, product: 'xml-signing' });
  clock.now = hoursAfter(T0, 5);
  t.throws(() => smki.revoke(x.certificate, { at: hoursAfter(T0, 4) }), { message: /backdate/ });
  t.deepEqual(smki.status('42', T0), { state: 'unknown' });
});

test('validity is checked against the instant asked about', async (t) => {
  const { smki } = await service();
  const x = await smki.issue({ requester: { eui: SUPPLIER, role: 'GS' }, product: 'xml-signing', notAfter: hoursAfter(T0, 10) });
  t.deepEqual(smki.status(x.certificate, hoursAfter(T0, 9)), { state: 'valid' });
  t.deepEqual(smki.status(x.certificate, hoursAfter(T0, 11)), { state: 'expired', notAfter: hoursAfter(T0, 10) });
  t.deepEqual(smki.status(x.certificate, hoursAfter(T0, -1)), { state: 'not-yet-valid', notBefore: T0 });
  t.false(smki.verify(x.certificate, hoursAfter(T0, 11)).ok);
});

test('ZAZ1 import finds the supplier XML Signing key and its GBCS keys, trusted without validity checks', async (t) => {
  const { smki } = await service();
  const imported = smki.importZaz1(ZAZ1_JSON);
  t.is(imported.length, 33);
  const supplier = parseEui('90B3D51F30010000');
  const xml = smki.find({ eui: supplier, product: 'xml-signing', withPrivateKey: true });
  t.deepEqual(xml.map((e) => e.name), ['xml-sign-90B3D51F30010000-ds']);
  const ds = smki.find({ eui: supplier, product: 'organisation-ds', withPrivateKey: true }).map((e) => e.name);
  t.true(ds.includes('Z1-supplier-ds'));
  t.true(smki.find({ eui: supplier, product: 'organisation-ka' }).some((e) => e.name === 'Z1-supplier-ka'));
  t.is(smki.party(supplier)!.entries.length, 7);
  const store = smki.keystore();
  t.is(store.xmlSigningKey(supplier).name, 'xml-sign-90B3D51F30010000-ds');
  t.is(store.byName('Z1-supplier-ds')!.privateKey!.asymmetricKeyType, 'ec');
  t.is(store.byName('Z1-accessControlBroker-ka')!.role, RemotePartyRole.accessControlBroker);

  // Z1-supplier-ds expired in 2025; imported certificates are still trusted, at any instant.
  const z1 = smki.directory.byName('Z1-supplier-ds')!;
  t.true(z1.certificate.notAfter < new Date('2030-01-01T00:00:00Z'));
  const v = smki.verify(z1.certificate, new Date('2030-01-01T00:00:00Z'));
  t.true(v.ok && v.trust === 'imported', JSON.stringify(v));
  t.deepEqual(smki.status(z1.certificate, new Date('2030-01-01T00:00:00Z')), { state: 'valid' });
  t.is(smki.byIssuerSerial('CN=Z1,OU=07', z1.certificate.serial), z1);
});

test('the failed supplier ZAZ1 certificate can be revoked with a PMA delay; it never lands on our OCA CRL', async (t) => {
  const { smki, clock } = await service();
  smki.importZaz1(ZAZ1_JSON);
  const z1 = smki.directory.byName('Z1-supplier-ds')!;
  smki.revoke(z1.certificate, { at: hoursAfter(T0, 24 * 30), orderedBy: 'PMA' });
  t.is(smki.status(z1.certificate, hoursAfter(T0, 24)).state, 'revocation-delayed-until');
  t.true(smki.verify(z1.certificate, hoursAfter(T0, 24)).ok);
  t.is(smki.status(z1.certificate, hoursAfter(T0, 24 * 30)).state, 'revoked');
  t.false(smki.verify(z1.certificate, hoursAfter(T0, 24 * 31)).ok);
  clock.now = hoursAfter(T0, 24 * 31);
  t.deepEqual((await smki.crl()).entries, [], 'the OCA lists only certificates it issued');
});

test('a forged copy of an imported certificate is not trusted', async (t) => {
  const { smki } = await service();
  smki.importZaz1(ZAZ1_JSON);
  const z1 = smki.directory.byName('Z1-supplier-ds')!;
  const der = Buffer.from(z1.certificate.der);
  der[der.length - 5]! ^= 0x01;
  const v = smki.verify(der, T0);
  t.false(v.ok);
  if (!v.ok) t.regex(v.reason, /not the certificate imported as Z1-supplier-ds/);
});

test('RTDS device certificates import as trusted external certificates', async (t) => {
  const { smki } = await service();
  const e = smki.importCertificate(readFileSync(deviceCertPath(RTDS_ESME, 'ds'), 'utf8'), { name: 'rtds-esme-ds' });
  t.is(e.product, 'device-ds');
  t.is(e.eui, ESME);
  t.is(e.source, 'external');
  t.true(smki.verify(e.certificate, T0).ok);
  t.deepEqual(smki.find({ eui: ESME, product: 'device-ds' }), [e]);
});

test('Device certificates: Suppliers may request them for a device EUI; the device is not filed as a party', async (t) => {
  const { smki } = await service();
  await t.throwsAsync(smki.issue({ requester: { eui: SUPPLIER, role: 'IS' }, product: 'device-ka' }), { message: /needs deviceEui/ });
  const dev = await smki.issue({ requester: { eui: SUPPLIER, role: 'IS' }, product: 'device-ka', deviceEui: ESME });
  t.is(dev.certificate.kind, 'device');
  t.is(dev.certificate.eui, ESME);
  t.is(dev.certificate.issuer, 'CN=HIL-DCA');
  t.true(smki.verify(dev.certificate, new Date('9000-01-01T00:00:00Z')).ok);
  t.is(smki.party(ESME), undefined);
  await t.throwsAsync(smki.issue({ requester: { eui: SUPPLIER, role: 'ED' }, product: 'device-ka', deviceEui: ESME }), { instanceOf: IssuingPolicyError });
});

test('a request may carry its own key, or a PKCS#10 request proving possession; other curves are refused', async (t) => {
  const { smki } = await service();
  const requester = { eui: SUPPLIER, role: 'IS' as const };
  const own = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const withKey = await smki.issue({ requester, product: 'organisation-ka', publicKey: own.publicKey });
  t.is(withKey.privateKey, null);
  t.true(withKey.certificate.publicKey.equals(own.publicKey));

  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=request', keys, signingAlgorithm: alg }, webcrypto);
  const fromCsr = await smki.issue({ requester, product: 'organisation-ds', csr: csr.toString('pem') });
  t.deepEqual(Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)), fromCsr.certificate.publicKey.export({ type: 'spki', format: 'der' }));

  const der = Buffer.from(csr.rawData);
  der[der.length - 3]! ^= 0x01;
  await t.throwsAsync(smki.issue({ requester, product: 'organisation-ds', csr: der }), { message: /proof of possession|does not verify/ });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  await t.throwsAsync(smki.issue({ requester, product: 'organisation-ds', publicKey: p384.publicKey }), { message: /P-256/ });
});

test('a bare serial held under two issuers must be named with its issuer', async (t) => {
  const { smki } = await service();
  smki.importZaz1(ZAZ1_JSON);
  const z1 = smki.directory.byName('Z1-supplier-ds')!;
  const { oca } = await hierarchy();
  const twin = await oca.issueXmlSigning({ eui: SUPPLIER, publicKey: z1.certificate.publicKey, notBefore: T0 }, BigInt(z1.certificate.serial));
  smki.directory.add({ name: 'twin', certificate: twin, privateKey: null, source: 'issued', checkValidity: true, requester: null });
  t.throws(() => smki.status(z1.certificate.serial, T0), { message: /2 issuers: name the issuer/ });
  t.deepEqual(smki.status(twin, T0), { state: 'valid' });
});

test('finding certificates by EUI (indexed) gives what a scan of the whole directory gives, in the order added', async (t) => {
  const { smki } = await service();
  smki.importZaz1(ZAZ1_JSON);
  await smki.issue({ requester: { eui: SUPPLIER, role: 'IS' }, product: 'organisation-ds' });
  const all = smki.directory.all();
  const euis = [...new Set(all.map((e) => e.eui)), parseEui('00DB0000000000FF')];
  t.true(euis.length > 5);
  for (const eui of euis) {
    for (const q of [{}, { role: RemotePartyRole.supplier }, { usage: 'keyAgreement' as const }, { withPrivateKey: true }]) {
      const scan = all.filter((e) => e.eui === eui && (q.role === undefined || e.certificate.role === q.role) && (q.usage === undefined || e.certificate.keyUsage === q.usage) && (!q.withPrivateKey || e.privateKey !== null));
      t.deepEqual(smki.directory.find({ eui, ...q }), scan, `${eui} ${JSON.stringify(q)}`);
    }
  }
});

test('an imported certificate is read for what its kind carries: an XML Signing role for key agreement is refused, an Organisation EUI comes from the subject only', async (t) => {
  const { smki } = await service();
  const { organisationTemplate, hwModuleNameExtension } = await import('../../../protocol/smki/profiles.ts');
  const { generateKeyPair } = await import('../../../protocol/smki/keys.ts');
  const size = smki.find({}).length;
  const ka = organisationTemplate({ eui: SUPPLIER, role: RemotePartyRole.supplier, usage: 'keyAgreement', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  ka.subject = ka.subject.map((rdn) => ('2.5.4.11' in rdn ? { '2.5.4.11': [RemotePartyRole.xmlSigning.toString(16)] } : rdn));
  const kaPem = (await smki.hierarchy.oca.sign(ka)).pem;
  t.throws(() => smki.importCertificate(kaPem), { message: /not an SMKI end-entity certificate of a known product/ });
  t.is(smki.find({}).length, size, 'nothing filed');

  const other = parseEui('00000000000000B2');
  const ds = organisationTemplate({ eui: SUPPLIER, role: RemotePartyRole.supplier, usage: 'digitalSignature', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  ds.extensions.push(hwModuleNameExtension(other));
  const entry = smki.importCertificate((await smki.hierarchy.oca.sign(ds)).pem);
  t.is(entry.eui, SUPPLIER);
  t.deepEqual(smki.find({ eui: other }), []);
});
