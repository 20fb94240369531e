/**
 * XMLDSig for DUIS: sign and verify the one enveloped ECDSA P-256 signature a DUIS document carries.
 *
 * Signing emits the document already in canonical form with no whitespace between elements (what the DCC Boxed
 * validator hashes), so the signed bytes are exactly a slice of the output, and fills a fixed SignedInfo
 * template; nothing is canonicalised twice. Verification parses once (hardened, comments refused), checks the
 * signature's shape (signature-shape.ts), looks the signer up by IssuerSerial, and canonicalises the tree
 * directly for the digest and for SignedInfo.
 *
 * Comments: exclusive and inclusive c14n "without comments" drop them, so a comment inside signed text leaves
 * the digest unchanged while splitting the text for any reader that takes the first text node
 * (`<RequestID>...:100<!---->2</RequestID>`). Our own reader joins the pieces, but DUIS documents are
 * machine-written and never need comments, so verification refuses a comment anywhere in the document rather
 * than reason about which readers a verified document may reach. Signing drops comments (they would not be
 * signed anyway).
 */
import { createHash, type KeyObject, sign as ecdsaSign, timingSafeEqual, verify as ecdsaVerify } from 'node:crypto';
import { timedCrypto } from '../smki/crypto-tally.ts';
import type { Eui } from '../smki/eui.ts';
import { isXmlSigningRole, type KeyEntry, Keystore } from '../smki/keystore.ts';
import { RemotePartyRole } from '../smki/roles.ts';
import { encodeBase64 } from './base64.ts';
import { canonicalizeDocument, canonicalizeExclusive, escapeText } from './canonical.ts';
import { type Checked, checked, refuse } from './errors.ts';
import { ALGORITHM, NS } from './namespaces.ts';
import { parseXmlOrThrow, type XmlLimits } from './xml-parser.ts';
import { locateSignature, readSignature } from './signature-shape.ts';
import { qualifiedName, type XmlDocument, type XmlElement } from './xml-tree.ts';
import { quoted } from './simple-types.ts';

/** A private key and the IssuerSerial of its XML Signing certificate. */
export interface XmlSigner {
  privateKey: KeyObject;
  /** As X509IssuerName carries it ("CN=Z1,OU=07"). */
  issuer: string;
  /** Decimal. */
  serial: string;
}

export function xmlSignerFromEntry(entry: KeyEntry): XmlSigner {
  if (!entry.privateKey) refuse('signer-unknown', `no private key for ${entry.name}`);
  return { privateKey: entry.privateKey, issuer: entry.certificate.issuer, serial: entry.certificate.serial };
}

/** What a signature names its signer by. */
export interface SignerIdentity {
  issuer: string;
  serial: string;
}

/**
 * A resolver's answer: the key to verify with (and whatever the caller wants back about the signer, e.g. its
 * keystore entry or SMKI status), a refusal with a reason (revoked, wrong role...), or null for unknown.
 */
export type SignerResolution<S> = { publicKey: KeyObject; signer: S; eui?: Eui } | { refused: string } | null | undefined;
export type SignerResolver<S> = (identity: SignerIdentity) => SignerResolution<S>;

/**
 * Looks signers up in a keystore; only XML Signing certificates (roles 135 and 137) may sign DUIS XML, and with
 * `role` only that one: a Response comes from the DCC (137), a Request from a User (135).
 */
export function keystoreResolver(keystore: Keystore, role?: typeof RemotePartyRole.xmlSigning | typeof RemotePartyRole.dccXmlSigning): SignerResolver<KeyEntry> {
  return ({ issuer, serial }) => {
    const entry = keystore.byIssuerSerial(issuer, serial);
    if (!entry) return null;
    if (!isXmlSigningRole(entry.role)) {
      return { refused: `certificate ${issuer} #${serial} (${entry.name}) is not an XML Signing certificate` };
    }
    if (role !== undefined && entry.role !== role) {
      const who = role === RemotePartyRole.dccXmlSigning ? "a Response must be signed by the DCC's XML Signing key (role 137)" : "a Request must be signed by a User's XML Signing key (role 135)";
      return { refused: `certificate ${issuer} #${serial} (${entry.name}) has role ${entry.role}: ${who}` };
    }
    return { publicKey: entry.publicKey, signer: entry, eui: entry.eui };
  };
}

