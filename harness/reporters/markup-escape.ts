/**
 * Escaping for the XML and HTML reports. Scenario payloads and messages are hostile input (a scenario may send
 * XML carrying <script>, or bytes that are not legal in XML at all), so every piece of text goes through here.
 */

// Characters XML 1.0 forbids even as references (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
// With the u flag a lone surrogate is its own code point, while a valid pair is one astral code point.
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/gu;

/** One character as a visible escape: "\x1B", "\uD800". */
export function escapeCodePoint(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code < 0x100 ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Replaces characters XML cannot carry with a visible escape ("\x1B", "\uD800"), so the reader still sees them. */
export function visibleControls(text: string): string {
  return text.replace(NOT_XML_CHAR, escapeCodePoint);
}

/** Element content. */
export function escapeText(text: string): string {
  return visibleControls(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A double- or single-quoted attribute value; tabs and line breaks kept as references so parsers do not fold them. */
export function escapeAttr(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}
