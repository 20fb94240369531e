import { createHash, generateKeyPairSync } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import {
  buildRequest,
  type SignerResolver,
  signRequest,
  signRequestXml,
  signXml,
  verifyRequest,
  verifyXml,
  xmlSignerFromEntry,
} from '../../../protocol/duis/index.ts';
import { canonicalizeDocument } from '../../../protocol/duis/canonical.ts';
import { parseXml } from '../../../protocol/duis/xml-parser.ts';
import { creditRequest, keystore, NETWORK_OPERATOR, SUPPLIER, supplierSigner, template } from './support.ts';

const signed = signRequest(creditRequest(), supplierSigner);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

test('a signed request verifies, names its signer, and reads back as the model that was signed', (t) => {
  const v = verifyRequest(signed, keystore);
  if (!v.ok) return t.fail(v.error.toString());
  t.deepEqual(v.value.request, creditRequest());
  t.is(v.value.signer.name, 'xml-sign-90B3D51F30010000-ds');
  t.is(v.value.signerEui, SUPPLIER);
  t.deepEqual(v.value.identity, { issuer: 'CN=Z1,OU=07', serial: '27572613927499351639968579586655397031' });
});

test('the signed document: declaration, no whitespace between elements, the signature as last child of the root', (t) => {
  t.true(signed.startsWith('<?xml version="1.0" encoding="UTF-8"?><sr:Request '));
  t.false(/>\s+</.test(signed));
  t.regex(signed, /<ds:Signature><ds:SignedInfo>.*<\/ds:KeyInfo><\/ds:Signature><\/sr:Request>$/);
  t.regex(signed, /<ds:X509SerialNumber>\d{38}<\/ds:X509SerialNumber>/);
  t.regex(signed, /<ds:SignatureValue>[A-Za-z0-9+/]{86}==<\/ds:SignatureValue>/, 'raw 64-byte r||s');
});

test('the digest covers the inclusive canonical form of the document without its signature', (t) => {
  const doc = parseXml(signed);
  if (!doc.ok) return t.fail(doc.error.toString());
  const unsigned = buildRequest(creditRequest()).replace(/^<\?xml[^>]*\?>/, '');
  t.is(canonicalizeDocument(doc.value.root, { omit: doc.value.signatures[0]! }), unsigned, 'a built request is already canonical');
  t.true(signed.includes(`<ds:DigestValue>${createHash('sha256').update(unsigned).digest('base64')}</ds:DigestValue>`));
});

test('signing a template replaces its placeholder signature, drops comments and whitespace, keeps the counter', (t) => {
  const r = signRequestXml(template('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML'), keystore);
  if (!r.ok) return t.fail(r.error.toString());
  t.false(r.value.includes('placeholder'));
  t.false(r.value.includes('1234567890<'), 'the placeholder serial is gone');
  t.is((r.value.match(/<ds:Signature[ >]/g) ?? []).length, 1);
  t.true(r.value.includes(':1002</sr:RequestID>'));
  t.false(/>\s+</.test(r.value));
  const v = verifyRequest(r.value, keystore);
  t.true(v.ok, v.ok ? '' : v.error.toString());
});

test('signing is independent of layout: pretty-printed, compact and re-signed inputs get the same digest', (t) => {
  const digest = (xml: string) => /<ds:DigestValue>([^<]*)/.exec(xml)![1];
  const compact = signRequestXml(template('ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML'), keystore);
  const pretty = signRequestXml(template('ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML').replace(/></g, '>\n\t<'), keystore);
  if (!compact.ok || !pretty.ok) return t.fail();
  const again = signRequestXml(compact.value, keystore);
  if (!again.ok) return t.fail();
  t.is(digest(pretty.value), digest(compact.value));
  t.is(digest(again.value), digest(compact.value));
});

test('a request is signed by the User its RequestID names; another User\'s valid signature is refused at request level', (t) => {
  const request = creditRequest();
  request.header.requestId.user = NETWORK_OPERATOR;
  const byNetworkOperator = signRequestXml(buildRequest(request), keystore);
  if (!byNetworkOperator.ok) return t.fail(byNetworkOperator.error.toString());
  t.true(verifyRequest(byNetworkOperator.value, keystore).ok);
  const bySupplier = signRequest(request, supplierSigner);
  t.true(verifyXml(bySupplier, keystore).ok);
  const r = verifyRequest(bySupplier, keystore);
  t.is(r.ok ? 'accepted' : r.error.code, 'signer-refused');
});

test('signing a request whose User has no XML Signing key fails with the reason', (t) => {
  const request = creditRequest();
  request.header.requestId.user = request.header.requestId.target;
  const r = signRequestXml(buildRequest(request), keystore);
  t.is(r.ok ? 'signed' : r.error.code, 'signer-unknown');
});

