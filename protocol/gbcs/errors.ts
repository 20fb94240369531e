/**
 * Typed decode errors. Every GBCS decoder returns a `Decoded<T>`: either the value or an error naming what was
 * wrong and at which byte offset. Decoders never throw on malformed input.
 */
export type DecodeErrorCode =
  | 'truncated' // the input ended inside a field
  | 'bad-tag' // an APDU or data tag that is not the one expected here
  | 'bad-length' // a length field with a value this format does not allow
  | 'bad-value' // a field whose value is out of its domain
  | 'trailing-bytes' // bytes left over after a complete frame
  | 'unsupported'; // well-formed, but a variant this implementation does not model

export class GbcsDecodeError {
  readonly name = 'GbcsDecodeError';
  constructor(
    readonly code: DecodeErrorCode,
    readonly message: string,
    /** Byte offset into the input where the problem was found. */
    readonly offset: number,
  ) {}

  toString(): string {
    return `${this.code} at byte ${this.offset}: ${this.message}`;
  }

  toJSON(): { code: DecodeErrorCode; message: string; offset: number } {
    return { code: this.code, message: this.message, offset: this.offset };
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: GbcsDecodeError };

/** Thrown only inside this package by ByteReader and caught by `decodeResult`; never escapes a decoder. */
export class DecodeFailure extends Error {
  constructor(readonly error: GbcsDecodeError) {
    super(error.toString());
  }
}

export function fail(code: DecodeErrorCode, message: string, offset: number): never {
  throw new DecodeFailure(new GbcsDecodeError(code, message, offset));
}

/** Runs a decoder that may throw DecodeFailure and turns the outcome into a Decoded<T>. */
export function decodeResult<T>(decode: () => T): Decoded<T> {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (e instanceof DecodeFailure) return { ok: false, error: e.error };
    throw e;
  }
}

/** For callers that would rather throw: unwraps a Decoded<T> or throws the DecodeFailure. */
export function unwrap<T>(result: Decoded<T>): T {
  if (result.ok) return result.value;
  throw new DecodeFailure(result.error);
}