/** The XML Signing role a DUIS document's root calls for (none for other XML). */
function signingRoleFor(root: XmlElement): typeof RemotePartyRole.xmlSigning | typeof RemotePartyRole.dccXmlSigning | undefined {
  if (root.uri !== NS.sr) return undefined;
  return root.local === 'Response' ? RemotePartyRole.dccXmlSigning : root.local === 'Request' ? RemotePartyRole.xmlSigning : undefined;
}

export interface VerifiedXml<S> {
  document: XmlDocument;
  identity: SignerIdentity;
  signer: S;
  /** The signer's EUI-64 when the resolver knows it. */
  signerEui?: Eui;
}

export interface VerifyOptions {
  limits?: Partial<XmlLimits>;
}

/** Parses (hardened, no comments) and verifies the document's enveloped signature. */
export function verifyXml(input: string | Uint8Array, keys: Keystore, options?: VerifyOptions): Checked<VerifiedXml<KeyEntry>>;
export function verifyXml<S>(input: string | Uint8Array, keys: SignerResolver<S>, options?: VerifyOptions): Checked<VerifiedXml<S>>;
export function verifyXml<S>(input: string | Uint8Array, keys: Keystore | SignerResolver<S>, options: VerifyOptions = {}): Checked<VerifiedXml<unknown>> {
  return checked(() => verifyXmlOrThrow(input, keys, options));
}

export function verifyXmlOrThrow<S>(input: string | Uint8Array, keys: Keystore | SignerResolver<S>, options: VerifyOptions = {}): VerifiedXml<unknown> {
  const document = parseXmlOrThrow(input, { comments: 'refuse', ...(options.limits ? { limits: options.limits } : {}) });
  const resolve: SignerResolver<unknown> = keys instanceof Keystore ? keystoreResolver(keys, signingRoleFor(document.root)) : keys;
  const parts = readSignature(locateSignature(document));
  const identity = { issuer: parts.issuer, serial: parts.serial };
  const resolution = resolve(identity);
  if (!resolution) refuse('signer-unknown', `no certificate known for issuer ${quoted(parts.issuer, 200)} serial ${parts.serial}`);
  if ('refused' in resolution) refuse('signer-refused', resolution.refused);
  const digest = createHash('sha256').update(canonicalizeDocument(document.root, { omit: parts.signature })).digest();
  if (!timingSafeEqual(digest, parts.digestValue)) refuse('digest-mismatch', 'the signed content does not match its DigestValue (changed after signing)');
  let valid = false;
  try {
    const signedInfo = Buffer.from(canonicalizeExclusive(parts.signedInfo), 'utf8');
    valid = timedCrypto('verify', () => ecdsaVerify('sha256', signedInfo, { key: resolution.publicKey, dsaEncoding: 'ieee-p1363' }, parts.signatureValue));
  } catch (e) {
    refuse('signature-invalid', `the signer's key cannot verify an ECDSA P-256 signature: ${(e as Error).message}`);
  }
  if (!valid) refuse('signature-invalid', 'the SignatureValue does not verify over SignedInfo with the signer\'s key');
  return {
    document,
    identity,
    signer: resolution.signer,
    ...(resolution.eui === undefined ? {} : { signerEui: resolution.eui }),
  };
}

export interface SignOptions {
  limits?: Partial<XmlLimits>;
}

/**
 * Signs a DUIS document: any signature already a child of the root is replaced, comments and whitespace
 * between elements are dropped, and the result is the canonical document with the signature as last child.
 */
