import test from 'ava';
import { checkDeviceAnswer } from '../../harness/agents/device-answer.ts';
import { encodeGeneralCiphering, encodeGeneralSigning, GBCS_SECURITY_CONTROL, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { ByteWriter } from '../../protocol/gbcs/bytes.ts';
import { writeAccessResponse } from '../../protocol/gbcs/dlms.ts';
import { computeMac, macKey, signApdu } from '../../protocol/gbcs/security.ts';
import { encodeReply } from '../../protocol/s1sp/frame.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../protocol/smki/keys.ts';

const meter = parseEui('00DB123456780001');
const otherMeter = parseEui('00DB123456780002');
const supplier = parseEui('90B3D51F30010000');
const meterDs = generateKeyPair();
const meterKa = generateKeyPair();
const supplierKa = generateKeyPair();
const counter = 0x0100000000000042n;

function content(result: number): Uint8Array {
  const w = new ByteWriter();
  writeAccessResponse(w, { invokeId: 1, data: [], results: [{ kind: 'set', result }] });
  return w.finish();
}

function response(o: { from?: typeof meter; counter?: bigint; result?: number } = {}): GeneralSigning {
  return {
    cra: 'response',
    counter: o.counter ?? counter,
    originator: o.from ?? meter,
    recipient: supplier,
    dateTime: null,
    messageCode: 0x0018,
    supplementary: new Uint8Array(0),
    content: content(o.result ?? 0),
    signature: null,
  };
}

const signed = (a: GeneralSigning, key = meterDs.privateKey) => encodeGeneralSigning(signApdu(a, key));

function maced(a: GeneralSigning, ownKa = meterKa): Uint8Array {
  const payload = Buffer.concat([encodeGeneralSigning(a), Uint8Array.of(0)]);
  const header = { securityControl: GBCS_SECURITY_CONTROL, invocationCounter: 0 };
  return encodeGeneralCiphering({ ...header, payload, mac: computeMac(header, payload, a, macKey(a, ownKa, supplierKa.publicKey)) });
}

const keys = () => ({ ds: [meterDs.publicKey], mac: { own: supplierKa.privateKey, device: meterKa.publicKey } });
const expected = { device: meter, smets1: false, counter, originator: supplier };
const fromS1sp = { ...expected, smets1: true };

test("a meter's signed answer to this command is believed, success or failure", (t) => {
  t.deepEqual(checkDeviceAnswer(signed(response()), expected, keys), { ok: true, from: 'meter', success: true });
  t.deepEqual(checkDeviceAnswer(signed(response({ result: 3 })), expected, keys), { ok: true, from: 'meter', success: false });
});

test("an answer signed with a key other than the meter's certified one is not believed", (t) => {
  const a = checkDeviceAnswer(signed(response(), generateKeyPair().privateKey), expected, keys);
  t.false(a.ok);
  t.regex(!a.ok ? a.problem : '', /signature on the meter's answer does not verify/);
  const none = checkDeviceAnswer(signed(response()), expected, () => ({ ds: [], mac: null }));
  t.regex(!none.ok ? none.problem : '', /no valid Digital Signing certificate is known/);
  const unsigned = checkDeviceAnswer(encodeGeneralSigning(response()), expected, keys);
  t.regex(!unsigned.ok ? unsigned.problem : '', /neither a signature nor a MAC/);
});

test('a validly signed answer from another meter, or to another command, is not taken for this one', (t) => {
  const fromOther = checkDeviceAnswer(signed(response({ from: otherMeter })), expected, keys);
  t.regex(!fromOther.ok ? fromOther.problem : '', /does not answer this command/);
  const otherCounter = checkDeviceAnswer(signed(response({ counter: counter + 1n })), expected, keys);
  t.regex(!otherCounter.ok ? otherCounter.problem : '', /does not answer this command/);
});

test("a MACed answer is believed only with the MAC agreed from the meter's certified Key Agreement key", (t) => {
  t.deepEqual(checkDeviceAnswer(maced(response()), expected, keys), { ok: true, from: 'meter', success: true });
  const forged = checkDeviceAnswer(maced(response(), generateKeyPair()), expected, keys);
  t.regex(!forged.ok ? forged.problem : '', /MAC on the meter's answer does not verify/);
  const unknown = checkDeviceAnswer(maced(response()), expected, () => ({ ds: [meterDs.publicKey], mac: null }));
  t.regex(!unknown.ok ? unknown.problem : '', /no Key Agreement keys are known/);
});

const s1spReply = (from: typeof meter, status: 'executed' | 'refused') => encodeReply({ type: 'response', id: 7n, from, to: supplier, time: 0, status });

test('an S1SP answer must come from the addressed meter; its status says whether the command was done', (t) => {
  t.like(checkDeviceAnswer(s1spReply(meter, 'executed'), fromS1sp, keys), { ok: true, from: 's1sp', success: true });
  t.like(checkDeviceAnswer(s1spReply(meter, 'refused'), fromS1sp, keys), { ok: true, from: 's1sp', success: false });
  const other = checkDeviceAnswer(s1spReply(otherMeter, 'executed'), fromS1sp, keys);
  t.regex(!other.ok ? other.problem : '', /comes from 00DB123456780002/);
  const junk = checkDeviceAnswer(Uint8Array.of(1, 2, 3), fromS1sp, keys);
  t.regex(!junk.ok ? junk.problem : '', /not an S1SP response/);
  const gbcs = checkDeviceAnswer(signed(response()), fromS1sp, keys);
  t.regex(!gbcs.ok ? gbcs.problem : '', /not an S1SP response/, 'a SMETS1 meter has no GBCS keys to answer with');
});

test('an S1SP answer changed after the S1SP sent it (a refusal rewritten as executed) fails its integrity check and is not believed', (t) => {
  const refused = s1spReply(meter, 'refused');
  const executed = s1spReply(meter, 'executed');
  // The frames differ in the status octet and in the check value after it: take only the status across.
  const status = refused.findIndex((b, i) => b !== executed[i]);
  const forged = Buffer.from(refused);
  forged[status] = executed[status]!;
  const a = checkDeviceAnswer(forged, fromS1sp, keys);
  t.false(a.ok);
  t.regex(!a.ok ? a.problem : '', /the S1SP answer for 00DB123456780001 fails its integrity check/);
});

test("an S1SP answer is not believed for a SMETS2+ meter: nothing in it is the meter's, so a DCC could write it for any device", (t) => {
  let asked = false;
  const a = checkDeviceAnswer(s1spReply(meter, 'executed'), expected, () => ((asked = true), keys()));
  t.regex(!a.ok ? a.problem : '', /the answer for SMETS2\+ device 00DB123456780001 is not a GBCS response from the meter/);
  t.false(asked);
  const junk = checkDeviceAnswer(Uint8Array.of(1, 2, 3), expected, keys);
  t.regex(!junk.ok ? junk.problem : '', /not a GBCS response from the meter/);
});

test("a meter's signed answer addressed to another party does not answer this User's command, though the User never saw the command", (t) => {
  const toOther = signApdu({ ...response(), recipient: parseEui('90B3D51F30020000') }, meterDs.privateKey);
  const a = checkDeviceAnswer(encodeGeneralSigning(toOther), expected, keys);
  t.regex(!a.ok ? a.problem : '', /addressed to 90B3D51F30020000, not to 90B3D51F30010000/);
});
