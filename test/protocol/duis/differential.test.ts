/**
 * Differential test against a general XMLDSig library (xml-crypto 6, given a small ECDSA-SHA256 algorithm,
 * which it lacks): on a generated corpus of valid, equivalently re-serialised, mutated and adversarial
 * documents, both must reach the same accept/reject decision, except where ours is stricter for a documented
 * reason. Ours must never accept what xml-crypto rejects.
 */
import { sign as ecdsaSign, verify as ecdsaVerify, type KeyLike } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { SignedXml, type SignatureAlgorithm } from 'xml-crypto';
import { type DuisErrorCode, signRequest, signResponse, signXml, verifyXml, xmlSignerFromEntry } from '../../../protocol/duis/index.ts';
import { NS } from '../../../protocol/duis/namespaces.ts';
import { DCC_EUI } from '../../../protocol/smki/eui.ts';
import { hostileDocuments } from './adversarial-corpus.ts';
import { requestArbitrary } from './generators.ts';
import { creditRequest, keystore, supplierSigner, template, templateNames } from './support.ts';

/** Where we refuse what xml-crypto accepts, and why that is right for DUIS. */
const STRICTER: Partial<Record<DuisErrorCode, string>> = {
  'signature-position': 'DUIS puts the Signature last in the root; xml-crypto verifies an enveloped signature wherever it sits',
  'signature-duplicate': 'one Signature per document: a second one is where wrapping attacks hide; xml-crypto checks the one it is handed',
  'signature-shape': 'only the DUIS shape (no Id, Object, extra Reference or transform, InclusiveNamespaces, 64-byte r||s)',
  algorithm: 'only exc-c14n, ecdsa-sha256, enveloped-signature and SHA-256; xml-crypto implements others (inclusive c14n, SHA-1, WithComments)',
  'key-info': 'KeyInfo must be exactly X509Data/X509IssuerSerial with a decimal serial',
  'signer-refused': 'only XML Signing certificates (roles 135/137) may sign DUIS XML',
  comment: 'comments are refused anywhere: c14n drops them, so they can split signed text for other readers',
  dtd: 'no DOCTYPE at all: xmldom reads internal subsets and expands their entities',
  'processing-instruction': 'no processing instructions in DUIS documents',
  'too-deep': 'resource limits',
  'too-large': 'resource limits',
  'too-many-attributes': 'resource limits',
  encoding: 'UTF-8 only, and invalid UTF-8 is refused rather than replaced',
  'xml-version': 'XML 1.0 only',
  malformed: 'well-formedness errors xmldom recovers from (duplicate attributes, undeclared entities)',
};

const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';

/** The ECDSA P-256 / SHA-256 algorithm xml-crypto lacks: raw r||s in SignatureValue, as XMLDSig 1.1 says. */
class EcdsaSha256 implements SignatureAlgorithm {
  getSignature(signedInfo: unknown, privateKey: KeyLike, callback?: (err: Error | null, sig?: string) => void): string {
    const sig = ecdsaSign('sha256', Buffer.from(String(signedInfo)), { key: privateKey as never, dsaEncoding: 'ieee-p1363' }).toString('base64');
    callback?.(null, sig);
    return sig;
  }
  verifySignature(material: string, key: KeyLike, signatureValue: string, callback?: (err: Error | null, ok?: boolean) => void): boolean {
    const ok = ecdsaVerify('sha256', Buffer.from(material), { key: key as never, dsaEncoding: 'ieee-p1363' }, Buffer.from(signatureValue, 'base64'));
    callback?.(null, ok);
    return ok;
  }
  getAlgorithmName(): string {
    return ECDSA_SHA256;
  }
}

function textOf(parent: Element, local: string): string | null {
  return parent.getElementsByTagNameNS(NS.ds, local)[0]?.textContent ?? null;
}

