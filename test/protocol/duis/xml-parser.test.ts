import test from 'ava';
import fc from 'fast-check';
import type { DuisErrorCode } from '../../../protocol/duis/errors.ts';
import { NS } from '../../../protocol/duis/namespaces.ts';
import { parseXml, usesFastSaxesHandlers, type XmlParseOptions } from '../../../protocol/duis/xml-parser.ts';
import { readdirSync } from 'node:fs';
import { fixturePath, readFixture } from '../../helpers/fixtures.ts';

const templateNames = () => readdirSync(fixturePath('duis')).filter((f) => f.endsWith('.XML'));
const template = (name: string) => readFixture('duis', name);

function refusedWith(t: import('ava').ExecutionContext, input: string | Uint8Array, code: DuisErrorCode, options?: XmlParseOptions): void {
  const r = parseXml(input, options);
  if (r.ok) return t.fail(`accepted: ${String(input).slice(0, 80)}`);
  t.is(r.error.code, code, r.error.toString());
  t.true(r.error.message.length > 0);
}

test('every RTDS template parses, namespace-aware, with its signature located by URI and local name', (t) => {
  for (const name of templateNames()) {
    const r = parseXml(template(name), { comments: 'drop' });
    if (!r.ok) return t.fail(`${name}: ${r.error}`);
    t.is(r.value.root.uri, NS.sr, name);
    t.is(r.value.root.local, 'Request', name);
    t.is(r.value.signatures.length, 1, name);
    t.is(r.value.signatures[0]!.parent, r.value.root, name);
  }
});

test('elements are identified by namespace URI, whatever their prefix', (t) => {
  const r = parseXml(`<x:Request xmlns:x="${NS.sr}"><Signature xmlns="${NS.ds}"/><ds:Signature xmlns:ds="urn:not-dsig"/></x:Request>`);
  if (!r.ok) return t.fail(r.error.toString());
  t.is(r.value.root.local, 'Request');
  t.is(r.value.root.uri, NS.sr);
  t.is(r.value.signatures.length, 1, 'only the element in the XMLDSig namespace is a signature');
  t.is(r.value.signatures[0]!.prefix, '');
});

test('attributes are kept in canonical order and apart from namespace declarations', (t) => {
  const r = parseXml('<a xmlns:z="urn:z" z:b="3" b="2" a="1" xmlns="urn:d"/>');
  if (!r.ok) return t.fail(r.error.toString());
  t.deepEqual(
    r.value.root.attributes.map((a) => `${a.uri}|${a.local}=${a.value}`),
    ['|a=1', '|b=2', 'urn:z|b=3'],
  );
  t.deepEqual(r.value.root.namespaces, [
    { prefix: '', uri: 'urn:d' },
    { prefix: 'z', uri: 'urn:z' },
  ]);
});

test('text, CDATA and character references become one decoded text node; line ends are normalised', (t) => {
  const r = parseXml('<a>x&#x41;<![CDATA[<b>]]>&amp;\r\ny&#13;</a>');
  if (!r.ok) return t.fail(r.error.toString());
  t.deepEqual(r.value.root.children, ['xA<b>&\ny\r']);
});

test('comments are refused by default; when dropped, the text either side joins', (t) => {
  refusedWith(t, '<a>1<!-- x -->2</a>', 'comment');
  const r = parseXml('<a>1<!-- x -->2</a>', { comments: 'drop' });
  if (!r.ok) return t.fail(r.error.toString());
  t.deepEqual(r.value.root.children, ['12']);
});

test('a UTF-8 byte order mark is accepted; other encodings are refused', (t) => {
  const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<a/>')]);
  t.true(parseXml(withBom).ok);
  refusedWith(t, Buffer.from('\ufeff<a/>', 'utf16le'), 'encoding');
  refusedWith(t, Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]), 'encoding');
  refusedWith(t, '<?xml version="1.0" encoding="ISO-8859-1"?><a/>', 'encoding');
  refusedWith(t, '<?xml version="1.0" encoding="UTF-16"?><a/>', 'encoding');
  t.true(parseXml('<?xml version="1.0" encoding="utf-8"?><a/>').ok);
  t.true(parseXml('\ufeff<a/>').ok);
  // A lone surrogate would pair with the '<' after it: the document read would not be the one written.
  refusedWith(t, '<a>\ud800<b/></a>', 'encoding');
  refusedWith(t, '<a x="\udc00"/>', 'encoding');
  t.true(parseXml('<a>\u{10000}</a>').ok, 'a surrogate pair is a character like any other');
  // saxes would skip a second mark; content before the prolog is not well-formed.
  refusedWith(t, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), Buffer.from('<a/>')]), 'malformed');
  refusedWith(t, '\ufeff\ufeff<a/>', 'malformed');
});

