/**
 * Hardened XML parsing for DUIS: one pass of a strict, namespace-aware SAX parser (saxes) into the small tree of
 * xml-tree.ts. What DUIS never needs is refused rather than tolerated:
 *
 * - any DOCTYPE, so no entity can be declared, expanded or fetched (only the five predefined entities and
 *   character references exist);
 * - processing instructions (the XML declaration is not one), XML 1.1, encodings other than UTF-8;
 * - comments, when the caller asks (signature verification always does; see xmldsig.ts for why);
 * - inputs beyond the size, depth, attribute-count, text-length and element-count limits.
 *
 * Errors carry a code and a message; hostile input never makes this throw anything but its own refusal.
 */
import { SaxesParser, type SaxesTagNS, type XMLDecl } from 'saxes';
import { type Checked, checked, refuse } from './errors.ts';
import { NS } from './namespaces.ts';
import {
  compareAttributes,
  compareDeclarations,
  type NamespaceDeclaration,
  type XmlAttribute,
  type XmlDocument,
  type XmlElement,
} from './xml-tree.ts';

export interface XmlLimits {
  /** Total input size in bytes (UTF-8). */
  maxBytes: number;
  /** Element nesting depth, the root being depth 1. */
  maxDepth: number;
  /** Attributes on one element, namespace declarations included. */
  maxAttributes: number;
  /** Characters in one text node. */
  maxTextLength: number;
  /** Elements in the whole document. */
  maxElements: number;
}

/**
 * DUIS requests are a few kilobytes and at most about ten levels deep; the limits leave a wide margin for the
 * larger Service Requests (tariffs, firmware notifications) and bound the work any input can cause.
 */
export const DEFAULT_LIMITS: Readonly<XmlLimits> = {
  maxBytes: 1024 * 1024,
  maxDepth: 32,
  maxAttributes: 16,
  maxTextLength: 512 * 1024,
  maxElements: 20_000,
};

export interface XmlParseOptions {
  limits?: Partial<XmlLimits>;
  /** 'refuse' (the default) fails on any comment; 'drop' removes them, joining the text around them. */
  comments?: 'refuse' | 'drop';
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** String.prototype.isWellFormed (ES2024, in Node 20; the project's lib is ES2023): no lone surrogate. */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Decodes bytes as UTF-8, refusing other byte order marks and invalid sequences. */
export function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length >= 2 && ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe))) {
    refuse('encoding', 'UTF-16 input: DUIS documents are UTF-8');
  }
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return utf8.decode(bytes.subarray(start));
  } catch {
    return refuse('encoding', 'input is not valid UTF-8');
  }
}

export function parseXml(input: string | Uint8Array, options: XmlParseOptions = {}): Checked<XmlDocument> {
  return checked(() => parseXmlOrThrow(input, options));
}

/** As parseXml, throwing DuisFailure: for code inside this package that is already within `checked`. */
export function parseXmlOrThrow(input: string | Uint8Array, options: XmlParseOptions = {}): XmlDocument {
  const limits = options.limits ? { ...DEFAULT_LIMITS, ...options.limits } : DEFAULT_LIMITS;
  let text: string;
  if (typeof input === 'string') {
    // A string's UTF-8 size is between its length and three times it: measure only when it matters.
    if (input.length > limits.maxBytes || (input.length * 3 > limits.maxBytes && Buffer.byteLength(input) > limits.maxBytes)) {
      refuse('too-large', `document exceeds ${limits.maxBytes} bytes`);
    }
    // Text from bytes is decoded strictly; a string may hold a lone surrogate, which saxes would pair with the next
    // character (a '<' read as text), so that the document others read is not the one the digest covers.
    if (!isWellFormed(input)) refuse('encoding', 'the input holds a lone surrogate: it is not Unicode text');
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    if (input.length > limits.maxBytes) refuse('too-large', `document exceeds ${limits.maxBytes} bytes`);
    text = decodeUtf8(input);
  }
  // One byte order mark is taken off above; saxes would silently skip a second, which is not well-formed XML.
  if (text.charCodeAt(0) === 0xfeff) refuse('malformed', 'a second byte order mark before the document');
  return new TreeBuilder(limits, options.comments ?? 'refuse').parse(text);
}

