/**
 * Named hostile variants of a validly signed SRV 1.6 request: signature wrapping and relocation, duplicated
 * content, comment injection, namespace tricks, DTDs and entities, resource exhaustion, encodings, and every
 * way the signature could leave the one shape DUIS uses. Each names the refusal code our verifier must give.
 */
import { createHash } from 'node:crypto';
import { canonicalizeDocument } from '../../../protocol/duis/canonical.ts';
import { NS } from '../../../protocol/duis/namespaces.ts';
import { parseXml } from '../../../protocol/duis/xml-parser.ts';
import type { DuisErrorCode } from '../../../protocol/duis/errors.ts';
import { signRequest, xmlSignerFromEntry } from '../../../protocol/duis/index.ts';
import { creditRequest, keystore, NETWORK_OPERATOR, supplierSigner } from './support.ts';

export interface HostileDocument {
  name: string;
  xml: string | Buffer;
  /** Our verifier's refusal. */
  code: DuisErrorCode;
  /** Refused only by the request-level check (verifyRequest), the XML signature itself being valid. */
  requestLevel?: boolean;
}

interface Parts {
  decl: string;
  rootOpen: string;
  header: string;
  body: string;
  signature: string;
  rootClose: string;
}

function split(signed: string): Parts {
  const m = /^(<\?xml[^>]*\?>)(<sr:Request[^>]*>)(<sr:Header>.*<\/sr:Header>)(<sr:Body>.*<\/sr:Body>)(<ds:Signature>.*<\/ds:Signature>)(<\/sr:Request>)$/s.exec(signed);
  if (!m) throw new Error('unexpected signed document shape');
  return { decl: m[1]!, rootOpen: m[2]!, header: m[3]!, body: m[4]!, signature: m[5]!, rootClose: m[6]! };
}

const join = (p: Parts, over: Partial<Parts> = {}): string => {
  const q = { ...p, ...over };
  return q.decl + q.rootOpen + q.header + q.body + q.signature + q.rootClose;
};

