/**
 * Building DUIS documents: trees of XmlElement in the sr namespace, serialised as canonical XML with no
 * whitespace between elements, so a built document is already in the form that is signed.
 */
import { canonicalizeDocument } from './canonical.ts';
import { NS } from './namespaces.ts';
import { compareDeclarations, type NamespaceDeclaration, type XmlAttribute, type XmlChild, type XmlElement } from './xml-tree.ts';

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** Namespaces every built root declares: ds first so a later signature needs no declaration of its own. */
const ROOT_NAMESPACES: readonly NamespaceDeclaration[] = [
  { prefix: 'ds', uri: NS.ds },
  { prefix: 'sr', uri: NS.sr },
];

export function srElement(
  local: string,
  children: XmlChild[] = [],
  attributes: XmlAttribute[] = [],
  namespaces: readonly NamespaceDeclaration[] = [],
): XmlElement {
  const el: XmlElement = { prefix: 'sr', local, uri: NS.sr, namespaces, attributes, children, parent: null };
  for (const c of children) if (typeof c !== 'string') c.parent = el;
  return el;
}

export function srText(local: string, text: string): XmlElement {
  return srElement(local, [text]);
}

export function srRoot(local: 'Request' | 'Response', schemaVersion: string, children: XmlElement[]): XmlElement {
  return srElement(local, children, [{ prefix: '', local: 'schemaVersion', uri: '', value: schemaVersion }], ROOT_NAMESPACES);
}

/** The built document as text: XML declaration and the canonical root, no whitespace between elements. */
export function serializeDocument(root: XmlElement): string {
  return XML_DECLARATION + canonicalizeDocument(root, { dropWhitespaceBetweenElements: true });
}

type Bindings = Record<string, string>;

/**
 * A deep copy of an element taken from another document, made to stand under a built parent: it keeps its own
 * namespace declarations and gains those its prefixes relied on from its old ancestors.
 */
export function adopt(el: XmlElement, parent: XmlElement): XmlElement {
  const inScope = Object.create(null) as Bindings;
  for (const d of ROOT_NAMESPACES) inScope[d.prefix] = d.uri;
  const copy = copyWithBindings(el, inScope);
  copy.parent = parent;
  return copy;
}

function copyWithBindings(el: XmlElement, inherited: Bindings): XmlElement {
  const scope = Object.create(inherited) as Bindings;
  const namespaces: NamespaceDeclaration[] = [];
  for (const d of el.namespaces) {
    scope[d.prefix] = d.uri;
    namespaces.push(d);
  }
  const need = (prefix: string, uri: string): void => {
    if (prefix === 'xml') return;
    if ((scope[prefix] ?? (prefix === '' ? '' : undefined)) === uri) return;
    scope[prefix] = uri;
    namespaces.push({ prefix, uri });
  };
  need(el.prefix, el.uri);
  for (const a of el.attributes) if (a.prefix) need(a.prefix, a.uri);
  namespaces.sort(compareDeclarations);
  const copy: XmlElement = { ...el, namespaces, attributes: [...el.attributes], children: [], parent: null };
  for (const c of el.children) {
    if (typeof c === 'string') copy.children.push(c);
    else {
      const child = copyWithBindings(c, scope);
      child.parent = copy;
      copy.children.push(child);
    }
  }
  return copy;
}
