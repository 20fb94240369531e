import test from 'ava';
import fc from 'fast-check';
import { escapeAttr, escapeText, visibleControls } from '../../../harness/reporters/markup-escape.ts';
import { parseXml } from './xml-tree.ts';

test('any string survives as element text and attribute value of well-formed XML', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const doc = parseXml(`<a v="${escapeAttr(s)}" w='${escapeAttr(s)}'>${escapeText(s)}</a>`);
      const expected = visibleControls(s);
      // XML normalizes a literal CR in text to LF; attributes keep it because it is written as a reference.
      return doc.text === expected.replace(/\r\n?/g, '\n') && doc.attrs.v === expected && doc.attrs.w === expected;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('characters XML cannot carry become visible escapes instead of vanishing', (t) => {
  t.is(visibleControls('a\u0000b\u001Bc\uFFFEd'), 'a\\x00b\\x1Bc\\uFFFEd');
  t.is(visibleControls('lone \uD800 surrogate'), 'lone \\uD800 surrogate');
  t.is(visibleControls('pair \uD83D\uDE00 kept, tab\tLF\nCR\r kept'), 'pair \uD83D\uDE00 kept, tab\tLF\nCR\r kept');
});

test('markup is neutralised', (t) => {
  t.is(escapeText('<script>x && y</script>'), '&lt;script&gt;x &amp;&amp; y&lt;/script&gt;');
  t.is(escapeAttr(`" onload='x'`), '&quot; onload=&#39;x&#39;');
});
