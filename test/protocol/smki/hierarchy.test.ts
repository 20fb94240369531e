import test from 'ava';
import { verifyChain } from '../../../protocol/smki/chain.ts';
import { createSmkiHierarchy, loadHierarchy, storeHierarchy } from '../../../protocol/smki/hierarchy.ts';
import { generateKeyPair } from '../../../protocol/smki/keys.ts';
import { ESME, SUPPLIER, T0, hierarchy, hoursAfter } from './support.ts';

test('a seeded hierarchy has the same CA keys on every run, a different seed different keys', async (t) => {
  const [a, b, c] = await Promise.all([
    createSmkiHierarchy({ at: T0, seed: 'hil-test' }),
    createSmkiHierarchy({ at: T0, seed: 'hil-test' }),
    createSmkiHierarchy({ at: T0, seed: 'other' }),
  ]);
  for (const ca of ['root', 'oca', 'dca'] as const) {
    t.true(a[ca].publicKey.equals(b[ca].publicKey));
    t.false(a[ca].publicKey.equals(c[ca].publicKey));
  }
  // Same keys and names: a certificate from one run verifies under the other.
  const cert = await a.oca.issueXmlSigning({ eui: SUPPLIER, publicKey: generateKeyPair().publicKey, notBefore: T0 });
  const oca = { certificate: a.oca.certificate };
  t.true(verifyChain(cert, { root: { certificate: a.root.certificate }, oca, dca: { certificate: a.dca.certificate } }, hoursAfter(T0, 1)).ok);
});

test('a stored hierarchy loads back and keeps issuing verifiable certificates', async (t) => {
  const h = await hierarchy();
  const loaded = await loadHierarchy(JSON.parse(JSON.stringify(storeHierarchy(h))));
  t.is(loaded.oca.name, h.oca.name);
  t.deepEqual(loaded.oca.keyId, h.oca.keyId);
  const dev = await loaded.dca.issueDevice({ eui: ESME, usage: 'keyAgreement', publicKey: generateKeyPair().publicKey, notBefore: T0 });
  t.true(verifyChain(dev, h, hoursAfter(T0, 1)).ok);
  const stored = storeHierarchy(h);
  await t.throwsAsync(loadHierarchy({ ...stored, oca: { ...stored.oca, privateKey: stored.dca.privateKey } }), { message: /does not match/ });
});

test('each CA issues only its own kind of certificate', async (t) => {
  const { root, oca, dca } = await hierarchy();
  const key = generateKeyPair().publicKey;
  await t.throwsAsync(dca.issueOrganisation({ eui: SUPPLIER, role: 2, usage: 'digitalSignature', publicKey: key, notBefore: T0 }), {
    name: 'CertificateAuthorityError',
    message: /device CA CN=HIL-DCA does not issue Organisation certificates/,
  });
  await t.throwsAsync(oca.issueDevice({ eui: ESME, usage: 'keyAgreement', publicKey: key, notBefore: T0 }), { name: 'CertificateAuthorityError' });
  await t.throwsAsync(root.issueXmlSigning({ eui: SUPPLIER, publicKey: key, notBefore: T0 }), { name: 'CertificateAuthorityError' });
  await t.throwsAsync(oca.createIssuingCa('device', { commonName: 'X', notBefore: T0 }), { name: 'CertificateAuthorityError' });
});
