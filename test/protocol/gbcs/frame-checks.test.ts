import test from 'ava';
import { encodeGeneralCiphering } from '../../../protocol/gbcs/apdu.ts';
import { checkMac, checkSignature } from '../../../protocol/gbcs/frame-checks.ts';
import { decodeFrame } from '../../../protocol/gbcs/frame.ts';
import { wrapNonCriticalCommand } from '../../../protocol/gbcs/security.ts';
import { buildResponse } from '../../../protocol/gbcs/usecases/responses.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../../protocol/smki/keys.ts';
import { Keystore } from '../../../protocol/smki/keystore.ts';
import { readCertificate } from '../../../protocol/smki/certificate.ts';

const DEVICE = parseEui('00DB1234567890A0');
const SUPPLIER = parseEui('90B3D51F30010000');

function entry(eui: typeof DEVICE, keys: ReturnType<typeof generateKeyPair>, withPrivate: boolean) {
  // checkMac needs only EUI, usage and keys; a placeholder certificate record carries them.
  return {
    eui,
    usage: 'keyAgreement' as const,
    role: null,
    name: `${eui}-ka`,
    certificate: { kind: 'device', eui } as unknown as ReturnType<typeof readCertificate>,
    publicKey: keys.publicKey,
    privateKey: withPrivate ? keys.privateKey : null,
  };
}

test("a device's MACed (non-critical) response decodes as a response and its MAC checks from either end", (t) => {
  const device = generateKeyPair();
  const supplier = generateKeyPair();
  const response = buildResponse({
    command: { counter: 7n, originator: SUPPLIER, messageCode: 0x0007, supplementary: new Uint8Array(0) },
    device: DEVICE,
    at: new Date('2026-01-01T00:00:00Z'),
    content: Uint8Array.of(0xda, 0x20, 0, 0, 7, 0, 0, 1, 0, 1, 3, 0),
  });
  const frame = encodeGeneralCiphering(wrapNonCriticalCommand(response, device.privateKey, supplier.publicKey));
  const d = decodeFrame(frame);
  if (!d.ok) return t.fail(d.error.toString());
  t.is(d.value.kind, 'response');
  t.is(d.value.apdu.signature, null);
  const supplierSide = new Keystore();
  supplierSide.add(entry(SUPPLIER, supplier, true));
  supplierSide.add(entry(DEVICE, device, false));
  t.is(checkMac(d.value, supplierSide), 'valid');
  t.is(checkSignature(d.value, supplierSide), 'absent');
  const tampered = Buffer.from(frame);
  tampered[tampered.length - 1]! ^= 1;
  const td = decodeFrame(tampered);
  t.true(td.ok && checkMac(td.value, supplierSide) === 'invalid');
  t.is(checkMac(d.value, new Keystore()), 'no-key');
});
