import { readFileSync } from 'node:fs';
import test from 'ava';
import { decodeGeneralCiphering, decodeGeneralSigning, encodeGeneralCiphering, encodeSignedPart, type GeneralSigning } from '../../../protocol/gbcs/apdu.ts';
import { verifyApdu, wrapCommand } from '../../../protocol/gbcs/security.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { Keystore } from '../../../protocol/smki/keystore.ts';
import { SimClock } from '../../../devices/clock.ts';
import { GeneratedKeySource } from '../../../devices/smets2/keys.ts';
import { Smets2Meter } from '../../../devices/smets2/meter.ts';
import { trustAnchorsFromKeystore } from '../../../devices/smets2/trust-anchors.ts';
import { RTDS_ESME, RTDS_GSME, rtdsFrame, rtdsFrames, zaz1KeystorePath } from '../../helpers/fixtures.ts';

const keystore = Keystore.fromZaz1(readFileSync(zaz1KeystorePath, 'utf8'));
const anchors = trustAnchorsFromKeystore(keystore, { supplier: ['Z1-supplier-ds', 'Z1-supplier-ka'], accessControlBroker: [undefined, 'Z1-accessControlBroker-ka'] });
const acb = keystore.byName('Z1-accessControlBroker-ka')!;
// The RTDS meters' private keys are not public: our meters take their EUIs with keys of their own, and the
// reference Commands are re-MACed by the (ZAZ1) ACB for those keys. The User's signature is the original one.
const keys = new GeneratedKeySource();

function gs(bytes: Uint8Array): GeneralSigning {
  const d = decodeGeneralSigning(bytes);
  if (!d.ok) throw new Error(d.error.toString());
  return d.value;
}

function rewrap(command: Uint8Array): { inner: GeneralSigning; frame: Uint8Array } {
  const c = decodeGeneralCiphering(command);
  if (!c.ok) throw new Error(c.error.toString());
  const inner = gs(c.value.payload);
  return { inner, frame: encodeGeneralCiphering(wrapCommand(inner, acb.privateKey!, keys.keysFor(inner.recipient).ka.publicKey)) };
}

for (const { name, bytes } of rtdsFrames().filter((f) => f.name.includes('_COMMAND_'))) {
  test(`${name}: the emulated meter accepts the reference Command and answers byte-identically to RTDS, signature apart`, (t) => {
    const { inner, frame } = rewrap(bytes);
    const variant = inner.recipient === parseEui(RTDS_GSME) ? 'gsme' : 'esme';
    const m = new Smets2Meter({ eui: inner.recipient, variant, keys, trustAnchors: anchors, clock: new SimClock() });
    const response = m.process(frame);
    t.truthy(response);
    const got = gs(response!);
    const want = gs(rtdsFrame(name.replace('_COMMAND_', '_RESPONSE_')));
    t.is(Buffer.from(encodeSignedPart(got)).toString('hex'), Buffer.from(encodeSignedPart(want)).toString('hex'));
    t.true(verifyApdu(got, keys.keysFor(m.eui).ds.publicKey));
    t.deepEqual(m.snapshot().securityLog, []);
  });
}

test('GCS02 future-dated: the 8F66 alert is byte-identical to RTDS, signature apart', (t) => {
  const { inner, frame } = rewrap(rtdsFrame('GCS02_1.6_FUTURE_DATED_SUCCESS_COMMAND_GBCS.HEX'));
  const clock = new SimClock();
  // RTDS meters number their alerts from 3000 (GSME).
  const m = new Smets2Meter({ eui: inner.recipient, variant: 'gsme', keys, trustAnchors: anchors, clock, initial: { alertCounter: 2999 } });
  const sent: Uint8Array[] = [];
  m.setOutput((f) => sent.push(f));
  m.process(frame);
  clock.advanceTo(new Date('2030-01-15T09:00:00Z'));
  t.is(sent.length, 1);
  const want = gs(rtdsFrame('GCS02_1.6_8F66_FUTURE_DATED_SUCCESS_ALERT_CHANGE_PAYMENT_MODE_GBCS.HEX'));
  t.is(Buffer.from(encodeSignedPart(gs(sent[0]!))).toString('hex'), Buffer.from(encodeSignedPart(want)).toString('hex'));
  t.is(m.paymentMode, 'credit');
});

test('the reference Command with its original MAC is refused: it was MACed for the RTDS meter key, not ours', (t) => {
  const bytes = rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX');
  const m = new Smets2Meter({ eui: parseEui(RTDS_ESME), variant: 'esme', keys, trustAnchors: anchors, clock: new SimClock(), initial: { paymentMode: 'prepayment' } });
  m.process(bytes);
  t.is(m.paymentMode, 'prepayment');
  t.like((m.snapshot().securityLog as object[])[0], { code: '8F1E', reason: 'ACB MAC does not verify' });
});

test('trust anchors from the keystore: a certificate name it lacks is named in the error, whichever usage it was given for', (t) => {
  t.throws(() => trustAnchorsFromKeystore(keystore, { accessControlBroker: [undefined, 'no-such-ka'] }), { message: 'accessControlBroker: no certificate named no-such-ka in the keystore' });
  t.throws(() => trustAnchorsFromKeystore(keystore, { supplier: ['no-such-ds', 'Z1-supplier-ka'] }), { message: 'supplier: no certificate named no-such-ds in the keystore' });
});