const refusals: [string, string, DuisErrorCode][] = [
  ['internal DTD', '<!DOCTYPE a [<!ELEMENT a ANY>]><a/>', 'dtd'],
  ['external DTD', '<!DOCTYPE a SYSTEM "http://example.invalid/a.dtd"><a/>', 'dtd'],
  ['external entity', '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', 'dtd'],
  ['billion laughs', '<!DOCTYPE a [<!ENTITY l "ha"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;&l;&l;&l;&l;">]><a>&l2;</a>', 'dtd'],
  ['undeclared entity', '<a>&nbsp;</a>', 'malformed'],
  ['processing instruction', '<a><?php echo 1; ?></a>', 'processing-instruction'],
  ['processing instruction before the root', '<?xml-stylesheet href="x"?><a/>', 'processing-instruction'],
  ['XML 1.1', '<?xml version="1.1"?><a/>', 'xml-version'],
  ['duplicate attribute', '<a x="1" x="2"/>', 'malformed'],
  ['duplicate expanded attribute name', '<a xmlns:p="urn:u" xmlns:q="urn:u" p:x="1" q:x="2"/>', 'malformed'],
  ['unbound prefix', '<p:a/>', 'malformed'],
  ['xml prefix rebound', '<a xmlns:xml="urn:other"/>', 'malformed'],
  // saxes binds the trimmed URI, the tree would keep the spaces: a signature could be found where none is.
  ['namespace URI with white space around it', '<p:a xmlns:p=" urn:u "/>', 'malformed'],
  ['default namespace URI with a trailing space', '<a xmlns="urn:u "/>', 'malformed'],
  ['two roots', '<a/><b/>', 'malformed'],
  ['no root', '', 'malformed'],
  ['unclosed element', '<a><b></a>', 'malformed'],
  ['control character', '<a>\u0001</a>', 'malformed'],
  ['character reference to a control character', '<a>&#1;</a>', 'malformed'],
  ['text before the root', 'junk<a/>', 'malformed'],
];
for (const [name, xml, code] of refusals) {
  test(`refuses ${name} (${code})`, (t) => refusedWith(t, xml, code));
}

test('limits: size, depth, attributes, text length and element count', (t) => {
  refusedWith(t, `<a>${'x'.repeat(100)}</a>`, 'too-large', { limits: { maxBytes: 64 } });
  refusedWith(t, Buffer.from(`<a>${'x'.repeat(100)}</a>`), 'too-large', { limits: { maxBytes: 64 } });
  refusedWith(t, `<a>${'é'.repeat(40)}</a>`, 'too-large', { limits: { maxBytes: 64 } }); // 47 characters, 87 bytes
  refusedWith(t, '<a>'.repeat(40) + '</a>'.repeat(40), 'too-deep');
  t.true(parseXml('<a>'.repeat(32) + '</a>'.repeat(32)).ok, 'the default depth limit is 32');
  refusedWith(t, `<a ${Array.from({ length: 17 }, (_, i) => `a${i}="1"`).join(' ')}/>`, 'too-many-attributes');
  refusedWith(t, `<a xmlns:p="urn:p" ${Array.from({ length: 16 }, (_, i) => `a${i}="1"`).join(' ')}/>`, 'too-many-attributes');
  refusedWith(t, `<a>${'x'.repeat(200)}</a>`, 'text-too-long', { limits: { maxTextLength: 100 } });
  refusedWith(t, `<a>${'x'.repeat(60)}<![CDATA[${'y'.repeat(60)}]]></a>`, 'text-too-long', { limits: { maxTextLength: 100 } });
  refusedWith(t, `<a>${'<b/>'.repeat(50)}</a>`, 'too-many-elements', { limits: { maxElements: 20 } });
});

test('a deeply nested document is refused without exhausting the stack', (t) => {
  refusedWith(t, '<a>'.repeat(200_000) + '</a>'.repeat(200_000), 'too-large');
  refusedWith(t, '<a>'.repeat(100_000), 'too-deep', { limits: { maxBytes: 10_000_000 } });
});

test('any input gives a value or a typed refusal, never an exception', (t) => {
  const pieces = ['<a>', '</a>', '<b x="1">', '</b>', '<!--c-->', '<![CDATA[x]]>', '&amp;', '&#x41;', '&bogus;', '<?p?>', '<!DOCTYPE a>', 'text', ' ', '"', "'", '<', '>', '&', '\u0000', '\ud800', 'xmlns:p="u"', '<p:c/>'];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 30 }), fc.string(), (parts, noise) => {
      for (const input of [parts.join(''), noise, parts.join(noise)]) {
        const r = parseXml(input);
        if (!r.ok && !(typeof r.error.code === 'string' && r.error.message)) return false;
      }
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('random byte edits of a template give a value or a typed refusal', (t) => {
  const base = Buffer.from(template('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML'));
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
      const bytes = Buffer.from(base);
      for (const [at, value] of edits) bytes[at] = value;
      const r = parseXml(bytes, { comments: 'drop' });
      return r.ok || r.error.message.length > 0;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('saxes handlers are attached the fast way (a saxes upgrade that renames its fields would fall back, slower)', (t) => {
  t.true(usesFastSaxesHandlers());
});

test('the reused parser carries nothing from one document to the next: bindings, declarations, a refused half-document', (t) => {
  const bound = parseXml('<?xml version="1.0" encoding="UTF-8"?><p:a xmlns:p="urn:x"><p:b/></p:a>');
  t.true(bound.ok);
  refusedWith(t, '<p:a/>', 'malformed'); // the prefix bound in the previous document is unbound here
  refusedWith(t, '<a><b>', 'malformed'); // refused mid-document...
  const after = parseXml('<c>text</c>'); // ...and the next one starts clean
  if (!after.ok) return t.fail(after.error.toString());
  t.deepEqual([after.value.root.local, after.value.root.children], ['c', ['text']]);
  refusedWith(t, '<?xml version="1.0" encoding="ISO-8859-1"?><a/>', 'encoding');
  t.true(parseXml('<?xml version="1.0"?><a/>').ok, 'a declaration refused before does not stick');
  refusedWith(t, '<a/><!-- after the root -->', 'comment');
  t.true(parseXml('<a/>').ok);
});
