import test from 'ava';
import {
  buildRequest,
  buildResponse,
  CANCEL_EXECUTION_DATE_TIME,
  type DuisRequest,
  type DuisResponse,
  SchemaLoadError,
  signRequest,
  signRequestXml,
  signResponse,
  validateAgainstXsd,
  validateManyAgainstXsd,
  xmlSignerFromEntry,
} from '../../../protocol/duis/index.ts';
import { withoutDoctype } from '../../../protocol/duis/schema.ts';
import { DCC_EUI } from '../../../protocol/smki/eui.ts';
import { rtdsFrame } from '../../helpers/fixtures.ts';
import { creditRequest, ESME, keystore, SUPPLIER, supplierSigner, template, templateNames, xsdPath } from './support.ts';

async function validateAll(docs: [string, string][]): Promise<Map<string, string | null>> {
  const results = await validateManyAgainstXsd(docs.map(([name, xml]) => ({ name, xml })), xsdPath);
  return new Map(docs.map(([name], i) => [name, results[i]!.ok ? null : results[i]!.error.message]));
}

test('every RTDS template validates against DUIS Schema V5.4', async (t) => {
  const results = await validateAll(templateNames().map((n) => [n, template(n)]));
  for (const [name, reason] of results) t.is(reason, null, name);
});

