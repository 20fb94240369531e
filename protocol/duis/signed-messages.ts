/**
 * Signed DUIS messages end to end: a request or response model signed into XML, and XML verified into a model
 * together with who signed it. A request must be signed by the User its RequestID names: the XML Signing
 * certificate's EUI-64 has to be the RequestID's user EUI (when the resolver knows the signer's EUI).
 */
import type { Eui } from '../smki/eui.ts';
import { KeystoreError, type KeyEntry, type Keystore } from '../smki/keystore.ts';
import { type Checked, checked, refuse } from './errors.ts';
import { ChildReader, simpleText } from './model-reader.ts';
import { NS } from './namespaces.ts';
import { type DuisRequest, readRequest, requestTree, toDocument } from './request.ts';
import { parseRequestId } from './request-id.ts';
import { canonicalResponseText, type DuisResponse, readResponse, responseTree } from './response.ts';
import type { XmlDocument } from './xml-tree.ts';
import { type SignerResolver, signCanonical, signTree, type VerifiedXml, type VerifyOptions, verifyXmlOrThrow, type XmlSigner, xmlSignerFromEntry } from './xmldsig.ts';
import type { XmlLimits } from './xml-parser.ts';

export interface VerifiedRequest<S> extends VerifiedXml<S> {
  request: DuisRequest;
}

export interface VerifiedResponse<S> extends VerifiedXml<S> {
  response: DuisResponse;
}

export function verifyRequest(input: string | Uint8Array, keys: Keystore, options?: VerifyOptions): Checked<VerifiedRequest<KeyEntry>>;
export function verifyRequest<S>(input: string | Uint8Array, keys: SignerResolver<S>, options?: VerifyOptions): Checked<VerifiedRequest<S>>;
export function verifyRequest<S>(input: string | Uint8Array, keys: Keystore | SignerResolver<S>, options: VerifyOptions = {}): Checked<VerifiedRequest<unknown>> {
  return checked(() => {
    const verified = verifyXmlOrThrow(input, keys, options);
    return { ...verified, request: signedRequest(verified) };
  });
}

export interface VerifyResponseOptions extends VerifyOptions {
  /** When given, the signer's EUI (if the resolver knows it) must be this one: normally the DCC's. */
  signerEui?: Eui;
}

export function verifyResponse(input: string | Uint8Array, keys: Keystore, options?: VerifyResponseOptions): Checked<VerifiedResponse<KeyEntry>>;
export function verifyResponse<S>(input: string | Uint8Array, keys: SignerResolver<S>, options?: VerifyResponseOptions): Checked<VerifiedResponse<S>>;
export function verifyResponse<S>(
  input: string | Uint8Array,
  keys: Keystore | SignerResolver<S>,
  options: VerifyResponseOptions = {},
): Checked<VerifiedResponse<unknown>> {
  return checked(() => {
    const verified = verifyXmlOrThrow(input, keys, options);
    return { ...verified, response: signedResponse(verified, options) };
  });
}

/** The request as signed canonical XML. Throws DuisFailure on a model DUIS cannot carry. */
export function signRequest(request: DuisRequest, signer: XmlSigner): string {
  return signTree(requestTree(request), signer);
}

/**
 * The response as signed canonical XML (the DCC signs with its role-137 XML Signing key). The DCC's everyday
 * answers are written from their canonical template; any other response is built as a tree.
 */
export function signResponse(response: DuisResponse, signer: XmlSigner): string {
  const text = canonicalResponseText(response);
  return text === undefined ? signTree(responseTree(response), signer) : signCanonical(text, signer, { rootName: 'sr:Response', rootBindsDs: true });
}

/**
 * The User EUI of a request's RequestID, read from the first Header child alone, so that requests which are
 * otherwise deliberately wrong (negative tests) can still be signed.
 */
export function requestUserEui(doc: XmlDocument): Eui {
  const root = doc.root;
  if (root.uri !== NS.sr || root.local !== 'Request') refuse('structure', 'the root must be sr:Request', root);
  const header = new ChildReader(root).required('Header');
  const id = new ChildReader(header).required('RequestID');
  return parseRequestId(simpleText(id), id).user;
}

/**
 * Signs request XML with the XML Signing key of the User its RequestID names, keeping everything else (the
 * counter included) and replacing any signature already there.
 */
export function signRequestXml(input: string | Uint8Array, keystore: Keystore, options: { limits?: Partial<XmlLimits> } = {}): Checked<string> {
  return checked(() => {
    const doc = toDocument(input, options.limits ? { limits: options.limits } : {});
    const user = requestUserEui(doc);
    let entry: KeyEntry;
    try {
      entry = keystore.xmlSigningKey(user);
    } catch (e) {
      if (e instanceof KeystoreError) refuse('signer-unknown', e.message);
      throw e;
    }
    return signTree(doc.root, xmlSignerFromEntry(entry), doc.signatures);
  });
}

export type VerifiedMessage<S> = VerifiedXml<S> & ({ kind: 'request'; request: DuisRequest } | { kind: 'response'; response: DuisResponse });

/** Verifies a request or a response, whichever the root is, with the checks of verifyRequest / verifyResponse. */
export function verifyMessage(input: string | Uint8Array, keys: Keystore, options?: VerifyResponseOptions): Checked<VerifiedMessage<KeyEntry>>;
export function verifyMessage<S>(input: string | Uint8Array, keys: SignerResolver<S>, options?: VerifyResponseOptions): Checked<VerifiedMessage<S>>;
export function verifyMessage<S>(
  input: string | Uint8Array,
  keys: Keystore | SignerResolver<S>,
  options: VerifyResponseOptions = {},
): Checked<VerifiedMessage<unknown>> {
  return checked((): VerifiedMessage<unknown> => {
    const verified = verifyXmlOrThrow(input, keys, options);
    const root = verified.document.root;
    if (root.uri === NS.sr && root.local === 'Response') return { ...verified, kind: 'response', response: signedResponse(verified, options) };
    return { ...verified, kind: 'request', request: signedRequest(verified) };
  });
}

function signedRequest(verified: VerifiedXml<unknown>): DuisRequest {
  const request = readRequest(verified.document);
  const user = request.header.requestId.user;
  if (verified.signerEui !== undefined && verified.signerEui !== user) {
    refuse('signer-refused', `signed by ${verified.signerEui} but the RequestID names User ${user}`);
  }
  return request;
}

function signedResponse(verified: VerifiedXml<unknown>, options: VerifyResponseOptions): DuisResponse {
  const response = readResponse(verified.document);
  if (options.signerEui !== undefined && verified.signerEui !== undefined && verified.signerEui !== options.signerEui) {
    refuse('signer-refused', `signed by ${verified.signerEui}, expected ${options.signerEui}`);
  }
  return response;
}
