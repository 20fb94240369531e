/**
 * Reads an element-only content model in order, the way an XSD sequence does: each expected child is matched
 * on namespace URI and local name, optional ones may be absent, and anything unexpected, missing or left over
 * is a 'structure' error naming the path.
 */
import { refuse } from './errors.ts';
import { NS } from './namespaces.ts';
import { elementChildren, qualifiedName, textContent, type XmlElement } from './xml-tree.ts';
import { quoted } from './simple-types.ts';

export class ChildReader {
  private readonly children: XmlElement[];
  private index = 0;

  constructor(
    readonly parent: XmlElement,
    private readonly ns: string = NS.sr,
  ) {
    this.children = elementChildren(parent);
  }

  /** The next child's local name if it is in this reader's namespace, else undefined. */
  peek(): string | undefined {
    const next = this.children[this.index];
    return next && next.uri === this.ns ? next.local : undefined;
  }

  optional(local: string): XmlElement | undefined {
    return this.peek() === local ? this.children[this.index++] : undefined;
  }

  required(local: string): XmlElement {
    const el = this.optional(local);
    if (!el) refuse('structure', `expected ${local}, found ${this.describeNext()}`, this.where());
    return el;
  }

  /** An xs:choice: the next child, which must be one of `options` (its local name says which). */
  choice(options: readonly [string, ...string[]]): XmlElement {
    for (const o of options) {
      const el = this.optional(o);
      if (el) return el;
    }
    return this.required(options.join(' or '));
  }

  /** The next child whichever it is (it must be in this reader's namespace). */
  any(what: string): XmlElement {
    const next = this.children[this.index];
    if (!next || next.uri !== this.ns) refuse('structure', `expected ${what}, found ${this.describeNext()}`, this.where());
    this.index++;
    return next;
  }

  /** Text of a required simple-content child without attributes. */
  text(local: string): string {
    return simpleText(this.required(local));
  }

  optionalText(local: string): string | undefined {
    const el = this.optional(local);
    return el && simpleText(el);
  }

  /** Everything has been read, except possibly the enveloped signature (only allowed when `signature` says so). */
  end(signature = false): void {
    const next = this.children[this.index];
    if (!next) return;
    if (signature && next.uri === NS.ds && next.local === 'Signature' && this.index === this.children.length - 1) return;
    refuse('structure', `unexpected ${this.describeNext()}`, next);
  }

  private describeNext(): string {
    const next = this.children[this.index];
    if (!next) return 'the end of the element';
    return next.uri === this.ns ? next.local : `${qualifiedName(next)} in namespace ${quoted(next.uri, 100)}`;
  }

  private where(): XmlElement {
    return this.children[this.index] ?? this.parent;
  }
}

/** Text of an element that has simple content and no attributes. */
export function simpleText(el: XmlElement): string {
  noAttributes(el);
  return textContent(el);
}

export function noAttributes(el: XmlElement): void {
  const a = el.attributes[0];
  if (a) refuse('structure', `unexpected attribute ${qualifiedName(a)}`, el);
}

/** An element of an empty complex type (sr:NoType): no attributes, no children but whitespace. */
export function emptyElement(el: XmlElement): void {
  noAttributes(el);
  new ChildReader(el).end();
}
