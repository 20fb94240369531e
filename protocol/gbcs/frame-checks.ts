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
 * The MAC on a wrapped frame. ECDH works from either end, so a keystore holding either party's KA private key can
 * check it. A remote party's Command is MACed by the ACB for the recipient device (`acb` narrows the ACB
 * candidates); a Command from a device on the HAN (a PPMID's), a device's non-critical response or alert, by the
 * originating device itself. `invalid` only once whoever could have made the MAC was tried: a Command from an
 * originator the keystore does not know as a remote party may be a HAN device's, MACed with a key it lacks.
 */
export function checkMac(frame: Frame, keystore: Keystore, acb?: Eui): CheckResult {
  const { ciphering, apdu } = frame;
  if (!ciphering) return 'absent';
  const acbRole = RemotePartyRole.accessControlBroker;
  const originator = keystore.find(apdu.originator, 'keyAgreement', { gbcs: true });
  const acbs = acb ? keystore.find(acb, 'keyAgreement', { gbcs: true }) : keystore.all().filter((e) => e.usage === 'keyAgreement' && e.role === acbRole);
  const receivers = keystore.find(apdu.recipient, 'keyAgreement', { gbcs: true });
  const pairsOf = (senders: readonly KeyEntry[]) => {
    const pairs: [KeyEntry, KeyEntry][] = [];
    for (const a of senders) for (const b of receivers) {
      if (a.privateKey) pairs.push([a, b]);
      else if (b.privateKey) pairs.push([b, a]);
    }
    return pairs;
  };
  const verifies = (pairs: readonly [KeyEntry, KeyEntry][]) => pairs.some(([own, peer]) => verifyCommandMac(ciphering, apdu, own.privateKey!, peer.publicKey));
  const byOriginator = pairsOf(originator);
  if (apdu.cra !== 'command') return byOriginator.length === 0 ? 'no-key' : verifies(byOriginator) ? 'valid' : 'invalid';
  const byAcb = pairsOf(acbs);
  if (verifies(byAcb) || verifies(byOriginator)) return 'valid';
  const remoteParty = keystore.all().some((e) => e.eui === apdu.originator && e.role !== null);
  // Tried: the ACB for a remote party's Command, the originator itself for any other.
  return (remoteParty && byAcb.length > 0) || byOriginator.length > 0 ? 'invalid' : 'no-key';
}