/** DER SEQUENCE { INTEGER r, INTEGER s } from raw r||s. */
function derSignature(raw: Buffer): Buffer {
  const int = (b: Buffer) => {
    let v = b;
    while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
    if (v[0]! >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

export function hostileDocuments(signed = signRequest(creditRequest(), supplierSigner)): HostileDocument[] {
  const p = split(signed);
  // Edits inside the RequestID text: just before its last digit, and at its end.
  const lastDigit = signed.search(/\d<\/sr:RequestID>/);
  if (lastDigit < 0) throw new Error('no RequestID in the signed document');
  const idEnd = lastDigit + 1;
  const inRequestId = (doc: string, insert: string, at = idEnd) => doc.slice(0, at) + insert + doc.slice(at);
  const sigValue = /<ds:SignatureValue>([^<]*)<\/ds:SignatureValue>/.exec(p.signature)![1]!;
  const evilBody = '<sr:Body><sr:UpdatePaymentMode><sr:Prepayment><sr:SuspendDebtDisabled>false</sr:SuspendDebtDisabled><sr:SuspendDebtEmergency>false</sr:SuspendDebtEmergency><sr:DisablementThreshold>0</sr:DisablementThreshold></sr:Prepayment></sr:UpdatePaymentMode></sr:Body>';
  const withSignedInfo = (f: (s: string) => string) => join(p, { signature: f(p.signature) });
  const laughs = '<!DOCTYPE sr:Request [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>';
  const otherUser = creditRequest();
  otherUser.header.requestId.user = NETWORK_OPERATOR;
  const gbcsKey = keystore.byName('Z1-supplier-ds')!;
  const docs: HostileDocument[] = [
    // where the signature is
    { name: 'signature moved into the Header', xml: join(p, { header: p.header.replace('</sr:Header>', p.signature + '</sr:Header>'), signature: '' }), code: 'signature-position' },
    { name: 'signature as the first child of the root', xml: p.decl + p.rootOpen + p.signature + p.header + p.body + p.rootClose, code: 'signature-position' },
    { name: 'signature duplicated at the end', xml: join(p, { signature: p.signature + p.signature }), code: 'signature-duplicate' },
    { name: 'a second signature nested in the Body', xml: join(p, { body: p.body.replace('</sr:Body>', p.signature + '</sr:Body>') }), code: 'signature-duplicate' },
    { name: 'signed Body moved into a ds:Object, an evil Body in its place', xml: join(p, { body: evilBody, signature: p.signature.replace('</ds:Signature>', `<ds:Object>${p.body}</ds:Object></ds:Signature>`) }), code: 'signature-shape' },
    { name: 'real signature hidden in the Body, a look-alike in another namespace at the end', xml: join(p, { body: p.body.replace('</sr:Body>', p.signature + '</sr:Body>'), signature: p.signature.replace('<ds:Signature>', '<ds:Signature xmlns:ds="urn:look-alike">') }), code: 'signature-position' },
    { name: 'no signature at all', xml: join(p, { signature: '' }), code: 'signature-missing' },
    // content changed around a valid signature
    { name: 'a second Body after the signed one', xml: join(p, { body: p.body + evilBody }), code: 'digest-mismatch' },
    { name: 'a second Header', xml: join(p, { header: p.header + p.header.replace(/\d<\/sr:RequestID>/, (m) => ((Number(m[0]) + 1) % 10) + m.slice(1)) }), code: 'digest-mismatch' },
    { name: 'Body replaced: Credit becomes Prepayment', xml: join(p, { body: evilBody }), code: 'digest-mismatch' },
    { name: 'digest recomputed for an evil Body without re-signing', xml: recomputedDigest(join(p, { body: evilBody })), code: 'signature-invalid' },
    { name: 'text after the signature', xml: join(p, { rootClose: 'junk' + p.rootClose }), code: 'digest-mismatch' },
    { name: 'whitespace between elements added after signing', xml: join(p, { header: p.header.replace(/></g, '>\n  <') }), code: 'digest-mismatch' },
    // comments
    { name: 'comment injected inside the signed RequestID text', xml: inRequestId(signed, '<!---->', lastDigit), code: 'comment' },
    { name: 'comment inside SignedInfo', xml: withSignedInfo((s) => s.replace('<ds:SignedInfo>', '<ds:SignedInfo><!-- hi -->')), code: 'comment' },
    { name: 'comment before the root', xml: p.decl + '<!-- hi -->' + join(p).slice(p.decl.length), code: 'comment' },
    // namespace confusion
    { name: 'ds prefix rebound on the Signature', xml: withSignedInfo((s) => s.replace('<ds:Signature>', '<ds:Signature xmlns:ds="urn:not-dsig">')), code: 'signature-missing' },
    { name: 'sr prefix rebound on the Body', xml: join(p, { body: p.body.replace('<sr:Body>', '<sr:Body xmlns:sr="urn:evil">') }), code: 'digest-mismatch' },
    { name: 'SignedInfo in another namespace under the ds prefix', xml: withSignedInfo((s) => s.replace('<ds:SignedInfo>', '<ds:SignedInfo xmlns:ds="urn:evil">')), code: 'signature-shape' },
    { name: 'signature prefix renamed after signing', xml: withSignedInfo((s) => s.replace(/ds:/g, 'x:').replace('<x:Signature>', `<x:Signature xmlns:x="${NS.ds}">`)), code: 'signature-invalid' },
    { name: 'default namespace redeclared on the Body', xml: join(p, { body: p.body.replace('<sr:Body>', '<sr:Body xmlns="urn:evil">') }), code: 'digest-mismatch' },
    // DTDs and entities
    { name: 'internal DTD subset', xml: p.decl + '<!DOCTYPE sr:Request [<!ELEMENT sr:Request ANY>]>' + join(p).slice(p.decl.length), code: 'dtd' },
    { name: 'external entity', xml: inRequestId(signed, '&x;').replace(p.decl, p.decl + '<!DOCTYPE sr:Request [<!ENTITY x SYSTEM "file:///etc/passwd">]>'), code: 'dtd' },
    { name: 'billion laughs', xml: inRequestId(signed, '&d;').replace(p.decl, p.decl + laughs), code: 'dtd' },
    { name: 'external DTD', xml: p.decl + '<!DOCTYPE sr:Request SYSTEM "http://example.invalid/duis.dtd">' + join(p).slice(p.decl.length), code: 'dtd' },
    { name: 'entity reference without a DTD', xml: inRequestId(signed, '&x;'), code: 'malformed' },
    // resources
    { name: 'deep nesting', xml: join(p, { body: p.body.replace('</sr:Body>', '<sr:X>'.repeat(5000) + '</sr:X>'.repeat(5000) + '</sr:Body>') }), code: 'too-deep' },
    { name: 'oversize document', xml: join(p, { body: p.body.replace('</sr:Body>', `<sr:X>${'A'.repeat(2 * 1024 * 1024)}</sr:X></sr:Body>`) }), code: 'too-large' },
    { name: 'too many attributes', xml: join(p, { rootOpen: p.rootOpen.replace('>', Array.from({ length: 20 }, (_, i) => ` a${i}="1"`).join('') + '>') }), code: 'too-many-attributes' },
    // encodings
    { name: 'invalid UTF-8 in signed text', xml: Buffer.concat([Buffer.from(signed.slice(0, idEnd)), Buffer.from([0xc3, 0x28]), Buffer.from(signed.slice(idEnd))]), code: 'encoding' },
    { name: 'UTF-16 document', xml: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(signed.replace('UTF-8', 'UTF-16'), 'utf16le')]), code: 'encoding' },
    { name: 'Latin-1 declared', xml: signed.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'), code: 'encoding' },
    { name: 'XML 1.1 declared', xml: signed.replace('version="1.0"', 'version="1.1"'), code: 'xml-version' },
    // well-formedness
    { name: 'duplicate attribute', xml: join(p, { rootOpen: p.rootOpen.replace('schemaVersion="5.4"', 'schemaVersion="5.4" schemaVersion="5.3"') }), code: 'malformed' },
    { name: 'duplicate attribute through two prefixes for one namespace', xml: join(p, { rootOpen: p.rootOpen.replace('>', ' xmlns:a="urn:u" xmlns:b="urn:u" a:k="1" b:k="2">') }), code: 'malformed' },
    { name: 'processing instruction in the Body', xml: join(p, { body: p.body.replace('<sr:Body>', '<sr:Body><?evil?>') }), code: 'processing-instruction' },
    // the signature's shape
    { name: 'Reference to an Id instead of the whole document', xml: withSignedInfo((s) => s.replace('URI=""', 'URI="#body"')), code: 'signature-shape' },
    { name: 'a second Reference', xml: withSignedInfo((s) => s.replace('</ds:Reference>', '</ds:Reference>' + /<ds:Reference .*<\/ds:Reference>/.exec(s)![0])), code: 'signature-shape' },
    { name: 'an extra c14n transform after enveloped-signature', xml: withSignedInfo((s) => s.replace('</ds:Transforms>', `<ds:Transform Algorithm="${'http://www.w3.org/2001/10/xml-exc-c14n#'}"></ds:Transform></ds:Transforms>`)), code: 'signature-shape' },
    { name: 'an XPath transform instead of enveloped-signature', xml: withSignedInfo((s) => s.replace('http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/TR/1999/REC-xpath-19991116')), code: 'algorithm' },
    { name: 'RSA-SHA256 signature method', xml: withSignedInfo((s) => s.replace('http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')), code: 'algorithm' },
    { name: 'HMAC signature method', xml: withSignedInfo((s) => s.replace('http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', 'http://www.w3.org/2000/09/xmldsig#hmac-sha1')), code: 'algorithm' },
    { name: 'SHA-1 digest', xml: withSignedInfo((s) => s.replace('http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2000/09/xmldsig#sha1')), code: 'algorithm' },
    { name: 'inclusive c14n for SignedInfo', xml: withSignedInfo((s) => s.replace('http://www.w3.org/2001/10/xml-exc-c14n#', 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315')), code: 'algorithm' },
    { name: 'exclusive c14n with comments', xml: withSignedInfo((s) => s.replace('http://www.w3.org/2001/10/xml-exc-c14n#', 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments')), code: 'algorithm' },
    { name: 'InclusiveNamespaces prefix list', xml: withSignedInfo((s) => s.replace('</ds:CanonicalizationMethod>', '<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="sr"/></ds:CanonicalizationMethod>')), code: 'signature-shape' },
    { name: 'Id attribute on the Signature', xml: withSignedInfo((s) => s.replace('<ds:Signature>', '<ds:Signature Id="sig">')), code: 'signature-shape' },
    { name: 'KeyInfo missing', xml: withSignedInfo((s) => s.replace(/<ds:KeyInfo>.*<\/ds:KeyInfo>/, '')), code: 'signature-shape' },
    { name: 'KeyInfo with an embedded certificate', xml: withSignedInfo((s) => s.replace('</ds:X509IssuerSerial>', `</ds:X509IssuerSerial><ds:X509Certificate>${Buffer.from('x').toString('base64')}</ds:X509Certificate>`)), code: 'key-info' },
    { name: 'KeyName instead of X509Data', xml: withSignedInfo((s) => s.replace(/<ds:KeyInfo>.*<\/ds:KeyInfo>/, '<ds:KeyInfo><ds:KeyName>supplier</ds:KeyName></ds:KeyInfo>')), code: 'key-info' },
    { name: 'serial number that is not decimal', xml: withSignedInfo((s) => s.replace(/<ds:X509SerialNumber>\d+/, '<ds:X509SerialNumber>0x1F')), code: 'key-info' },
    { name: 'SignatureValue DER-encoded', xml: withSignedInfo((s) => s.replace(sigValue, derSignature(Buffer.from(sigValue, 'base64')).toString('base64'))), code: 'signature-shape' },
    { name: 'SignatureValue with junk characters', xml: withSignedInfo((s) => s.replace(sigValue, sigValue.slice(0, 10) + '!' + sigValue.slice(11))), code: 'signature-shape' },
    { name: 'SignatureValue with non-zero padding bits', xml: withSignedInfo((s) => s.replace(sigValue, sigValue.replace(/.==$/, (m) => String.fromCharCode(m.charCodeAt(0) + 1) + '=='))), code: 'signature-shape' },
    // who signed
    { name: 'unknown signer serial', xml: withSignedInfo((s) => s.replace(/<ds:X509SerialNumber>\d+/, '<ds:X509SerialNumber>42')), code: 'signer-unknown' },
    { name: 'signed with a GBCS Digital Signing key, not an XML Signing key', xml: signRequest(creditRequest(), xmlSignerFromEntry(gbcsKey)), code: 'signer-refused' },
    { name: 'signed by a User other than the one in the RequestID', xml: signRequest(otherUser, supplierSigner), code: 'signer-refused', requestLevel: true },
  ];
  return docs;
}

/** Puts the right DigestValue for the (changed) content in place, leaving the SignatureValue as it was. */
function recomputedDigest(xml: string): string {
  const doc = parseXml(xml);
  if (!doc.ok) throw new Error(doc.error.toString());
  const digest = createHash('sha256').update(canonicalizeDocument(doc.value.root, { omit: doc.value.signatures[0]! })).digest('base64');
  return xml.replace(/<ds:DigestValue>[^<]*/, `<ds:DigestValue>${digest}`);
}
