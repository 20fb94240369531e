import test from 'ava';
import { buildResponse, validateStructure } from '../../../protocol/duis/index.ts';
import { SUPPLIER, template, templateNames } from './support.ts';

test('built-in structural validation accepts every RTDS template and tells requests from responses', (t) => {
  for (const name of templateNames()) {
    const r = validateStructure(template(name));
    t.is(r.ok ? r.value.kind : r.error.toString(), 'request', name);
  }
  const response = buildResponse({
    schemaVersion: '5.4',
    header: { requestId: { user: SUPPLIER, target: SUPPLIER, counter: 1n }, responseCode: 'E2', responseDateTime: '2026-01-01T00:00:00Z' },
    body: { kind: 'ResponseMessage', serviceReference: '1.6', serviceReferenceVariant: '1.6' },
  });
  const r = validateStructure(response);
  t.is(r.ok ? r.value.kind : r.error.toString(), 'response');
});

test('built-in structural validation refuses what is not a DUIS document, with the reason and where', (t) => {
  const cases: [string, string, string][] = [
    ['a foreign root', '<Request xmlns="urn:not-duis" schemaVersion="5.4"/>', 'structure'],
    ['a Body before the Header', template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML').replace(/(<sr:Header>[\s\S]*<\/sr:Header>)\s*(<sr:Body>[\s\S]*<\/sr:Body>)/, '$2$1'), 'structure'],
    ['an element after the signature', template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML').replace('</sr:Request>', '<sr:Body/></sr:Request>'), 'structure'],
    ['a DTD', '<!DOCTYPE r><r/>', 'dtd'],
  ];
  for (const [name, xml, code] of cases) {
    const r = validateStructure(xml);
    t.is(r.ok ? 'accepted' : r.error.code, code, name);
    if (!r.ok) t.true(r.error.toString().length > code.length + 2, name);
  }
});

test('the root may carry schema location hints but no other foreign attribute', (t) => {
  const xml = template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML');
  const hinted = validateStructure(xml.replace('schemaVersion="5.4"', 'schemaVersion="5.4" xsi:schemaLocation="http://www.dccinterface.co.uk/ServiceUserGateway DUIS.xsd"'));
  t.true(hinted.ok, hinted.ok ? '' : hinted.error.toString());
  const typed = validateStructure(xml.replace('schemaVersion="5.4"', 'schemaVersion="5.4" xsi:type="sr:Response"'));
  t.is(typed.ok ? 'accepted' : typed.error.code, 'structure');
});
