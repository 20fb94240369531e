import { diffieHellman, sign, verify } from 'node:crypto';
import test from 'ava';
import { deriveKeyPair, ecdhSecret, generateKeyPair, publicPoint } from '../../../protocol/smki/keys.ts';

test('ecdhSecret gives the same Z on every path: KeyObjects, a derived pair, a raw point', (t) => {
  const own = deriveKeyPair('seed', 'own');
  const peer = generateKeyPair();
  const z = diffieHellman({ privateKey: own.privateKey, publicKey: peer.publicKey });
  t.deepEqual(ecdhSecret(own.privateKey, peer.publicKey), z);
  t.deepEqual(ecdhSecret(own, publicPoint(peer.publicKey)), z);
  t.deepEqual(ecdhSecret(deriveKeyPair('seed', 'own'), peer.publicKey), z, 'a fresh derived pair, before its KeyObjects exist');
  t.deepEqual(ecdhSecret(peer.privateKey, publicPoint(own.publicKey)), z, 'and from the other side, on a raw point');
  t.deepEqual(ecdhSecret(peer.privateKey, publicPoint(own.publicKey)), z, 'again, with the ECDH object kept');
});

test('ecdhSecret refuses a point off the curve', (t) => {
  const point = publicPoint(generateKeyPair().publicKey);
  point[40]! ^= 1;
  t.throws(() => ecdhSecret(deriveKeyPair('seed', 'own'), point), { code: 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY' });
});

test('a derived pair makes its KeyObjects on first use; a spread copy still has them, and they sign and verify', (t) => {
  const pair = { ...deriveKeyPair('seed', 'ds') };
  const sig = sign('sha256', Buffer.from('x'), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
  t.true(verify('sha256', Buffer.from('x'), { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, sig));
  t.deepEqual(publicPoint(pair.publicKey), publicPoint(deriveKeyPair('seed', 'ds').publicKey), 'the same seed and label give the same key');
});

test('key agreement with a derived pair never imports its private key', (t) => {
  const pair = deriveKeyPair('seed', 'ka-only');
  let imported = false;
  const privateKey = Object.getOwnPropertyDescriptor(pair, 'privateKey')!.get!;
  Object.defineProperty(pair, 'privateKey', { get: () => ((imported = true), privateKey()) });
  ecdhSecret(pair, publicPoint(generateKeyPair().publicKey));
  t.false(imported);
});
