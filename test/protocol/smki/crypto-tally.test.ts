/**
 * The fleet's crypto figures (cryptoOps in its report, the in-run cost in its benchmark) come from this tally:
 * every ECDSA sign and verify and every ECDH, GBCS, DUIS XMLDSig and S1SP alike, counted once where it happens.
 */
import test from 'ava';
import { signRequest, verifyRequest } from '../../../protocol/duis/index.ts';
import { buildPaymentModePreCommand } from '../../../protocol/gbcs/usecases/payment-mode.ts';
import { signApdu, verifyApdu, verifyCommandMac, wrapCommand } from '../../../protocol/gbcs/security.ts';
import { decodeS1sp, encodeInstruction, verifyInstruction } from '../../../protocol/s1sp/frame.ts';
import { type CryptoTally, cryptoTally } from '../../../protocol/smki/crypto-tally.ts';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { generateKeyPair } from '../../../protocol/smki/keys.ts';
import { creditRequest, keystore, supplierSigner } from '../duis/support.ts';

const SUPPLIER = parseEui('90B3D51F30010000');
const METER = parseEui('00DB1234567890A0');

/** What `run` added to the tally (these tests are synchronous, so nothing else runs meanwhile on this thread). */
function added(run: () => void): CryptoTally {
  const before = { ...cryptoTally };
  run();
  return { sign: cryptoTally.sign - before.sign, verify: cryptoTally.verify - before.verify, ecdh: cryptoTally.ecdh - before.ecdh, ms: cryptoTally.ms - before.ms };
}

test('GBCS: a signature, its check and the MAC on each side are one sign, one verify and two ECDH, timed', (t) => {
  const ds = generateKeyPair();
  const acb = generateKeyPair();
  const meter = generateKeyPair();
  const d = added(() => {
    const signed = signApdu(buildPaymentModePreCommand({ variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } }, counter: 1n, originator: SUPPLIER, recipient: METER }), ds.privateKey);
    t.true(verifyApdu(signed, ds.publicKey));
    const wrapped = wrapCommand(signed, acb, meter.publicKey);
    t.true(verifyCommandMac(wrapped, signed, meter, acb.publicKey));
  });
  t.like(d, { sign: 1, verify: 1, ecdh: 2 });
  t.true(d.ms > 0);
});

test('DUIS XMLDSig: signing and verifying a request are one sign and one verify', (t) => {
  const d = added(() => t.true(verifyRequest(signRequest(creditRequest(), supplierSigner), keystore).ok));
  t.like(d, { sign: 1, verify: 1, ecdh: 0 });
  t.true(d.ms > 0);
});

test('S1SP: an instruction signed and checked is one sign and one verify, and a check that fails still counts', (t) => {
  const key = generateKeyPair();
  const d = added(() => {
    const bytes = encodeInstruction({ type: 'instruction', id: 7n, from: SUPPLIER, to: METER, time: 473_385_600, reference: 1n, operation: { op: 'read', what: 'prepay-values' } }, key.privateKey);
    const decoded = decodeS1sp(bytes);
    if (!decoded.ok) return t.fail(decoded.error.toString());
    t.true(verifyInstruction(decoded.value, key.publicKey));
    t.false(verifyInstruction(decoded.value, generateKeyPair().publicKey));
  });
  t.like(d, { sign: 1, verify: 2, ecdh: 0 });
});
