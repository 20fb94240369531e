/**
 * P-256 key pairs on node:crypto KeyObjects: fresh, imported from PEM, or derived deterministically from a
 * seed and a label (so a million emulated meters need no stored keys: the same seed and EUI give the same key).
 */
import { createECDH, createHmac, createPrivateKey, createPublicKey, diffieHellman, type ECDH, generateKeyPairSync, KeyObject } from 'node:crypto';
import { timedCrypto } from './crypto-tally.ts';

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** The order n of the P-256 group. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * A key pair from a raw 32-octet private scalar. The KeyObjects are made on first use: importing a private key
 * costs about three ECDSA signatures, and a seed-derived meter doing only key agreement needs none (its ECDH
 * object, `agreementKey`, is cheaper). They are own enumerable properties, so a spread copy still has them.
 */
export function keyPairFromScalar(d: Uint8Array): KeyPair {
  if (d.length !== 32) throw new RangeError('a P-256 private scalar is 32 octets');
  const scalar = Buffer.from(d);
  let ecdh: ECDH | undefined;
  let privateKey: KeyObject | undefined;
  let publicKey: KeyObject | undefined;
  const agreement = (): ECDH => {
    if (!ecdh) {
      ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(scalar);
    }
    return ecdh;
  };
  const pair = {} as KeyPair;
  Object.defineProperties(pair, {
    privateKey: {
      enumerable: true,
      configurable: true,
      get: () => {
        if (!privateKey) {
          const pub = agreement().getPublicKey(); // 04 || x || y
          const jwk = { kty: 'EC', crv: 'P-256', d: b64url(scalar), x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33, 65)) };
          privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
        }
        return privateKey;
      },
    },
    publicKey: { enumerable: true, configurable: true, get: () => (publicKey ??= createPublicKey(pair.privateKey)) },
  });
  agreementKeys.set(pair, agreement);
  return pair;
}

// ------------------------------------------------------------------------------------------- key agreement

/** A Key Agreement private key: a KeyObject, or a key pair (whose ECDH object is made once and kept). */
export type AgreementPrivate = KeyObject | KeyPair;
/** A Key Agreement public key: a KeyObject, or its uncompressed point (65 octets), as a key directory holds it. */
export type AgreementPublic = KeyObject | Uint8Array;

const agreementKeys = new WeakMap<object, () => ECDH>();
const points = new WeakMap<KeyObject, Buffer>();

function agreementKey(own: AgreementPrivate): ECDH {
  const derived = agreementKeys.get(own);
  if (derived) return derived(); // a derived pair: its private KeyObject is never made for this
  const key = own instanceof KeyObject ? own : own.privateKey;
  let make = agreementKeys.get(key);
  if (!make) {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url'));
    make = () => ecdh;
    agreementKeys.set(key, make);
  }
  return make();
}

function pointOf(peer: AgreementPublic): Uint8Array {
  if (!(peer instanceof KeyObject)) return peer;
  let p = points.get(peer);
  if (!p) points.set(peer, (p = publicPoint(peer)));
  return p;
}

/**
 * The ECDH shared secret Z (the x-coordinate, 32 octets). node:crypto's ECDH object on a raw point is about a
 * third cheaper than diffieHellman on two KeyObjects and needs no public key import; both check the point is on
 * the curve. Two KeyObjects (keys made elsewhere, used once) go to diffieHellman as they are.
 */
export function ecdhSecret(own: AgreementPrivate, peer: AgreementPublic): Buffer {
  if (own instanceof KeyObject && peer instanceof KeyObject && !agreementKeys.has(own)) {
    return timedCrypto('ecdh', () => diffieHellman({ privateKey: own, publicKey: peer }));
  }
  // Timed apart from making the ECDH object, which is key set-up rather than the agreement.
  const ecdh = agreementKey(own);
  const point = pointOf(peer);
  return timedCrypto('ecdh', () => ecdh.computeSecret(point));
}

/**
 * Deterministic key pair: HMAC-SHA256(seed, label || counter), retried until the value is a valid scalar.
 * Test material only: anyone with the seed has the key.
 */
export function deriveKeyPair(seed: string | Uint8Array, label: string): KeyPair {
  return keyPairFromScalar(deriveScalar(seed, label));
}

/** The private scalar deriveKeyPair uses for this seed and label. */
export function deriveScalar(seed: string | Uint8Array, label: string): Buffer {
  for (let counter = 0; ; counter++) {
    const d = createHmac('sha256', seed).update(label).update(Uint8Array.of(counter)).digest();
    const v = BigInt('0x' + d.toString('hex'));
    if (v > 0n && v < P256_N) return d;
  }
}

/**
 * The uncompressed public point (65 octets) of a private scalar, without making KeyObjects: one fixed-base
 * multiplication, several times cheaper than importing a key (what a directory of many public keys needs).
 */
export function publicPointOfScalar(d: Uint8Array): Buffer {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(d);
  return ecdh.getPublicKey();
}

export function privateKeyFromPem(pem: string): KeyPair {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('expected a P-256 (prime256v1) EC private key');
  }
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** Uncompressed public point (65 octets) of a P-256 key. */
export function publicPoint(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

export function publicKeyFromPoint(point: Uint8Array): KeyObject {
  if (point.length !== 65 || point[0] !== 4) throw new Error('expected an uncompressed P-256 point (65 octets)');
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33, 65)) },
    format: 'jwk',
  });
}
