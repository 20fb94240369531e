/**
 * Interoperability with the DCC Boxed Java signer and validator (@smartdcc/duis-sign-wrap, run as a separate
 * java process). Requests it signs verify with ours; requests we sign validate with it.
 */
import test from 'ava';
import {
  buildRequest,
  CANCEL_EXECUTION_DATE_TIME,
  type DuisRequest,
  parseRequest,
  signRequest,
  signRequestXml,
  verifyRequest,
} from '../../../protocol/duis/index.ts';
import { rtdsFrame } from '../../helpers/fixtures.ts';
import { creditRequest, javaSign, javaValidate, keystore, mapLimited, supplierSigner, template, templateNames } from './support.ts';

const names = templateNames();

test('every template signed by the DCC Boxed Java signer verifies with ours, counter and content kept', async (t) => {
  const signedByJava = await mapLimited(names, 2, (name) => javaSign(template(name)));
  for (const [i, name] of names.entries()) {
    const v = verifyRequest(signedByJava[i]!, keystore);
    if (!v.ok) return t.fail(`${name}: ${v.error}`);
    const original = parseRequest(template(name));
    if (!original.ok) return t.fail(original.error.toString());
    t.deepEqual(v.value.request.header, original.value.header, name);
    t.is(buildRequest(v.value.request), buildRequest(original.value), name);
    t.is(v.value.signer.name, 'xml-sign-90B3D51F30010000-ds');
  }
});

function variants(): [string, string][] {
  const out: [string, string][] = names.map((name) => {
    const r = signRequestXml(template(name), keystore);
    if (!r.ok) throw new Error(`${name}: ${r.error}`);
    return [name, r.value];
  });
  const future: DuisRequest = { ...creditRequest(1200n), body: { kind: 'UpdatePaymentMode', executionDateTime: '2031-05-01T00:00:00.00Z', paymentMode: { mode: 'Credit' } } };
  const cancel: DuisRequest = { ...creditRequest(1201n), body: { kind: 'UpdatePaymentMode', executionDateTime: CANCEL_EXECUTION_DATE_TIME, paymentMode: { mode: 'Credit' } } };
  const signedPreCommand: DuisRequest = {
    ...creditRequest(1002n),
    body: { kind: 'SignedPreCommand', gbcsPayload: rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_COMMAND_GBCS.HEX') },
  };
  signedPreCommand.header = { ...signedPreCommand.header, commandVariant: 5 };
  out.push(['built future-dated SRV 1.6', signRequest(future, supplierSigner)]);
  out.push(['built cancellation SRV 1.6', signRequest(cancel, supplierSigner)]);
  out.push(['built CV5 Signed Pre-Command', signRequest(signedPreCommand, supplierSigner)]);
  return out;
}

test('requests we sign (templates and built ones) pass the DCC Boxed Java validator', async (t) => {
  const docs = variants();
  const results = await mapLimited(docs, 2, ([, xml]) => javaValidate(xml));
  for (const [i, [name]] of docs.entries()) t.is(results[i]!.code, 0, `${name}: ${results[i]!.stderr}`);
});

test('the Java validator is a real oracle: it rejects our signed request once tampered', async (t) => {
  const signed = signRequest(creditRequest(), supplierSigner);
  const r = await javaValidate(signed.replace(':1002<', ':1003<'));
  t.is(r.code, 10, r.stderr);
});
