import test from 'ava';
import { sign, verify } from 'node:crypto';
import { publicPoint } from '../../../protocol/smki/keys.ts';
import { deriveDeviceKeys, deviceKeyLabel, SeededKeySource } from '../../../devices/smets2/keys.ts';
import { eui } from '../support.ts';

test('seed-derived device keys are deterministic per EUI and usage, and the cache is bounded', (t) => {
  const a = eui('00DB123456780001');
  const b = eui('00DB123456780002');
  const source = new SeededKeySource('fleet seed', 2);
  const ka = source.keysFor(a);
  t.is(source.keysFor(a), ka, 'cached');
  t.deepEqual(publicPoint(deriveDeviceKeys('fleet seed', a).ds.publicKey), publicPoint(ka.ds.publicKey), 'anyone with the seed derives the same public key');
  t.notDeepEqual(publicPoint(ka.ds.publicKey), publicPoint(ka.ka.publicKey));
  t.notDeepEqual(publicPoint(source.keysFor(b).ds.publicKey), publicPoint(ka.ds.publicKey));
  source.keysFor(eui('00DB123456780003'));
  t.not(source.keysFor(a), ka, 'evicted, derived again');
  const msg = Buffer.from('m');
  t.true(verify('sha256', msg, ka.ds.publicKey, sign('sha256', msg, source.keysFor(a).ds.privateKey)));
  t.is(deviceKeyLabel(a, 'ka'), 'smets-hil/device/00DB123456780001/ka');
});