/** xml-crypto's decision, with the signer's certificate found from X509IssuerSerial in the same keystore. */
function xmlCryptoAccepts(xml: string | Buffer): boolean {
  // xmldom reports recoverable errors on the console; the decision is what matters here.
  const { error, warn, log } = console;
  console.error = console.warn = console.log = () => {};
  try {
    const text = typeof xml === 'string' ? xml : xml.toString('utf8');
    const doc = new DOMParser().parseFromString(text, 'text/xml');
    const signature = doc.getElementsByTagNameNS(NS.ds, 'Signature')[0];
    if (!signature) return false;
    const verifier = new SignedXml({
      getCertFromKeyInfo: (keyInfo) => {
        const info = keyInfo as Element | null | undefined;
        if (!info) return null;
        const issuer = textOf(info, 'X509IssuerName');
        const serial = textOf(info, 'X509SerialNumber');
        return (issuer && serial && keystore.byIssuerSerial(issuer, serial.trim())?.certificate.pem) || null;
      },
    });
    verifier.SignatureAlgorithms[ECDSA_SHA256] = EcdsaSha256 as never;
    verifier.loadSignature(signature as never);
    return verifier.checkSignature(text);
  } catch {
    return false;
  } finally {
    Object.assign(console, { error, warn, log });
  }
}

interface Sample {
  kind: 'valid' | 'equivalent' | 'mutated' | 'adversarial';
  name: string;
  xml: string | Buffer;
}

