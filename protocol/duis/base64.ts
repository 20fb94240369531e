/**
 * Strict xs:base64Binary: XML whitespace may separate characters (the DCC Boxed signer wraps SignatureValue
 * with CR LF), anything else must be canonical base64. Node's decoder silently skips junk and ignores non-zero
 * padding bits, which would let two different texts stand for the same bytes.
 */
import { type DuisErrorCode, refuse, type Where } from './errors.ts';

const SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const WHITESPACE = /[ \t\r\n]+/g;

export function decodeBase64(text: string, what: string, where?: Where, code: DuisErrorCode = 'value'): Buffer {
  const compact = text.includes(' ') || text.includes('\n') || text.includes('\r') || text.includes('\t') ? text.replace(WHITESPACE, '') : text;
  // Re-encoding gives back the text only if it was canonical base64 already (the decoder's leniencies all
  // change it), so the slow shape test runs only to word the refusal.
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.toString('base64') !== compact) {
    refuse(code, SHAPE.test(compact) ? `${what} is not canonical base64 (non-zero padding bits)` : `${what} is not base64`, where);
  }
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
