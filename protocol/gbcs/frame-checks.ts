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
 * check it. A Command is MACed by the ACB for the recipient device (`acb` narrows the ACB candidates); a device's
 * non-critical response or alert by the device for the remote party it answers.
 */
export function checkMac(frame: Frame, keystore: Keystore, acb?: Eui): CheckResult {
  const { ciphering, apdu } = frame;
  if (!ciphering) return 'absent';
  const acbRole = RemotePartyRole.accessControlBroker;
  const senders: KeyEntry[] =
    apdu.cra === 'command'
      ? acb
        ? keystore.find(acb, 'keyAgreement', { gbcs: true })
        : keystore.all().filter((e) => e.usage === 'keyAgreement' && e.role === acbRole)
      : keystore.find(apdu.originator, 'keyAgreement', { gbcs: true });
  const receivers = keystore.find(apdu.recipient, 'keyAgreement', { gbcs: true });
  const pairs: [KeyEntry, KeyEntry][] = [];
  for (const a of senders) for (const b of receivers) {
    if (a.privateKey) pairs.push([a, b]);
    else if (b.privateKey) pairs.push([b, a]);
  }
  if (pairs.length === 0) return 'no-key';
  return pairs.some(([own, peer]) => verifyCommandMac(ciphering, apdu, own.privateKey!, peer.publicKey)) ? 'valid' : 'invalid';
}
