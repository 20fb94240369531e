/** Generators of XML test documents and DUIS models for the DUIS tests. */
import fc from 'fast-check';
import { type DuisRequest, SERVICE_REFERENCE_VARIANTS, serviceReferenceOf } from '../../../protocol/duis/index.ts';
import { DCC_EUI } from '../../../protocol/smki/eui.ts';
import { ESME, GSME, NETWORK_OPERATOR, SUPPLIER } from './support.ts';

/** A small deterministic generator of namespace-rich documents, from a seed. */
export function randomNamespacedDocument(seed: number): string {
  let s = seed >>> 0 || 1;
  const next = (n: number): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[next(xs.length)]!;
  const uris = ['urn:x', 'urn:y', 'urn:z'];
  const prefixes = ['a', 'b', 'c'];
  const texts = ['t', ' ', '\n', '&amp;', '&lt;', '&gt;', '"', "'", '&#13;', '&#9;', 'é', '€', '𝄞', '&#x41;', '<![CDATA[<&>]]>'];
  const attrValues = ['1', '&amp;', '&lt;', '&quot;', '&#9;', '&#10;', '&#13;', ' x ', '\t', 'é'];
  const element = (depth: number, bound: Map<string, string>): string => {
    const scope = new Map(bound);
    let decls = '';
    for (const p of prefixes) {
      if (next(4) === 0) {
        const uri = pick(uris);
        scope.set(p, uri);
        decls += ` xmlns:${p}="${uri}"`;
      }
    }
    if (next(4) === 0) {
      const uri = pick(['', ...uris]);
      scope.set('', uri);
      decls += ` xmlns="${uri}"`;
    }
    const usable = [...scope.keys()].filter((p) => p !== '');
    const prefix = usable.length > 0 && next(2) === 0 ? pick(usable) : '';
    const name = (prefix ? prefix + ':' : '') + pick(['e', 'f', 'g']);
    const seen = new Set<string>();
    let attrs = '';
    for (let i = next(4); i > 0; i--) {
      const p = usable.length > 0 && next(2) === 0 ? pick(usable) : '';
      const local = pick(['k', 'l', 'm']);
      const expanded = `${p ? scope.get(p) : ''}|${local}`;
      if (seen.has(expanded)) continue;
      seen.add(expanded);
      attrs += ` ${p ? p + ':' : ''}${local}="${pick(attrValues)}${pick(attrValues)}"`;
    }
    let content = '';
    if (depth < 4) {
      for (let i = next(4); i > 0; i--) content += next(3) === 0 ? pick(texts) : element(depth + 1, scope);
    }
    return `<${name}${decls}${attrs}>${content}</${name}>`;
  };
  return element(0, new Map());
}

/** SRV 1.6 request models (UpdatePaymentMode or Signed Pre-Command) from one of two Users with XML keys. */
export const requestArbitrary: fc.Arbitrary<DuisRequest> = fc.record({
  schemaVersion: fc.constant('5.4'),
  header: fc.record(
    {
      requestId: fc.record({
        user: fc.constantFrom(SUPPLIER, NETWORK_OPERATOR),
        target: fc.constantFrom(ESME, GSME, DCC_EUI),
        counter: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      }),
      firstInSequence: fc.boolean(),
      precedingRequestId: fc.record({ user: fc.constant(SUPPLIER), target: fc.constant(ESME), counter: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
      commandVariant: fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 9),
      serviceReference: fc.constant('1.6'),
      serviceReferenceVariant: fc.constantFrom(...SERVICE_REFERENCE_VARIANTS),
    },
    { requiredKeys: ['requestId', 'commandVariant', 'serviceReference', 'serviceReferenceVariant'] },
  ).map((h) => ({ ...h, serviceReference: serviceReferenceOf(h.serviceReferenceVariant) })),
  body: fc.oneof(
    fc.record(
      {
        kind: fc.constant('UpdatePaymentMode' as const),
        executionDateTime: fc
          .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true })
          .map((d) => d.toISOString()),
        paymentMode: fc.oneof(
          fc.constant({ mode: 'Credit' as const }),
          fc.record({
            mode: fc.constant('Prepayment' as const),
            suspendDebtDisabled: fc.boolean(),
            suspendDebtEmergency: fc.boolean(),
            disablementThreshold: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
          }),
        ),
      },
      { requiredKeys: ['kind', 'paymentMode'] },
    ),
    fc.record(
      {
        kind: fc.constant('SignedPreCommand' as const),
        executionDateTime: fc.constant('2030-01-15T09:00:00.00Z'),
        gbcsPayload: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
      },
      { requiredKeys: ['kind', 'gbcsPayload'] },
    ),
  ),
}) as fc.Arbitrary<DuisRequest>;
