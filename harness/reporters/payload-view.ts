/**
 * Payloads made readable: DUIS XML is signed without whitespace (one long line), GBCS and S1SP frames are
 * upper-case hex. Display only: the raw payload stays untouched in the JSON report and the evidence bundle.
 */

const HEX = /^[0-9A-Fa-f\s]*$/;

export function looksLikeHex(payload: string): boolean {
  const compact = payload.replace(/\s+/g, '');
  return compact.length > 0 && compact.length % 2 === 0 && HEX.test(payload);
}

/** Offset, 16 bytes per line in pairs: "0000  DF 09 00 ...". */
export function hexDump(payload: string): string {
  const hex = payload.replace(/\s+/g, '').toUpperCase();
  const lines: string[] = [];
  for (let off = 0; off < hex.length; off += 32) {
    const bytes = hex.slice(off, off + 32).match(/../g) ?? [];
    lines.push(`${(off / 2).toString(16).toUpperCase().padStart(4, '0')}  ${bytes.join(' ')}`);
  }
  return lines.join('\n');
}

export function looksLikeXml(payload: string): boolean {
  return payload.trimStart().startsWith('<');
}

type Token = { kind: 'open' | 'close' | 'leaf' | 'text'; text: string };

function tokenize(xml: string): Token[] {
  const out: Token[] = [];
  for (const part of xml.split(/(<[^>]*>)/)) {
    // Whitespace alone between tags is layout; text is shown as it is, spaces included: a value padded with
    // spaces (refused by the schema or the signature) must not look like a correct one.
    if (part.trim() === '') continue;
    if (!part.startsWith('<')) out.push({ kind: 'text', text: part });
    else if (part.startsWith('</')) out.push({ kind: 'close', text: part });
    else if (part.endsWith('/>') || part.startsWith('<?') || part.startsWith('<!')) out.push({ kind: 'leaf', text: part });
    else out.push({ kind: 'open', text: part });
  }
  return out;
}

/** One element per line, two spaces per level; an element holding only text stays on one line. Never fails. */
export function indentXml(xml: string): string {
  const tokens = tokenize(xml);
  const lines: string[] = [];
  let depth = 0;
  const pad = () => '  '.repeat(depth);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    const after = tokens[i + 2];
    if (t.kind === 'close') {
      depth = Math.max(0, depth - 1);
      lines.push(pad() + t.text);
    } else if (t.kind === 'open') {
      if (next?.kind === 'text' && after?.kind === 'close') {
        lines.push(pad() + t.text + next.text + after.text);
        i += 2;
      } else if (next?.kind === 'close') {
        lines.push(pad() + t.text + next.text);
        i += 1;
      } else {
        lines.push(pad() + t.text);
        depth++;
      }
    } else {
      lines.push(pad() + t.text);
    }
  }
  return lines.join('\n');
}

export interface PayloadView {
  /** "hex", "xml" or "text": how `text` was laid out. */
  format: 'hex' | 'xml' | 'text';
  /** A short description: "GBCS frame, 42 bytes". */
  label: string;
  text: string;
}

export function viewPayload(kind: string, payload: string): PayloadView {
  if (kind !== 'duis' && looksLikeHex(payload)) {
    const bytes = payload.replace(/\s+/g, '').length / 2;
    return { format: 'hex', label: `${kind.toUpperCase()} frame, ${bytes} bytes (hex)`, text: hexDump(payload) };
  }
  if (looksLikeXml(payload)) {
    return { format: 'xml', label: `${kind.toUpperCase()} XML, ${payload.length} characters (indented for reading)`, text: indentXml(payload) };
  }
  return { format: 'text', label: `${kind.toUpperCase()} payload, ${payload.length} characters`, text: payload };
}