function corpus(): Sample[] {
  const samples: Sample[] = [];
  const requests = fc.sample(requestArbitrary, { numRuns: 40, seed: 20261129 });
  const signed = requests.map((r) => signRequest(r, xmlSignerFromEntry(keystore.xmlSigningKey(r.header.requestId.user))));
  signed.forEach((xml, i) => samples.push({ kind: 'valid', name: `generated request ${i}`, xml }));
  for (const name of templateNames()) {
    const s = signXml(template(name), supplierSigner);
    if (s.ok) samples.push({ kind: 'valid', name: `signed template ${name}`, xml: s.value });
  }
  const dcc = xmlSignerFromEntry(keystore.xmlSigningKey(DCC_EUI));
  samples.push({
    kind: 'valid',
    name: 'DCC-signed response',
    xml: signResponse(
      {
        schemaVersion: '5.4',
        header: { requestId: creditRequest().header.requestId, responseCode: 'I99', responseDateTime: '2026-01-01T00:00:00Z' },
        body: { kind: 'ResponseMessage', serviceReference: '1.6', serviceReferenceVariant: '1.6' },
      },
      dcc,
    ),
  });

  // Re-serialisations that leave the canonical form, and so the signature, intact.
  const rewrites: [string, (x: string) => string][] = [
    ['self-closing empty elements', (x) => x.replace(/<(sr:\w+)><\/\1>/g, '<$1/>')],
    ['single-quoted attributes', (x) => x.replace(/="([^"]*)"/g, "='$1'")],
    ['character references for digits', (x) => x.replace(/>(\d)/g, (_m, d: string) => `>&#${d.charCodeAt(0)};`)],
    ['CDATA text', (x) => x.replace(/<sr:ServiceReference>([^<]*)</, '<sr:ServiceReference><![CDATA[$1]]><')],
    ['redundant namespace declaration', (x) => x.replace('<sr:Body>', `<sr:Body xmlns:sr="${NS.sr}">`)],
    ['whitespace inside tags', (x) => x.replace('<sr:Header>', '<sr:Header\n\t>').replace(' schemaVersion=', '\n  schemaVersion=')],
    ['attributes reordered', (x) => x.replace(/<sr:Request ([^>]*) (schemaVersion="[^"]*")>/, '<sr:Request $2 $1>')],
    ['line-wrapped SignatureValue', (x) => x.replace(/(<ds:SignatureValue>.{40})/, '$1\r\n')],
  ];
  for (const [i, xml] of signed.slice(0, 10).entries()) {
    for (const [name, rewrite] of rewrites) samples.push({ kind: 'equivalent', name: `${name} (request ${i})`, xml: rewrite(xml) });
  }

  // One-character changes and element-level mutations of signed documents.
  const base = signed[0]!;
  const start = base.indexOf('<sr:Request');
  const positions = fc.sample(fc.tuple(fc.integer({ min: start, max: base.length - 1 }), fc.constantFrom('A', '0', '<', '"', ' ', '/', ':', 'z')), { numRuns: 300, seed: 7 });
  for (const [at, c] of positions) {
    if (base[at] === c) continue;
    samples.push({ kind: 'mutated', name: `character ${at} -> ${JSON.stringify(c)}`, xml: base.slice(0, at) + c + base.slice(at + 1) });
  }
  const elements = [...new Set(base.match(/<(sr|ds):\w+[ >]/g)!.map((m) => m.slice(1, -1)))];
  for (const [i, name] of elements.entries()) {
    const whole = new RegExp(`<${name}(?: [^>]*)?>.*?</${name}>`).exec(base)?.[0];
    if (!whole) continue;
    samples.push({ kind: 'mutated', name: `${name} removed`, xml: base.replace(whole, '') });
    samples.push({ kind: 'mutated', name: `${name} duplicated`, xml: base.replace(whole, whole + whole) });
    samples.push({ kind: 'mutated', name: `${name} emptied`, xml: base.replace(whole, `<${name}></${name}>`) });
    const other = new RegExp(`<${name}(?: [^>]*)?>.*?</${name}>`).exec(signed[1 + (i % 5)]!)?.[0];
    if (name !== 'sr:Request' && other && other !== whole) samples.push({ kind: 'mutated', name: `${name} taken from another signed document`, xml: base.replace(whole, other) });
  }

  for (const doc of hostileDocuments(base)) {
    if (!doc.requestLevel) samples.push({ kind: 'adversarial', name: doc.name, xml: doc.xml });
  }
  return samples;
}

test('ours and xml-crypto agree on a generated corpus, except where ours is stricter for a documented reason', (t) => {
  const samples = corpus();
  const tally: Record<string, number> = {};
  const stricter = new Map<string, string[]>();
  for (const s of samples) {
    const ours = verifyXml(s.xml, keystore);
    const theirs = xmlCryptoAccepts(s.xml);
    if (ours.ok && !theirs) return t.fail(`${s.kind} "${s.name}": we accept what xml-crypto rejects`);
    if (!ours.ok && theirs) {
      const reason = STRICTER[ours.error.code];
      if (!reason) return t.fail(`${s.kind} "${s.name}": xml-crypto accepts, we refuse with ${ours.error} and no documented reason`);
      stricter.set(ours.error.code, [...(stricter.get(ours.error.code) ?? []), s.name]);
    }
    const key = `${s.kind}: ${ours.ok ? 'accept' : 'reject'} / ${theirs ? 'accept' : 'reject'}`;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  t.log(tally);
  for (const [code, names] of stricter) t.log(`stricter (${code}: ${STRICTER[code as DuisErrorCode]}): ${names.join('; ')}`);
  const count = (kind: Sample['kind']) => samples.filter((s) => s.kind === kind).length;
  t.is(tally['valid: accept / accept'], count('valid'), 'every valid document is accepted by both');
  t.is(tally['equivalent: accept / accept'], count('equivalent'), 'every equivalent re-serialisation is accepted by both');
  t.true((tally['mutated: reject / reject'] ?? 0) > 250, 'mutations are refused by both');
  t.is(tally['adversarial: accept / accept'], undefined, 'no adversarial document is accepted by ours');
  t.true((tally['adversarial: reject / reject'] ?? 0) > 30);
  t.true((tally['mutated: accept / accept'] ?? 0) < 10, 'few one-character changes leave a document equivalent (whitespace inside tags)');
});
