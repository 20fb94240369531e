/**
 * The small tree the hardened parser produces and the canonicalisers walk: elements with resolved namespace
 * URIs, their namespace declarations kept apart from their attributes, and text as plain strings (adjacent
 * text, CDATA and character references already merged and decoded).
 */
import { pathText, refuse } from './errors.ts';

export interface XmlAttribute {
  /** "" for an attribute without prefix (which is in no namespace). */
  readonly prefix: string;
  readonly local: string;
  readonly uri: string;
  readonly value: string;
}

export interface NamespaceDeclaration {
  /** "" for the default namespace. */
  readonly prefix: string;
  readonly uri: string;
}

export interface XmlElement {
  readonly prefix: string;
  readonly local: string;
  /** Namespace URI, "" when the element is in no namespace. */
  readonly uri: string;
  /** Declarations written on this element, sorted by prefix (canonical order). */
  readonly namespaces: readonly NamespaceDeclaration[];
  /** Attributes other than namespace declarations, sorted by URI then local name (canonical order). */
  readonly attributes: readonly XmlAttribute[];
  readonly children: XmlChild[];
  parent: XmlElement | null;
}

export type XmlChild = XmlElement | string;

export interface XmlDocument {
  readonly root: XmlElement;
  /** Every ds:Signature element anywhere in the document, in document order (found while parsing). */
  readonly signatures: readonly XmlElement[];
}

export function isElement(node: XmlChild): node is XmlElement {
  return typeof node !== 'string';
}

export function qualifiedName(el: { prefix: string; local: string }): string {
  return el.prefix ? `${el.prefix}:${el.local}` : el.local;
}

const XML_SPACE = /^[ \t\r\n]*$/;

export function isXmlWhitespace(text: string): boolean {
  return XML_SPACE.test(text);
}

export function pathOf(el: XmlElement): string {
  return pathText(el);
}

/** Element children of an element-only content model; text other than whitespace between them is refused. */
export function elementChildren(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (typeof c !== 'string') out.push(c);
    else if (!isXmlWhitespace(c)) refuse('structure', `unexpected text ${JSON.stringify(c.slice(0, 40))} in element-only content`, el);
  }
  return out;
}

/** Text of a simple-content element; child elements are refused. */
export function textContent(el: XmlElement): string {
  let text = '';
  for (const c of el.children) {
    if (typeof c !== 'string') refuse('structure', `unexpected element ${qualifiedName(c)} in simple content`, el);
    text += c;
  }
  return text;
}

export function attributeValue(el: XmlElement, local: string, uri = ''): string | undefined {
  for (const a of el.attributes) if (a.local === local && a.uri === uri) return a.value;
  return undefined;
}

/** The URI a prefix is bound to at this element ("" prefix: the default namespace), or undefined. */
export function lookupNamespace(el: XmlElement, prefix: string): string | undefined {
  for (let e: XmlElement | null = el; e; e = e.parent) {
    for (const d of e.namespaces) if (d.prefix === prefix) return d.uri;
  }
  return undefined;
}

/** Sorts attributes into canonical order: no-namespace first, then by namespace URI, then by local name. */
export function compareAttributes(a: XmlAttribute, b: XmlAttribute): number {
  return a.uri !== b.uri ? compareCodePoints(a.uri, b.uri) : compareCodePoints(a.local, b.local);
}

export function compareDeclarations(a: NamespaceDeclaration, b: NamespaceDeclaration): number {
  return compareCodePoints(a.prefix, b.prefix);
}

/**
 * Orders strings by Unicode code point, as C14N does (the order of their UTF-8 bytes). JavaScript's `<` compares
 * UTF-16 code units, which puts a character above U+FFFF (a surrogate pair) before U+E000 to U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A code unit's place in code point order: surrogates (D800-DFFF) move above E000-FFFF, which move down to make room. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}
