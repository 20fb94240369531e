/**
 * GBCS security on node:crypto KeyObjects:
 * - the originator's ECDSA P-256/SHA-256 signature (raw r||s) over the General-Signing APDU after its tag;
 * - the ACB's MAC: an AES-128-GCM tag over an empty plaintext, keyed by a one-pass ECDH (ACB KA private key,
 *   device KA public key) and the GBCS KDF, authenticating the whole signed APDU.
 */
import { createCipheriv, createHash, type KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';
import { timedCrypto } from '../smki/crypto-tally.ts';
import { euiToBytes } from '../smki/eui.ts';
import { type AgreementPrivate, type AgreementPublic, ecdhSecret } from '../smki/keys.ts';
import {
  type GeneralCiphering,
  type GeneralSigning,
  GBCS_SECURITY_CONTROL,
  craFlag,
  encodeGeneralSigning,
  encodeSignedPart,
  MAC_LENGTH,
} from './apdu.ts';
import { ByteWriter } from './bytes.ts';

export function signApdu(apdu: GeneralSigning, privateKey: KeyObject): GeneralSigning {
  const signed = encodeSignedPart(apdu);
  const signature = timedCrypto('sign', () => sign('sha256', signed, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  return { ...apdu, signature: new Uint8Array(signature) };
}

export function verifyApdu(apdu: GeneralSigning, publicKey: KeyObject): boolean {
  if (!apdu.signature) return false;
  const signed = encodeSignedPart(apdu);
  const signature = apdu.signature;
  return timedCrypto('verify', () => verify('sha256', signed, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature));
}

/** AlgorithmID for the GBCS KDF otherInfo: OID 2.16.840.1.114.8.3 (ECDH with AES-GCM) in DER body form. */
const KDF_ALGORITHM_ID = Uint8Array.from([0x60, 0x85, 0x74, 0x06, 0x08, 0x03, 0x00]);

/**
 * Z = ECDH(own private KA key, peer public KA key); key = first 16 octets of
 * SHA-256(00000001 || Z || otherInfo), otherInfo = AlgorithmID || originator || 09 || CRA || counter || recipient.
 */
export function macKey(apdu: Pick<GeneralSigning, 'cra' | 'counter' | 'originator' | 'recipient'>, ownKa: AgreementPrivate, peerKa: AgreementPublic): Buffer {
  const z = ecdhSecret(ownKa, peerKa);
  const otherInfo = new ByteWriter()
    .bytes(KDF_ALGORITHM_ID)
    .bytes(euiToBytes(apdu.originator))
    .u8(9)
    .u8(craFlag(apdu.cra))
    .u64(apdu.counter)
    .bytes(euiToBytes(apdu.recipient))
    .finish();
  return createHash('sha256').update(Uint8Array.of(0, 0, 0, 1)).update(z).update(otherInfo).digest().subarray(0, 16);
}

type SecurityHeader = Pick<GeneralCiphering, 'securityControl' | 'invocationCounter'>;

/**
 * GCM tag over an empty plaintext. IV = originator EUI || invocation counter; AAD = security header
 * (0x11 || invocation counter) || 0x00 || the signed General-Signing APDU.
 */
export function computeMac(header: SecurityHeader, signedApdu: Uint8Array, apdu: GeneralSigning, key: Uint8Array): Buffer {
  const ic = new ByteWriter().u32(header.invocationCounter).finish();
  const iv = Buffer.concat([euiToBytes(apdu.originator), ic]);
  const gcm = createCipheriv('aes-128-gcm', key, iv, { authTagLength: MAC_LENGTH });
  gcm.setAAD(Buffer.concat([Uint8Array.of(header.securityControl), ic, Uint8Array.of(0), signedApdu]));
  gcm.final();
  return gcm.getAuthTag();
}

/** The ACB's step: wrap a signed Pre-Command into the Command with its MAC. */
export function wrapCommand(signed: GeneralSigning, acbKaPrivate: AgreementPrivate, deviceKaPublic: AgreementPublic): GeneralCiphering {
  if (!signed.signature) throw new Error('only a signed Pre-Command can be wrapped into a Command');
  const header = { securityControl: GBCS_SECURITY_CONTROL, invocationCounter: 0 };
  const payload = encodeGeneralSigning(signed);
  const mac = computeMac(header, payload, signed, macKey(signed, acbKaPrivate, deviceKaPublic));
  return { ...header, payload, mac };
}

/**
 * A non-critical Command: the unsigned General-Signing APDU (signature length 00, as the DCC's reference data
 * has it) wrapped with the ACB's MAC.
 */
export function wrapNonCriticalCommand(apdu: GeneralSigning, acbKaPrivate: AgreementPrivate, deviceKaPublic: AgreementPublic): GeneralCiphering {
  const header = { securityControl: GBCS_SECURITY_CONTROL, invocationCounter: 0 };
  const payload = Buffer.concat([encodeGeneralSigning({ ...apdu, signature: null }), Uint8Array.of(0)]);
  return { ...header, payload, mac: computeMac(header, payload, apdu, macKey(apdu, acbKaPrivate, deviceKaPublic)) };
}

/**
 * The device's step: recompute the MAC with its own KA private key and the ACB's KA public key. ECDH is
 * symmetric, so the ACB can check a Command the same way with its private key and the device's public key.
 * `inner` is the decoded payload of `command`.
 */
export function verifyCommandMac(command: GeneralCiphering, inner: GeneralSigning, ownKaPrivate: AgreementPrivate, peerKaPublic: AgreementPublic): boolean {
  if (command.securityControl !== GBCS_SECURITY_CONTROL) return false;
  const expected = computeMac(command, command.payload, inner, macKey(inner, ownKaPrivate, peerKaPublic));
  return command.mac.length === expected.length && timingSafeEqual(expected, command.mac);
}
