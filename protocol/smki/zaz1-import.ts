/**
 * Imports the ZAZ1 keystore (the DCC Boxed test PKI) so this project can stand in for DCC Boxed: every party's
 * certificates and private keys, by EUI-64. The ZAZ1 CAs are external to our hierarchy and their certificates
 * are not in the keystore, so ZAZ1 certificates are trusted as imported, without chain or validity checks
 * (most are past notAfter, and the RTDS reference messages are still signed with them).
 */
import type { DirectoryEntry } from './directory.ts';
import { Keystore } from './keystore.ts';

export type ImportedEntry = Omit<DirectoryEntry, 'product' | 'eui'>;

/** Directory entries for every certificate of a ZAZ1 keystore (JSON text, parsed JSON, or a loaded Keystore). */
export function zaz1Entries(source: string | unknown): ImportedEntry[] {
  const store = source instanceof Keystore ? source : Keystore.fromZaz1(source);
  return store.all().map((k) => ({
    name: k.name,
    certificate: k.certificate,
    privateKey: k.privateKey,
    source: 'zaz1',
    checkValidity: false,
    requester: null,
  }));
}
