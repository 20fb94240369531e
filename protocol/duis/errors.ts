/**
 * Typed refusals for everything DUIS: XML hardening, document structure, XML signatures and schema validation.
 * Parsers and verifiers return a `Checked<T>` (the value, or the error saying why not) and never throw on
 * hostile input; builders and signers given an impossible model throw a `DuisFailure` carrying the same error.
 */
export type DuisErrorCode =
  // input limits and XML well-formedness (hardened parser)
  | 'too-large' // more bytes than the size limit
  | 'encoding' // not UTF-8, a byte order mark other than UTF-8's, or an encoding declaration other than UTF-8
  | 'xml-version' // an XML declaration other than version 1.0
  | 'malformed' // not well-formed XML or not namespace-well-formed
  | 'dtd' // a DOCTYPE (and with it every entity declaration, internal or external)
  | 'processing-instruction' // a processing instruction other than the XML declaration
  | 'comment' // a comment where the caller refuses them (every signature verification does)
  | 'too-deep' // element nesting beyond the depth limit
  | 'too-many-attributes' // more attributes (namespace declarations included) on one element than the limit
  | 'text-too-long' // one text node longer than the text limit
  | 'too-many-elements' // more elements in the document than the element limit
  // document shape and values
  | 'structure' // an element missing, unexpected, out of order, or in the wrong namespace
  | 'value' // an element or attribute whose text is not in its type's value space
  // XML signature
  | 'signature-missing' // no ds:Signature at all
  | 'signature-duplicate' // more than one ds:Signature anywhere in the document
  | 'signature-position' // the ds:Signature is not the last child element of the root
  | 'signature-shape' // the ds:Signature, SignedInfo or Reference is not the one shape DUIS uses
  | 'algorithm' // a canonicalisation, signature, digest or transform algorithm other than DUIS's
  | 'key-info' // KeyInfo is not exactly X509Data/X509IssuerSerial with a decimal serial
  | 'signer-unknown' // no key is known for the IssuerSerial
  | 'signer-refused' // the key is known but may not sign this (revoked, wrong role, not this User)
  | 'digest-mismatch' // the signed content was changed after signing
  | 'signature-invalid' // the SignatureValue does not verify over SignedInfo
  // schema validation
  | 'schema'; // the XSD says the document is invalid

/** An element of a parsed tree, as far as error reporting needs it: its path is worked out only on refusal. */
export interface Located {
  readonly local: string;
  readonly parent: Located | null;
}

/** Where a problem is: a path already written out, or the element (cheap to pass on the success path). */
export type Where = string | Located;

export function pathText(where: Where): string {
  if (typeof where === 'string') return where;
  const parts: string[] = [];
  for (let e: Located | null = where; e; e = e.parent) parts.push(e.local);
  return '/' + parts.reverse().join('/');
}

export class DuisError {
  readonly name = 'DuisError';
  constructor(
    readonly code: DuisErrorCode,
    readonly message: string,
    /** Where in the document, as a path of local names ("/Request/Header/RequestID"), when known. */
    readonly path?: string,
  ) {}

  toString(): string {
    return `${this.code}: ${this.path ? `${this.path}: ` : ''}${this.message}`;
  }

  toJSON(): { code: DuisErrorCode; message: string; path?: string } {
    return this.path === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, path: this.path };
  }
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: DuisError };

/** The exception form of a DuisError: thrown inside this package and by builders and signers. */
export class DuisFailure extends Error {
  override readonly name = 'DuisFailure';
  constructor(readonly error: DuisError) {
    super(error.toString());
  }
}

export function refuse(code: DuisErrorCode, message: string, where?: Where): never {
  throw new DuisFailure(new DuisError(code, message, where === undefined ? undefined : pathText(where)));
}

/** Runs code that may throw DuisFailure and turns the outcome into a Checked<T>; other exceptions are bugs. */
export function checked<T>(run: () => T): Checked<T> {
  try {
    return { ok: true, value: run() };
  } catch (e) {
    if (e instanceof DuisFailure) return { ok: false, error: e.error };
    throw e;
  }
}

/** For callers that would rather throw: unwraps a Checked<T> or throws its DuisFailure. */
export function unwrap<T>(result: Checked<T>): T {
  if (result.ok) return result.value;
  throw new DuisFailure(result.error);
}
