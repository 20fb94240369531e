/**
 * Finds the one enveloped ds:Signature of a DUIS document and reads it, accepting exactly the shape DUIS uses
 * and nothing more general:
 *
 *   Signature (last child element of the root; the only Signature anywhere in the document)
 *     SignedInfo
 *       CanonicalizationMethod Algorithm=exc-c14n (no InclusiveNamespaces)
 *       SignatureMethod Algorithm=ecdsa-sha256
 *       Reference URI=""  (exactly one)
 *         Transforms/Transform Algorithm=enveloped-signature (the only transform)
 *         DigestMethod Algorithm=sha256
 *         DigestValue (32 bytes)
 *     SignatureValue (64 bytes: raw r||s)
 *     KeyInfo/X509Data/X509IssuerSerial/{X509IssuerName, X509SerialNumber}
 *
 * No Id, Type or other attributes, no Object, no Manifest, no second Reference: each extra is a place where
 * signature-wrapping tricks hide, and DUIS needs none of them. Elements are matched on namespace URI and local
 * name only, so prefixes (rebound or not) never decide what an element is.
 */
import { decodeBase64 } from './base64.ts';
import { type DuisErrorCode, refuse } from './errors.ts';
import { ALGORITHM, NS } from './namespaces.ts';
import { isXmlWhitespace, qualifiedName, type XmlDocument, type XmlElement } from './xml-tree.ts';
import { quoted } from './simple-types.ts';

export interface SignatureParts {
  signature: XmlElement;
  signedInfo: XmlElement;
  digestValue: Buffer;
  signatureValue: Buffer;
  issuer: string;
  /** Decimal, without sign or leading zeros. */
  serial: string;
}

/** The document's one ds:Signature, which must be the last child element of the root. */
export function locateSignature(doc: XmlDocument): XmlElement {
  const [signature, second] = doc.signatures;
  if (!signature) refuse('signature-missing', 'the document has no ds:Signature');
  if (second) refuse('signature-duplicate', `the document has ${doc.signatures.length} ds:Signature elements; DUIS allows one`, second);
  if (signature.parent !== doc.root) refuse('signature-position', 'the ds:Signature must be a child of the root element', signature);
  let last: XmlElement | null = null;
  for (const c of doc.root.children) if (typeof c !== 'string') last = c;
  if (last !== signature) refuse('signature-position', 'the ds:Signature must be the last child element of the root', signature);
  return signature;
}

export function readSignature(signature: XmlElement): SignatureParts {
  noAttributes(signature);
  const [signedInfo, signatureValue, keyInfo] = dsChildren(signature, ['SignedInfo', 'SignatureValue', 'KeyInfo']);
  noAttributes(signedInfo);
  const [c14n, method, reference] = dsChildren(signedInfo, ['CanonicalizationMethod', 'SignatureMethod', 'Reference']);
  algorithm(c14n, ALGORITHM.exclusiveC14n, 'canonicalisation');
  algorithm(method, ALGORITHM.ecdsaSha256, 'signature');
  onlyAttribute(reference, 'URI');
  if (reference.attributes[0]?.value !== '') refuse('signature-shape', 'the Reference must have URI="" (the whole document)', reference);
  const [transforms, digestMethod, digestValue] = dsChildren(reference, ['Transforms', 'DigestMethod', 'DigestValue']);
  noAttributes(transforms);
  const [transform] = dsChildren(transforms, ['Transform']);
  algorithm(transform, ALGORITHM.envelopedSignature, 'transform');
  algorithm(digestMethod, ALGORITHM.sha256, 'digest');
  noAttributes(digestValue);
  const digest = decodeBase64(simpleText(digestValue), 'DigestValue', digestValue, 'signature-shape');
  if (digest.length !== 32) refuse('signature-shape', `a SHA-256 DigestValue is 32 bytes, got ${digest.length}`, digestValue);
  noAttributes(signatureValue);
  const value = decodeBase64(simpleText(signatureValue), 'SignatureValue', signatureValue, 'signature-shape');
  if (value.length !== 64) refuse('signature-shape', `an ECDSA P-256 SignatureValue is 64 bytes (r||s), got ${value.length}`, signatureValue);
  const { issuer, serial } = readKeyInfo(keyInfo);
  return { signature, signedInfo, digestValue: digest, signatureValue: value, issuer, serial };
}

