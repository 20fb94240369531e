/**
 * SMKI key identifiers: 8 octets, RFC 5280 section 4.2.1.2 method (2): the four bits 0100 followed by the
 * least significant 60 bits of the SHA-1 of the subjectPublicKey BIT STRING value (the uncompressed point).
 * The ZAZ1 certificates follow this rule; @peculiar/x509 would compute the 20-octet method (1) instead.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { publicPoint } from './keys.ts';

export function keyIdentifier(publicKey: KeyObject): Buffer {
  const id = createHash('sha1').update(publicPoint(publicKey)).digest().subarray(12);
  id[0] = 0x40 | (id[0]! & 0x0f);
  return id;
}

export function keyIdentifierHex(publicKey: KeyObject): string {
  return keyIdentifier(publicKey).toString('hex');
}
