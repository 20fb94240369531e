import test from 'ava';
import { signRequest, verifyRequest, verifyXml } from '../../../protocol/duis/index.ts';
import { hostileDocuments } from './adversarial-corpus.ts';
import { creditRequest, keystore, supplierSigner } from './support.ts';

const original = signRequest(creditRequest(), supplierSigner);
const corpus = hostileDocuments(original);

test('the adversarial corpus is what it claims: names are unique and the untouched document verifies', (t) => {
  t.is(new Set(corpus.map((d) => d.name)).size, corpus.length);
  t.true(corpus.length >= 50);
  t.true(verifyRequest(original, keystore).ok);
});

for (const doc of corpus) {
  test(`refuses: ${doc.name} (${doc.code})`, (t) => {
    const r = verifyRequest(doc.xml, keystore);
    if (r.ok) return t.fail('accepted');
    t.is(r.error.code, doc.code, r.error.toString());
    t.true(r.error.message.length > 10, 'the refusal says why');
    if (doc.requestLevel) t.true(verifyXml(doc.xml, keystore).ok, 'the XML signature alone is valid: only the request-level check refuses');
  });
}
