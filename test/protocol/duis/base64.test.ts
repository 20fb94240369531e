/** Strict xs:base64Binary: exactly the canonical texts decode; everything else is refused with a reason. */
import test from 'ava';
import fc from 'fast-check';
import { decodeBase64, encodeBase64 } from '../../../protocol/duis/base64.ts';
import { DuisFailure } from '../../../protocol/duis/errors.ts';

const SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const outcome = (text: string) => {
  try {
    return { ok: true, bytes: decodeBase64(text, 'X').toString('hex') };
  } catch (e) {
    if (!(e instanceof DuisFailure)) throw e;
    return { ok: false, message: e.message };
  }
};

test('every encoding decodes back to its bytes, with XML whitespace anywhere', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), (bytes, at) => {
      const text = encodeBase64(bytes);
      const cut = text.length ? at % text.length : 0;
      t.deepEqual(outcome(text.slice(0, cut) + '\r\n ' + text.slice(cut)), { ok: true, bytes: Buffer.from(bytes).toString('hex') });
    }),
    { numRuns: 500 },
  );
});

test('a text is accepted exactly when it has the base64 shape and canonical padding bits', (t) => {
  const alphabet = fc.constantFrom(...'ABCDQRSwxyz0189+/=-_!.'.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 24 }).map((a) => a.join('')), (text) => {
      const canonical = SHAPE.test(text) && Buffer.from(text, 'base64').toString('base64') === text;
      const r = outcome(text);
      t.is(r.ok, canonical, text);
      if (!r.ok) t.regex(r.message!, SHAPE.test(text) ? /non-zero padding bits/ : /is not base64$/);
    }),
    { numRuns: 3000, examples: [['QQ=='], ['QR=='], ['QQ'], ['Q-_/'], ['']] },
  );
});
