/**
 * The one door to @peculiar/x509. Its ASN.1 classes use decorators that need reflect-metadata loaded first, and
 * it needs a WebCrypto provider: node's own (passed explicitly on every call rather than installed globally, so
 * nothing else in the process is affected).
 */
import 'reflect-metadata';
import { webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export { x509 };

/** node's WebCrypto: the provider handed to every @peculiar/x509 call. */
export const provider: webcrypto.Crypto = webcrypto;

export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** A CryptoKey for signing with @peculiar/x509, from a node:crypto private KeyObject. */
export async function signingCryptoKey(privateKey: KeyObject): Promise<webcrypto.CryptoKey> {
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', pkcs8, P256, false, ['sign']);
}

/** SubjectPublicKeyInfo DER: what @peculiar/x509 takes as a certificate's public key without a WebCrypto import. */
export function spki(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}