/**
 * One saxes parser, reused from parse to parse: making one costs about a tenth of parsing a DUIS document. A
 * parse takes it (so a parse started from inside a handler would make its own) and gives it back only after
 * reaching the end cleanly, which resets it; a refused document leaves it mid-document, so it is dropped.
 */
let spareParser: SaxesParser<{ xmlns: true }> | null = null;
let activeBuilder: TreeBuilder | null = null;

function takeParser(): SaxesParser<{ xmlns: true }> {
  const parser = spareParser;
  spareParser = null;
  if (parser) return parser;
  const b = (): TreeBuilder => activeBuilder!;
  return createParser({
    error: (e) => refuse('malformed', e.message),
    xmldecl: (decl) => {
      if (decl.version !== '1.0') refuse('xml-version', `XML version ${decl.version ?? '(none)'}: only 1.0 is accepted`);
      if (decl.encoding !== undefined && decl.encoding.toUpperCase() !== 'UTF-8') {
        refuse('encoding', `declared encoding ${decl.encoding}: DUIS documents are UTF-8`);
      }
    },
    doctype: () => refuse('dtd', 'a DOCTYPE is not allowed (no DTDs, no entity declarations)'),
    processinginstruction: (pi) => refuse('processing-instruction', `processing instruction <?${pi.target}?> is not allowed`),
    comment: () => b().comment(),
    opentag: (tag) => b().open(tag),
    closetag: () => b().close(),
    text: (t) => b().text(t),
    cdata: (t) => b().text(t),
  });
}

class TreeBuilder {
  private parser: SaxesParser<{ xmlns: true }> | null = null;
  private readonly stack: XmlElement[] = [];
  private readonly signatures: XmlElement[] = [];
  private root: XmlElement | null = null;
  private elements = 0;

  constructor(
    private readonly limits: XmlLimits,
    private readonly comments: 'refuse' | 'drop',
  ) {}

  parse(text: string): XmlDocument {
    const parser = takeParser();
    const outer = activeBuilder;
    this.parser = parser;
    activeBuilder = this;
    try {
      parser.write(text).close();
    } finally {
      activeBuilder = outer;
    }
    spareParser = parser;
    if (!this.root) refuse('malformed', 'no root element');
    return { root: this.root, signatures: this.signatures };
  }

  comment(): void {
    if (this.comments === 'refuse') refuse('comment', `comment at line ${this.parser!.line} is not allowed`);
  }

  close(): void {
    this.stack.pop();
  }

  open(tag: SaxesTagNS): void {
    const parent = this.stack[this.stack.length - 1] ?? null;
    if (this.stack.length >= this.limits.maxDepth) refuse('too-deep', `elements nested deeper than ${this.limits.maxDepth}`);
    if (++this.elements > this.limits.maxElements) refuse('too-many-elements', `more than ${this.limits.maxElements} elements`);
    const namespaces: NamespaceDeclaration[] = [];
    const attributes: XmlAttribute[] = [];
    let count = 0;
    for (const name in tag.attributes) {
      const a = tag.attributes[name]!;
      if (++count > this.limits.maxAttributes) refuse('too-many-attributes', `element ${tag.name} has more than ${this.limits.maxAttributes} attributes`);
      if (a.uri === NS.xmlns) {
        // saxes resolves names against the trimmed value; a namespace name is never trimmed (" urn:x" is not
        // "urn:x"), and a URI has no spaces anyway, so such a declaration is refused rather than half-honoured.
        if (a.value !== a.value.trim()) refuse('malformed', `namespace declaration ${name}="${a.value}" has white space around its URI`);
        namespaces.push({ prefix: a.prefix === 'xmlns' ? a.local : '', uri: a.value });
      }
      else attributes.push({ prefix: a.prefix, local: a.local, uri: a.uri, value: a.value });
    }
    if (namespaces.length > 1) namespaces.sort(compareDeclarations);
    if (attributes.length > 1) attributes.sort(compareAttributes);
    const el: XmlElement = { prefix: tag.prefix, local: tag.local, uri: tag.uri, namespaces, attributes, children: [], parent };
    if (parent) parent.children.push(el);
    else this.root = el;
    if (el.local === 'Signature' && el.uri === NS.ds) this.signatures.push(el);
    this.stack.push(el);
  }

