/**
 * The two canonicalisations a DUIS signature needs, walking the parsed tree directly (no XPath, no DOM):
 *
 * - Canonical XML 1.0 without comments over the whole document minus the enveloped ds:Signature. A Reference
 *   with URI="" whose only transform is enveloped-signature yields a node-set, and XMLDSig turns a node-set into
 *   octets with inclusive Canonical XML 1.0; so the DigestValue covers every namespace declaration in scope, not
 *   only the visibly used ones. (The DCC Boxed Java tool and xml-crypto both hash this form.)
 * - Exclusive XML Canonicalization without comments (and no InclusiveNamespaces list) of SignedInfo, the
 *   CanonicalizationMethod DUIS names.
 *
 * Both produce strings; callers hash them as UTF-8.
 */
import { NS } from './namespaces.ts';
import { compareDeclarations, type NamespaceDeclaration, type XmlElement } from './xml-tree.ts';

/** Prefix to URI bindings rendered by output ancestors; "" is the default namespace. Null-prototype objects. */
type Scope = Record<string, string>;

const EMPTY_SCOPE: Scope = Object.freeze(Object.create(null) as Scope);

const TEXT_SPECIAL = /[&<>\r]/;
const TEXT_SPECIAL_ALL = /[&<>\r]/g;
const ATTR_SPECIAL = /[&<"\t\n\r]/;
const ATTR_SPECIAL_ALL = /[&<"\t\n\r]/g;
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};
const escapeChar = (c: string): string => ESCAPES[c]!;

export function escapeText(s: string): string {
  return TEXT_SPECIAL.test(s) ? s.replace(TEXT_SPECIAL_ALL, escapeChar) : s;
}

export function escapeAttribute(s: string): string {
  return ATTR_SPECIAL.test(s) ? s.replace(ATTR_SPECIAL_ALL, escapeChar) : s;
}

export interface DocumentC14nOptions {
  /** An element left out with its whole subtree: the enveloped signature. */
  omit?: XmlElement | null;
  /**
   * Leave out whitespace-only text in elements that also have element children. Used when signing, so the
   * signed document has no whitespace between elements (the DCC Boxed validator drops it before hashing).
   */
  dropWhitespaceBetweenElements?: boolean;
}

/** Canonical XML 1.0 (without comments) of the document whose root element is `root`. */
export function canonicalizeDocument(root: XmlElement, options: DocumentC14nOptions = {}): string {
  return inclusive(root, EMPTY_SCOPE, options.omit ?? null, options.dropWhitespaceBetweenElements ?? false);
}

function inclusive(el: XmlElement, inScope: Scope, omit: XmlElement | null, dropSpace: boolean): string {
  const name = el.prefix ? el.prefix + ':' + el.local : el.local;
  let out = '<' + name;
  let scope = inScope;
  // In a whole-document canonicalisation every ancestor is output, so a declaration is rendered exactly when it
  // changes the binding inherited from the parent (redundant re-declarations disappear).
  for (const d of el.namespaces) {
    if (d.prefix === 'xml') continue;
    const inherited = d.prefix === '' ? (scope[''] ?? '') : scope[d.prefix];
    if (inherited === d.uri) continue;
    if (scope === inScope) scope = Object.create(inScope) as Scope;
    scope[d.prefix] = d.uri;
    out += d.prefix === '' ? ' xmlns="' + escapeAttribute(d.uri) + '"' : ' xmlns:' + d.prefix + '="' + escapeAttribute(d.uri) + '"';
  }
  for (const a of el.attributes) out += ' ' + (a.prefix ? a.prefix + ':' + a.local : a.local) + '="' + escapeAttribute(a.value) + '"';
  out += '>';
  const children = el.children;
  let skipSpace = false;
  if (dropSpace) for (const c of children) if (typeof c !== 'string') skipSpace = true;
  for (const c of children) {
    if (typeof c === 'string') {
      if (skipSpace && isSpace(c)) continue;
      out += escapeText(c);
    } else if (c !== omit) {
      out += inclusive(c, scope, omit, dropSpace);
    }
  }
  return out + '</' + name + '>';
}

/** Exclusive XML Canonicalization 1.0 (without comments) of the subtree rooted at `apex`. */
export function canonicalizeExclusive(apex: XmlElement): string {
  return exclusive(apex, EMPTY_SCOPE);
}

function exclusive(el: XmlElement, rendered: Scope): string {
  const name = el.prefix ? el.prefix + ':' + el.local : el.local;
  // Only visibly utilised prefixes are rendered: the element's own and those of its prefixed attributes,
  // each unless an output ancestor already rendered the same binding.
  let used = utilise(null, el.prefix, el.uri, rendered);
  for (const a of el.attributes) if (a.prefix) used = utilise(used, a.prefix, a.uri, rendered);
  let out = '<' + name;
  let scope = rendered;
  if (used !== null) {
    if (used.length > 1) used.sort(compareDeclarations);
    scope = Object.create(rendered) as Scope;
    for (const d of used) {
      scope[d.prefix] = d.uri;
      out += d.prefix === '' ? ' xmlns="' + escapeAttribute(d.uri) + '"' : ' xmlns:' + d.prefix + '="' + escapeAttribute(d.uri) + '"';
    }
  }
  for (const a of el.attributes) out += ' ' + (a.prefix ? a.prefix + ':' + a.local : a.local) + '="' + escapeAttribute(a.value) + '"';
  out += '>';
  for (const c of el.children) out += typeof c === 'string' ? escapeText(c) : exclusive(c, scope);
  return out + '</' + name + '>';
}

/** Adds prefix=uri to the declarations to render, unless already rendered above or already added. */
function utilise(used: NamespaceDeclaration[] | null, prefix: string, uri: string, rendered: Scope): NamespaceDeclaration[] | null {
  if (prefix === 'xml' && uri === NS.xml) return used;
  const current = prefix === '' ? (rendered[''] ?? '') : rendered[prefix];
  if (current === uri) return used;
  if (used === null) return [{ prefix, uri }];
  for (const d of used) if (d.prefix === prefix) return used;
  used.push({ prefix, uri });
  return used;
}

function isSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}