test('a resolver decides who may sign: unknown, refused (e.g. revoked) and accepted signers', (t) => {
  const entry = keystore.xmlSigningKey(SUPPLIER);
  const seen: string[] = [];
  const revoked: SignerResolver<string> = ({ issuer, serial }) => {
    seen.push(`${issuer}/${serial}`);
    return { refused: 'certificate revoked by the SMKI' };
  };
  const r1 = verifyXml(signed, revoked);
  t.is(r1.ok ? '' : r1.error.message, 'certificate revoked by the SMKI');
  t.deepEqual(seen, [`CN=Z1,OU=07/${entry.certificate.serial}`]);
  const r2 = verifyXml(signed, () => null);
  t.is(r2.ok ? '' : r2.error.code, 'signer-unknown');
  const r3 = verifyXml(signed, () => ({ publicKey: entry.publicKey, signer: 'status: valid' }));
  t.is(r3.ok ? r3.value.signer : r3.error.toString(), 'status: valid');
  const wrongKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const r4 = verifyXml(signed, () => ({ publicKey: wrongKey, signer: null }));
  t.is(r4.ok ? '' : r4.error.code, 'signature-invalid');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  const r5 = verifyXml(signed, () => ({ publicKey: rsa, signer: null }));
  t.is(r5.ok ? '' : r5.error.code, 'signature-invalid');
});

test('a KeyInfo issuer name too long to be an SMKI issuer is refused before any signer is looked up', (t) => {
  const seen: string[] = [];
  const resolver: SignerResolver<null> = ({ issuer }) => (seen.push(issuer), null);
  // Spaces with no comma: what made the issuer-name match backtrack for seconds on a DCC.
  for (const [issuer, code] of [[`CN=Z1${' '.repeat(1013)},OU=07`, 'signer-unknown'], [`CN=Z1${' '.repeat(100_000)}x`, 'key-info']] as const) {
    const r = verifyXml(signed.replace('<ds:X509IssuerName>CN=Z1,OU=07<', `<ds:X509IssuerName>${issuer}<`), resolver);
    t.is(r.ok ? '' : r.error.code, code, `${issuer.length} characters`);
  }
  t.deepEqual(seen.map((s) => s.length), [1024], 'only the name within the limit reached the resolver');
});

test('a keystore finds a signer by issuer name whatever the spaces around its commas and ends', (t) => {
  const entry = keystore.xmlSigningKey(SUPPLIER);
  const { serial } = entry.certificate;
  for (const issuer of ['CN=Z1,OU=07', ' CN=Z1 ,  OU=07 ', 'CN=Z1,\tOU=07']) {
    t.is(keystore.byIssuerSerial(issuer, serial)?.name, entry.name, JSON.stringify(issuer));
  }
  t.is(keystore.byIssuerSerial('CN=Z1 OU=07', serial), undefined, 'a space is no comma');
});

test('only XML Signing certificates may sign DUIS XML', (t) => {
  const gbcs = keystore.byName('Z1-supplier-ds')!;
  const byGbcsKey = signXml(buildRequest(creditRequest()), xmlSignerFromEntry(gbcs));
  if (!byGbcsKey.ok) return t.fail(byGbcsKey.error.toString());
  const r = verifyXml(byGbcsKey.value, keystore);
  t.is(r.ok ? '' : r.error.code, 'signer-refused');
  t.regex(r.ok ? '' : r.error.message, /not an XML Signing certificate/);
});

/** Signed content: from the root's start tag to its end tag (the XML declaration is not signed). */
const rootStart = signed.indexOf('<sr:Request');

test('every one-character change anywhere in the signed document is refused (exhaustive sweep)', (t) => {
  let refused = 0;
  for (let i = rootStart; i < signed.length; i++) {
    const c = signed[i]!;
    const replacement = c === 'A' ? 'B' : isSpace(c) ? 'x' : 'A';
    const r = verifyRequest(signed.slice(0, i) + replacement + signed.slice(i + 1), keystore);
    if (r.ok) return t.fail(`accepted a change at ${i}: ${JSON.stringify(signed.slice(i - 20, i + 20))}`);
    refused++;
  }
  t.is(refused, signed.length - rootStart);
});

test('a one-character tamper at any position, with any character, is refused (property)', (t) => {
  const chars = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n)), fc.constantFrom('<', '>', '&', '"', "'", '=', '/', ':', ' ', '\t', '\n', '\r', '0', '9', 'é', '\u2028'));
  fc.assert(
    fc.property(fc.integer({ min: rootStart, max: signed.length - 1 }), chars, (i, c) => {
      const original = signed[i]!;
      fc.pre(c !== original);
      // Whitespace for whitespace between attributes is the same document, not a tamper.
      fc.pre(!(isSpace(c) && isSpace(original)));
      return !verifyRequest(signed.slice(0, i) + c + signed.slice(i + 1), keystore).ok;
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

test('equivalent serialisations of the signed document still verify', (t) => {
  const variants = [
    signed.replace('<sr:Credit></sr:Credit>', '<sr:Credit/>'),
    signed.replace('schemaVersion="5.4"', "schemaVersion='5.4'"),
    signed.replace(':1002<', ':100&#50;<'),
    signed.replace('<sr:ServiceReference>1.6<', '<sr:ServiceReference><![CDATA[1.6]]><'),
    signed.replace('<sr:Header>', `<sr:Header xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">`),
    signed.replace('<?xml version="1.0" encoding="UTF-8"?>', ''),
    signed.replace(/<ds:SignatureValue>(.{40})/, '<ds:SignatureValue>$1\r\n'),
  ];
  for (const v of variants) {
    const r = verifyRequest(v, keystore);
    t.true(r.ok, r.ok ? '' : `${r.error}: ${v.slice(0, 120)}`);
  }
});
