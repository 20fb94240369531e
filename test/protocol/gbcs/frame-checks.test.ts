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
import { RemotePartyRole } from '../../../protocol/smki/roles.ts';

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

test("a Command's MAC: the ACB's for a remote party's Command, the originator's own for a HAN device's; invalid only once whoever made it was tried", (t) => {
  const ACB = parseEui('90B3D51F30000002');
  const PPMID = parseEui('00DB1234567890A4');
  const [acb, device, ppmid, supplier] = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()];
  const command = (originator: typeof DEVICE) =>
    ({ cra: 'command', counter: 9n, originator, recipient: DEVICE, dateTime: null, messageCode: 0x009b, supplementary: new Uint8Array(0), content: Uint8Array.of(1, 9, 1, 1, 7, 5, 0, 3, 1, 0, 0), signature: null }) as const;
  const decoded = (frame: Uint8Array) => {
    const d = decodeFrame(frame);
    if (!d.ok) throw new Error(d.error.toString());
    return d.value;
  };
  const spoil = (frame: Uint8Array) => Buffer.from(frame).fill(frame.at(-1)! ^ 1, frame.length - 1);
  const keystore = new Keystore();
  keystore.add({ ...entry(ACB, acb, true), role: RemotePartyRole.accessControlBroker });
  keystore.add({ ...entry(SUPPLIER, supplier, false), role: RemotePartyRole.supplier });
  keystore.add(entry(DEVICE, device, false));

  // A supplier's Command, MACed by the ACB: checked, and a damaged MAC is invalid.
  const fromSupplier = encodeGeneralCiphering(wrapNonCriticalCommand(command(SUPPLIER), acb.privateKey, device.publicKey));
  t.is(checkMac(decoded(fromSupplier), keystore), 'valid');
  t.is(checkMac(decoded(spoil(fromSupplier)), keystore), 'invalid');
  // A PPMID's Command to the meter, MACed with the PPMID's own key: the keystore cannot tell (it said invalid).
  const fromPpmid = encodeGeneralCiphering(wrapNonCriticalCommand(command(PPMID), ppmid.privateKey, device.publicKey));
  t.is(checkMac(decoded(fromPpmid), keystore), 'no-key');
  keystore.add(entry(PPMID, ppmid, true));
  t.is(checkMac(decoded(fromPpmid), keystore), 'valid');
  t.is(checkMac(decoded(spoil(fromPpmid)), keystore), 'invalid');
});
