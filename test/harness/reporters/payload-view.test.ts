import test from 'ava';
import fc from 'fast-check';
import { hexDump, indentXml, viewPayload } from '../../../harness/reporters/payload-view.ts';

test('a GBCS frame is shown as a hex dump with offsets, 16 bytes a line', (t) => {
  const hex = 'DF'.repeat(17);
  t.is(hexDump(hex), `0000  ${Array(16).fill('DF').join(' ')}\n0010  DF`);
  t.like(viewPayload('gbcs', 'df09 00'), { format: 'hex', label: 'GBCS frame, 3 bytes (hex)', text: '0000  DF 09 00' });
});

test('DUIS XML signed without whitespace is indented one element a line, text kept beside its tags', (t) => {
  const xml = '<?xml version="1.0"?><sr:Request><sr:Header><sr:RequestID>A:B:1</sr:RequestID><sr:Empty/></sr:Header><sr:Body><sr:Credit></sr:Credit></sr:Body></sr:Request>';
  t.is(
    indentXml(xml),
    ['<?xml version="1.0"?>', '<sr:Request>', '  <sr:Header>', '    <sr:RequestID>A:B:1</sr:RequestID>', '    <sr:Empty/>', '  </sr:Header>', '  <sr:Body>', '    <sr:Credit></sr:Credit>', '  </sr:Body>', '</sr:Request>'].join('\n'),
  );
  t.is(viewPayload('duis', xml).format, 'xml');
});

test('text is shown as it is, spaces included: a padded value does not look like a correct one', (t) => {
  t.is(indentXml('<sr:Body><sr:PaymentMode>  Credit </sr:PaymentMode></sr:Body>'), '<sr:Body>\n  <sr:PaymentMode>  Credit </sr:PaymentMode>\n</sr:Body>');
});

test('indenting never loses a non-space character, whatever the input', (t) => {
  fc.assert(
    fc.property(fc.string(), (s) => indentXml(s).replace(/\s+/g, '') === s.replace(/\s+/g, '')),
    { numRuns: 1000 },
  );
  t.pass();
});

test('anything else is shown as it is', (t) => {
  t.like(viewPayload('admin', '{"declare":"failure"}'), { format: 'text', text: '{"declare":"failure"}' });
  t.is(viewPayload('s1sp', 'ABC').format, 'text', 'an odd number of hex digits is not a frame');
});