test('what the builders and signers emit is schema-valid, 38-digit ZAZ1 serial numbers included', async (t) => {
  const at = '2026-01-15T09:00:00.00Z';
  const requestId = { user: SUPPLIER, target: ESME, counter: 1002n };
  const prepayment: DuisRequest = {
    ...creditRequest(),
    body: { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Prepayment', suspendDebtDisabled: false, suspendDebtEmergency: true, disablementThreshold: -5 } },
  };
  const cancel: DuisRequest = { ...creditRequest(), body: { kind: 'UpdatePaymentMode', executionDateTime: CANCEL_EXECUTION_DATE_TIME, paymentMode: { mode: 'Credit' } } };
  const signedPreCommand: DuisRequest = {
    ...creditRequest(),
    header: { ...creditRequest().header, commandVariant: 5, firstInSequence: true, precedingRequestId: { ...requestId, counter: 1001n } },
    body: { kind: 'SignedPreCommand', executionDateTime: '2030-01-15T09:00:00.00Z', gbcsPayload: rtdsFrame('GCS02_1.6_FUTURE_DATED_SUCCESS_COMMAND_GBCS.HEX') },
  };
  const responses: DuisResponse[] = [
    { schemaVersion: '5.4', header: { requestId, responseCode: 'I99', responseDateTime: at }, body: { kind: 'ResponseMessage', serviceReference: '1.6', serviceReferenceVariant: '1.6' } },
    {
      schemaVersion: '5.4',
      header: { requestId, responseCode: 'I0', responseDateTime: at },
      body: { kind: 'ResponseMessage', serviceReference: '1.6', serviceReferenceVariant: '1.6', content: { kind: 'PreCommand', gbcsVersion: '4.0', gbcsPayload: rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_PRECOMMAND_GBCS.HEX') } },
    },
    {
      schemaVersion: '5.4',
      header: { requestId, responseId: { originator: ESME, target: SUPPLIER, counter: 1002n }, responseCode: 'I0', responseDateTime: at },
      body: { kind: 'ResponseMessage', serviceReference: '1.6', serviceReferenceVariant: '1.6', content: { kind: 'GBCSPayload', gbcsPayload: rtdsFrame('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_RESPONSE_GBCS.HEX') } },
    },
    {
      schemaVersion: '5.4',
      header: { responseId: { originator: ESME, target: SUPPLIER, counter: 3n }, responseCode: 'I0', responseDateTime: at },
      body: { kind: 'DeviceAlertMessage', alertCode: '8F66', throttledAlertCount: 2, gbcsPayload: rtdsFrame('GCS02_1.6_8F66_FUTURE_DATED_SUCCESS_ALERT_CHANGE_PAYMENT_MODE_GBCS.HEX') },
    },
    {
      schemaVersion: '5.4',
      header: { responseId: { originator: DCC_EUI, target: SUPPLIER, counter: 4n }, responseCode: 'I0', responseDateTime: at },
      body: { kind: 'DCCAlertMessage', dccAlertCode: 'AD1', alert: { kind: 'QuarantinedRequest', breach: 'ADDCCThresholdBreach', requestId, quarantineEventRef: 99n } },
    },
  ];
  const dcc = xmlSignerFromEntry(keystore.xmlSigningKey(DCC_EUI));
  const docs: [string, string][] = [
    ['built credit', buildRequest(creditRequest())],
    ['built prepayment', buildRequest(prepayment)],
    ['signed credit', signRequest(creditRequest(), supplierSigner)],
    ['signed cancellation', signRequest(cancel, supplierSigner)],
    ['signed Signed Pre-Command', signRequest(signedPreCommand, supplierSigner)],
    ...responses.map((r, i): [string, string] => [`response ${i}`, buildResponse(r)]),
    ...responses.map((r, i): [string, string] => [`DCC-signed response ${i}`, signResponse(r, dcc)]),
    ...templateNames().map((n): [string, string] => {
      const s = signRequestXml(template(n), keystore);
      if (!s.ok) throw new Error(s.error.toString());
      return [`signed ${n}`, s.value];
    }),
  ];
  t.true(docs.some(([, xml]) => /<ds:X509SerialNumber>\d{38,}</.test(xml)));
  const results = await validateAll(docs);
  for (const [name, reason] of results) t.is(reason, null, name);
});

test('broken requests are rejected with the schema\'s reason', async (t) => {
  const credit = template('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML');
  const prepayment = template('ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML');
  const signed = signRequest(creditRequest(), supplierSigner);
  const cases: [string, string, RegExp][] = [
    ['CommandVariant 10', credit.replace('<sr:CommandVariant>4', '<sr:CommandVariant>10'), /CommandVariant'.*\[facet 'enumeration'\] The value '10' is not an element of the set/],
    ['ServiceReference missing', credit.replace(/<sr:ServiceReference>1.6<\/sr:ServiceReference>/, ''), /ServiceReferenceVariant': This element is not expected. Expected is .*ServiceReference/],
    ['Credit and Prepayment together', credit.replace('<sr:Credit/>', '<sr:Credit/><sr:Prepayment/>'), /Prepayment': This element is not expected/],
    ['DisablementThreshold not an int', prepayment.replace('556677', 'lots'), /DisablementThreshold'.*'lots' is not a valid value of the atomic type 'xs:int'/],
    ['RequestID not a RequestID', credit.replace(':1002<', ':01002<'), /RequestID'.*\[facet 'pattern'\]/],
    ['schemaVersion missing', credit.replace(' schemaVersion="5.4"', ''), /attribute 'schemaVersion' is required/],
    ['an unknown body', credit.replace(/UpdatePaymentMode/g, 'UpdateEverything'), /UpdateEverything': This element is not expected/],
    ['X509SerialNumber not an integer', signed.replace(/<ds:X509SerialNumber>\d+/, '<ds:X509SerialNumber>12a'), /X509SerialNumber'.*\[facet 'pattern'\]/],
  ];
  const results = await validateAll(cases.map(([name, xml]) => [name, xml]));
  for (const [name, , reason] of cases) t.regex(results.get(name) ?? 'valid', reason, name);
});

test('one document at a time, and our own refusal before libxml2 sees a DTD', async (t) => {
  const ok = await validateAgainstXsd(template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML'), xsdPath);
  t.true(ok.ok);
  const dtd = await validateAgainstXsd('<!DOCTYPE sr:Request [<!ENTITY x "y">]><sr:Request/>', xsdPath);
  t.is(dtd.ok ? 'valid' : dtd.error.code, 'dtd');
  const bad = await validateAgainstXsd(template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML').replace('<sr:EnableSupply/>', '<sr:EnableSupply>now</sr:EnableSupply>'), xsdPath);
  t.is(bad.ok ? 'valid' : bad.error.code, 'schema');
});

test('a schema that cannot be read is an error of its own, not an invalid document', async (t) => {
  await t.throwsAsync(() => validateAgainstXsd('<a/>', '/nonexistent/DUIS.xsd'), { instanceOf: SchemaLoadError });
});

test('DOCTYPEs are removed from schemas after substituting their internal entities', (t) => {
  const xsd = '<?xml version="1.0"?>\n<!DOCTYPE schema PUBLIC "-//W3C//DTD XMLSchema 200102//EN" "http://www.w3.org/2001/XMLSchema.dtd" [\n <!ENTITY dsig \'http://www.w3.org/2000/09/xmldsig#\'>\n <!ENTITY % p \'\'>\n]>\n<schema targetNamespace="&dsig;"/>';
  t.is(withoutDoctype(xsd), '<?xml version="1.0"?>\n\n<schema targetNamespace="http://www.w3.org/2000/09/xmldsig#"/>');
});