const MAX_ISSUER_NAME = 1024;

function readKeyInfo(keyInfo: XmlElement): { issuer: string; serial: string } {
  noAttributes(keyInfo, 'key-info');
  const [x509Data] = dsChildren(keyInfo, ['X509Data'], 'key-info');
  noAttributes(x509Data, 'key-info');
  const [issuerSerial] = dsChildren(x509Data, ['X509IssuerSerial'], 'key-info');
  noAttributes(issuerSerial, 'key-info');
  const [issuerName, serialNumber] = dsChildren(issuerSerial, ['X509IssuerName', 'X509SerialNumber'], 'key-info');
  noAttributes(issuerName, 'key-info');
  noAttributes(serialNumber, 'key-info');
  const issuer = simpleText(issuerName, 'key-info');
  if (issuer.trim() === '') refuse('key-info', 'X509IssuerName is empty', issuerName);
  // SMKI issuer names are a few dozen characters; a longer one names no certificate and is not worth matching.
  if (issuer.length > MAX_ISSUER_NAME) refuse('key-info', `X509IssuerName is ${issuer.length} characters, more than the ${MAX_ISSUER_NAME} an issuer name may have`, issuerName);
  // xs:integer collapses surrounding whitespace and allows "+" and leading zeros; SMKI serials are positive.
  const digits = simpleText(serialNumber, 'key-info').trim();
  if (!/^\+?[0-9]{1,60}$/.test(digits)) refuse('key-info', `X509SerialNumber ${JSON.stringify(digits.slice(0, 70))} is not a decimal serial`, serialNumber);
  return { issuer, serial: BigInt(digits).toString(10) };
}

/** The element children, which must be exactly these ds elements in this order (whitespace between allowed). */
function dsChildren<const N extends readonly string[]>(
  parent: XmlElement,
  expected: N,
  code: DuisErrorCode = 'signature-shape',
): { [K in keyof N]: XmlElement } {
  const found: XmlElement[] = [];
  for (const c of parent.children) {
    if (typeof c === 'string') {
      if (!isXmlWhitespace(c)) refuse(code, `unexpected text in ${parent.local}`, parent);
      continue;
    }
    const want = expected[found.length];
    if (want === undefined || c.uri !== NS.ds || c.local !== want) {
      const what = c.uri === NS.ds ? c.local : `${qualifiedName(c)} in namespace ${quoted(c.uri, 100)}`;
      refuse(code, want === undefined ? `unexpected ${what} in ${parent.local}` : `expected ds:${want} in ${parent.local}, found ${what}`, c);
    }
    found.push(c);
  }
  if (found.length < expected.length) refuse(code, `${parent.local} lacks ds:${expected[found.length]}`, parent);
  return found as { [K in keyof N]: XmlElement };
}

function noAttributes(el: XmlElement, code: DuisErrorCode = 'signature-shape'): void {
  const a = el.attributes[0];
  if (a) refuse(code, `unexpected attribute ${qualifiedName(a)} on ${el.local}`, el);
}

function onlyAttribute(el: XmlElement, local: string): void {
  const a = el.attributes[0];
  if (!a || a.uri !== '' || a.local !== local) refuse('signature-shape', `${el.local} must carry ${local}`, el);
  const extra = el.attributes[1];
  if (extra) refuse('signature-shape', `unexpected attribute ${qualifiedName(extra)} on ${el.local}`, el);
}

/** An empty method element with exactly Algorithm="<expected>". */
function algorithm(el: XmlElement, expected: string, what: string): void {
  onlyAttribute(el, 'Algorithm');
  const value = el.attributes[0]!.value;
  if (value !== expected) refuse('algorithm', `${what} algorithm ${value} is not allowed; DUIS uses ${expected}`, el);
  for (const c of el.children) {
    if (typeof c !== 'string') refuse('signature-shape', `unexpected ${qualifiedName(c)} in ${el.local} (no parameters are allowed)`, c);
    if (!isXmlWhitespace(c)) refuse('signature-shape', `unexpected text in ${el.local}`, el);
  }
}

function simpleText(el: XmlElement, code: DuisErrorCode = 'signature-shape'): string {
  let text = '';
  for (const c of el.children) {
    if (typeof c !== 'string') refuse(code, `unexpected ${qualifiedName(c)} in ${el.local}`, c);
    text += c;
  }
  return text;
}
