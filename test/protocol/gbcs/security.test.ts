import { readFileSync } from 'node:fs';
import test from 'ava';
import fc from 'fast-check';
import { decodeGeneralCiphering, decodeGeneralSigning, encodeGeneralCiphering, encodeGeneralSigning, type GeneralSigning } from '../../../protocol/gbcs/apdu.ts';
import { signApdu, verifyApdu, verifyCommandMac, wrapCommand } from '../../../protocol/gbcs/security.ts';
import { readCertificate } from '../../../protocol/smki/certificate.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../../protocol/smki/keys.ts';
import { Keystore } from '../../../protocol/smki/keystore.ts';
import { deviceCertPath, rtdsFrame, rtdsFrames, zaz1KeystorePath } from '../../helpers/fixtures.ts';

const keystore = Keystore.fromZaz1(readFileSync(zaz1KeystorePath, 'utf8'));
const supplierDs = keystore.byName('Z1-supplier-ds')!;
const acbKa = keystore.byName('Z1-accessControlBroker-ka')!;
const deviceDs = (eui: string) => readCertificate(readFileSync(deviceCertPath(eui, 'ds'), 'utf8')).publicKey;
const deviceKa = (eui: string) => readCertificate(readFileSync(deviceCertPath(eui, 'ka'), 'utf8')).publicKey;

function gs(bytes: Uint8Array): GeneralSigning {
  const d = decodeGeneralSigning(bytes);
  if (!d.ok) throw new Error(d.error.toString());
  return d.value;
}

for (const { name, bytes } of rtdsFrames()) {
  if (name.includes('_COMMAND_')) {
    test(`${name}: User signature verifies with Z1-supplier-ds and the ACB MAC verifies; rebuilt byte-identically`, (t) => {
      const c = decodeGeneralCiphering(bytes);
      if (!c.ok) return t.fail(c.error.toString());
      const inner = gs(c.value.payload);
      t.true(verifyApdu(inner, supplierDs.publicKey));
      // The RTDS device KA private keys are not public; ECDH is symmetric, so check from the ACB's side.
      t.true(verifyCommandMac(c.value, inner, acbKa.privateKey!, deviceKa(inner.recipient)));
      const rebuilt = wrapCommand(inner, acbKa.privateKey!, deviceKa(inner.recipient));
      t.deepEqual(Buffer.from(rebuilt.mac), Buffer.from(c.value.mac));
      t.deepEqual(encodeGeneralCiphering(rebuilt), bytes);
    });
  } else if (name.includes('_RESPONSE_') || name.includes('_ALERT_')) {
    test(`${name}: device signature verifies with the RTDS device certificate`, (t) => {
      const a = gs(bytes);
      t.true(verifyApdu(a, deviceDs(a.originator)));
      t.false(verifyApdu(a, supplierDs.publicKey));
    });
  }
}

test('sign then verify with fresh keys; the wrong key does not verify', (t) => {
  const pre = gs(rtdsFrame('GCS02_1.6_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX'));
  const a = generateKeyPair();
  const b = generateKeyPair();
  const signed = signApdu(pre, a.privateKey);
  t.true(verifyApdu(signed, a.publicKey));
  t.false(verifyApdu(signed, b.publicKey));
  t.false(verifyApdu(pre, a.publicKey), 'an unsigned APDU never verifies');
});

test('MAC: the device side (own KA private, ACB KA public) agrees with the ACB side', (t) => {
  const device = generateKeyPair();
  const acb = generateKeyPair();
  const signed = signApdu({ ...gs(rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX')), recipient: parseEui('0011223344556677') }, generateKeyPair().privateKey);
  const command = wrapCommand(signed, acb.privateKey, device.publicKey);
  t.true(verifyCommandMac(command, signed, device.privateKey, acb.publicKey));
  t.false(verifyCommandMac(command, signed, generateKeyPair().privateKey, acb.publicKey), 'another device cannot verify it');
  t.false(verifyCommandMac(command, signed, device.privateKey, generateKeyPair().publicKey), 'another ACB did not make it');
});

const signedFrames = rtdsFrames().filter((f) => !f.name.includes('_PRECOMMAND_'));

test('a single flipped bit anywhere in a signed or MACed frame never verifies', (t) => {
  const checks = signedFrames.map(({ name, bytes }) => {
    if (name.includes('_COMMAND_')) {
      const c0 = decodeGeneralCiphering(bytes);
      const peer = deviceKa(c0.ok ? gs(c0.value.payload).recipient : '');
      return (b: Uint8Array) => {
        const c = decodeGeneralCiphering(b);
        if (!c.ok) return false;
        const inner = decodeGeneralSigning(c.value.payload);
        if (!inner.ok) return false;
        return verifyCommandMac(c.value, inner.value, acbKa.privateKey!, peer) && verifyApdu(inner.value, supplierDs.publicKey);
      };
    }
    const originator = gs(bytes).originator;
    return (b: Uint8Array) => {
      const d = decodeGeneralSigning(b);
      return d.ok && verifyApdu(d.value, deviceDs(originator));
    };
  });
  for (const [i, { bytes }] of signedFrames.entries()) t.true(checks[i]!(bytes), 'the untouched frame verifies');
  fc.assert(
    fc.property(fc.nat(signedFrames.length - 1), fc.nat(), fc.integer({ min: 0, max: 7 }), (which, pos, bit) => {
      const { bytes } = signedFrames[which]!;
      const flipped = Buffer.from(bytes);
      const at = pos % flipped.length;
      flipped[at] = flipped[at]! ^ (1 << bit);
      return !checks[which]!(flipped);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('encodeGeneralSigning of a signed APDU carries 40 + r||s', (t) => {
  const pre = gs(rtdsFrame('GCS03_1.6_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX'));
  const out = encodeGeneralSigning(signApdu(pre, generateKeyPair().privateKey));
  t.is(out.length, rtdsFrame('GCS03_1.6_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX').length + 65);
  t.is(out[out.length - 65], 0x40);
});