export function signXml(input: string | Uint8Array | XmlDocument, signer: XmlSigner, options: SignOptions = {}): Checked<string> {
  return checked(() => {
    const document =
      typeof input === 'string' || input instanceof Uint8Array
        ? parseXmlOrThrow(input, { comments: 'drop', ...(options.limits ? { limits: options.limits } : {}) })
        : input;
    return signTree(document.root, signer, document.signatures);
  });
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** SignedInfo as exclusive c14n renders it, split around the DigestValue. */
const SIGNED_INFO_OPEN = `<ds:SignedInfo xmlns:ds="${NS.ds}">`;
const SIGNED_INFO_HEAD =
  `<ds:CanonicalizationMethod Algorithm="${ALGORITHM.exclusiveC14n}"></ds:CanonicalizationMethod>` +
  `<ds:SignatureMethod Algorithm="${ALGORITHM.ecdsaSha256}"></ds:SignatureMethod>` +
  `<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="${ALGORITHM.envelopedSignature}"></ds:Transform></ds:Transforms>` +
  `<ds:DigestMethod Algorithm="${ALGORITHM.sha256}"></ds:DigestMethod><ds:DigestValue>`;
const SIGNED_INFO_TAIL = '</ds:DigestValue></ds:Reference></ds:SignedInfo>';

/** Signs the document rooted at `root`, leaving out `replaced` (signatures being replaced). */
export function signTree(root: XmlElement, signer: XmlSigner, replaced: readonly XmlElement[] = []): string {
  for (const s of replaced) {
    if (s.parent !== root) refuse('signature-position', 'a ds:Signature below the root cannot be replaced', s);
  }
  const unsigned = replaced.length === 0 ? root : { ...root, children: root.children.filter((c) => !replaced.includes(c as XmlElement)) };
  const body = canonicalizeDocument(unsigned, { dropWhitespaceBetweenElements: true });
  // The signature uses the ds prefix; declare it unless the root already binds it to the XMLDSig namespace.
  const rootBindsDs = root.namespaces.some((d) => d.prefix === 'ds' && d.uri === NS.ds);
  return signCanonical(body, signer, { rootName: qualifiedName(root), rootBindsDs });
}

/**
 * Signs a document given as its canonical text (no whitespace between elements, no XML declaration), such as a
 * response written from a template: the enveloped signature goes in as the root's last child.
 */
export function signCanonical(body: string, signer: XmlSigner, root: { rootName: string; rootBindsDs: boolean }): string {
  if (!/^[0-9]+$/.test(signer.serial)) refuse('key-info', `signer serial ${JSON.stringify(signer.serial)} is not decimal`);
  const close = `</${root.rootName}>`;
  if (!body.endsWith(close)) refuse('structure', `the canonical document does not end with ${close}`);
  const digest = createHash('sha256').update(body).digest('base64');
  const signedInfoInner = SIGNED_INFO_HEAD + digest + SIGNED_INFO_TAIL;
  const signedInfo = Buffer.from(SIGNED_INFO_OPEN + signedInfoInner, 'utf8');
  const signatureValue = timedCrypto('sign', () => ecdsaSign('sha256', signedInfo, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' }));
  const signature =
    (root.rootBindsDs ? '<ds:Signature>' : `<ds:Signature xmlns:ds="${NS.ds}">`) +
    '<ds:SignedInfo>' +
    signedInfoInner +
    `<ds:SignatureValue>${encodeBase64(signatureValue)}</ds:SignatureValue>` +
    `<ds:KeyInfo><ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>${escapeText(signer.issuer)}</ds:X509IssuerName>` +
    `<ds:X509SerialNumber>${signer.serial}</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data></ds:KeyInfo></ds:Signature>`;
  return XML_DECLARATION + body.slice(0, body.length - close.length) + signature + close;
}
