/**
 * Checking a decoded frame's signature and MAC against whatever keys a keystore holds, for tools that inspect
 * traffic (the `gbcs decode` command). Each check says valid, invalid, absent (the frame has none) or no-key
 * (the keystore cannot decide).
 */
import { type Eui } from '../smki/eui.ts';
import { type KeyEntry, type Keystore } from '../smki/keystore.ts';
import { RemotePartyRole } from '../smki/roles.ts';
import { type Frame } from './frame.ts';
import { verifyApdu, verifyCommandMac } from './security.ts';

export type CheckResult = 'valid' | 'invalid' | 'absent' | 'no-key';

/** The originator's signature, tried against every non-XML Digital Signing key the keystore holds for it. */
export function checkSignature(frame: Frame, keystore: Keystore): CheckResult {
  const { apdu } = frame;
  if (!apdu.signature) return 'absent';
  const keys = keystore.find(apdu.originator, 'digitalSignature', { gbcs: true });
  if (keys.length === 0) return 'no-key';
  return keys.some((k) => verifyApdu(apdu, k.publicKey)) ? 'valid' : 'invalid';
}

/**
 * The ACB's MAC on a Command. ECDH works from either end: the ACB's KA private key with the device's KA
 * certificate, or the device's KA private key with the ACB's certificate. `acb` narrows the ACB candidates.
 */
export function checkMac(frame: Frame, keystore: Keystore, acb?: Eui): CheckResult {
  const { ciphering, apdu } = frame;
  if (!ciphering) return 'absent';
  const acbRole = { role: RemotePartyRole.accessControlBroker };
  const acbKeys: KeyEntry[] = acb
    ? keystore.find(acb, 'keyAgreement', { gbcs: true })
    : keystore.all().filter((e) => e.usage === 'keyAgreement' && e.role === acbRole.role);
  const deviceKeys = keystore.find(apdu.recipient, 'keyAgreement', { gbcs: true });
  const pairs: [KeyEntry, KeyEntry][] = [];
  for (const a of acbKeys) for (const d of deviceKeys) {
    if (a.privateKey) pairs.push([a, d]);
    else if (d.privateKey) pairs.push([d, a]);
  }
  if (pairs.length === 0) return 'no-key';
  return pairs.some(([own, peer]) => verifyCommandMac(ciphering, apdu, own.privateKey!, peer.publicKey)) ? 'valid' : 'invalid';
}