  text(t: string): void {
    const el = this.stack[this.stack.length - 1];
    if (!el) return; // whitespace around the root; saxes itself refuses anything else there
    const children = el.children;
    const last = children.length - 1;
    // Adjacent text (CDATA sections, text either side of a dropped comment) becomes one node, as c14n sees it.
    if (last >= 0 && typeof children[last] === 'string') children[last] += t;
    else children.push(t);
    if ((children[children.length - 1] as string).length > this.limits.maxTextLength) {
      refuse('text-too-long', `a text node is longer than ${this.limits.maxTextLength} characters`);
    }
  }
}

interface Handlers {
  error: (e: Error) => void;
  xmldecl: (decl: XMLDecl) => void;
  doctype: (doctype: string) => void;
  processinginstruction: (pi: { target: string; body: string }) => void;
  comment: (comment: string) => void;
  opentag: (tag: SaxesTagNS) => void;
  closetag: (tag: SaxesTagNS) => void;
  text: (text: string) => void;
  cdata: (cdata: string) => void;
}

/**
 * saxes 6 keeps each handler in a field of the parser. Its `on(event, handler)` sets that field with a computed
 * property name, and V8 turns an object that gains many properties that way into a slow dictionary object:
 * with the nine handlers we need, every parse ran five to seven times slower. Assigning the same fields by
 * name keeps the parser a fast object. The field names are saxes internals, so a self-test at load time
 * checks that every handler fires this way and falls back to `on()` (correct, only slower) if not.
 */
function createParser(h: Handlers): SaxesParser<{ xmlns: true }> {
  const parser = new SaxesParser({ xmlns: true });
  if (!fieldsWork) {
    for (const event of Object.keys(h) as (keyof Handlers)[]) parser.on(event, h[event] as never);
    return parser;
  }
  const fields = parser as unknown as SaxesHandlerFields;
  fields.errorHandler = h.error;
  fields.xmldeclHandler = h.xmldecl;
  fields.doctypeHandler = h.doctype;
  fields.piHandler = h.processinginstruction;
  fields.commentHandler = h.comment;
  fields.openTagHandler = h.opentag;
  fields.closeTagHandler = h.closetag;
  fields.textHandler = h.text;
  fields.cdataHandler = h.cdata;
  return parser;
}

interface SaxesHandlerFields {
  errorHandler: Handlers['error'];
  xmldeclHandler: Handlers['xmldecl'];
  doctypeHandler: Handlers['doctype'];
  piHandler: Handlers['processinginstruction'];
  commentHandler: Handlers['comment'];
  openTagHandler: Handlers['opentag'];
  closeTagHandler: Handlers['closetag'];
  textHandler: Handlers['text'];
  cdataHandler: Handlers['cdata'];
}

let fieldsWork = true;
fieldsWork = (() => {
  const seen = new Set<string>();
  const mark = (event: string) => () => void seen.add(event);
  try {
    createParser({
      error: mark('error'),
      xmldecl: mark('xmldecl'),
      doctype: mark('doctype'),
      processinginstruction: mark('processinginstruction'),
      comment: mark('comment'),
      opentag: mark('opentag'),
      closetag: mark('closetag'),
      text: mark('text'),
      cdata: mark('cdata'),
    })
      .write('<?xml version="1.0"?><!DOCTYPE a><a><?p?><!--c--><![CDATA[d]]>t</a><')
      .close();
  } catch {
    return false;
  }
  return seen.size === 9;
})();

/** Whether the parser runs on the fast path (handler fields assigned by name); tests hold us to it. */
export function usesFastSaxesHandlers(): boolean {
  return fieldsWork;
}
