/** Generators of XML test documents for the DUIS tests. */

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
