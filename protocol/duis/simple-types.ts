/**
 * The XML Schema simple types DUIS bodies use, read strictly from element text. Values keep the XSD's
 * whitespace rule (collapse: surrounding whitespace ignored) and lexical space; anything else is a 'value' error
 * naming where it was found.
 */
import { refuse, type Where } from './errors.ts';

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** The text without surrounding XML whitespace. A scan, not a regex: an anchored-at-end regex rescans every run of spaces, quadratic in a long one. */
export function collapse(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** A value from the document as an error message shows it: quoted, and cut short (a refusal must not echo 500 KB). */
export function quoted(value: string, max = 50): string {
  return value.length > max ? `${JSON.stringify(value.slice(0, max))}... (${value.length} characters)` : JSON.stringify(value);
}

export function readBoolean(text: string, where: Where): boolean {
  const t = collapse(text);
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  return refuse('value', `${quoted(t)} is not an xs:boolean`, where);
}

/** An xs:integer restricted to [min, max]. */
export function readInteger(text: string, where: Where, min: bigint, max: bigint, type = 'integer'): bigint {
  const t = collapse(text);
  if (!/^[+-]?[0-9]{1,40}$/.test(t)) refuse('value', `${quoted(t)} is not an xs:${type}`, where);
  const n = BigInt(t);
  if (n < min || n > max) refuse('value', `${t} is outside the xs:${type} range ${min}..${max}`, where);
  return n;
}

export const INT_MIN = -(2n ** 31n);
export const INT_MAX = 2n ** 31n - 1n;
export const UNSIGNED_INT_MAX = 2n ** 32n - 1n;

export function readInt(text: string, where: Where): number {
  return Number(readInteger(text, where, INT_MIN, INT_MAX, 'int'));
}

export function readUnsignedInt(text: string, where: Where): number {
  return Number(readInteger(text, where, 0n, UNSIGNED_INT_MAX, 'unsignedInt'));
}

const DATE_TIME = /^(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$/;

/** Checks an xs:dateTime and returns it as written (collapsed): DUIS date-times round-trip byte for byte. */
export function readDateTime(text: string, where: Where): string {
  const t = collapse(text);
  if (!isDateTime(t)) refuse('value', `${quoted(t)} is not an xs:dateTime`, where);
  return t;
}

export function isDateTime(t: string): boolean {
  const m = DATE_TIME.exec(t);
  if (!m) return false;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  if (year === 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (Number(mi) > 59 || Number(s) > 59) return false;
  if (hour > 24 || (hour === 24 && (Number(mi) !== 0 || Number(s) !== 0 || (frac !== undefined && /[1-9]/.test(frac))))) return false;
  // xs:dateTime allows offsets from -14:00 to +14:00 only (so +14:59 and -14:30 are not time zones).
  if (tz && tz !== 'Z' && (Number(tz.slice(4)) > 59 || Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4)) > 14 * 60)) return false;
  return true;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Milliseconds since the epoch of an xs:dateTime (a date-time without time zone is taken as UTC). */
export function dateTimeInstant(t: string): number {
  const m = DATE_TIME.exec(t);
  if (!m) throw new RangeError(`not an xs:dateTime: ${t}`);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), frac ? Math.floor(Number(frac) * 1000) : 0);
  let ms = date.getTime();
  if (tz && tz !== 'Z') ms -= (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4))) * 60_000;
  return ms;
}

/** xs:dateTime as DUIS writes it: UTC, two fractional digits ("2030-01-15T09:00:00.00Z"). */
export function formatDateTime(date: Date): string {
  const iso = date.toISOString(); // 2030-01-15T09:00:00.000Z
  return iso.slice(0, 22) + 'Z';
}

/**
 * xs:decimal, returned in its canonical form (XSD 1.1 Part 2, 3.3.3.2: no sign unless negative, no leading or
 * trailing zeros but one digit either side of a point that is kept): "+5.40" and "05.4" are the 5.4 that a
 * response built from the value must write, and an answer must never fail for how a request spelt it.
 */
export function readDecimal(text: string, where: Where): string {
  const t = collapse(text);
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(t);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) refuse('value', `${quoted(t)} is not an xs:decimal`, where);
  const whole = m[2]!.replace(/^0+(?=.)/, '') || '0';
  // Trailing zeros dropped by a scan, not /0+$/: unanchored, that regex is quadratic on a long run of zeros.
  const digits = m[3] ?? '';
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === 0x30) end--;
  const fraction = digits.slice(0, end);
  const magnitude = fraction ? `${whole}.${fraction}` : whole;
  return m[1] === '-' && magnitude !== '0' ? `-${magnitude}` : magnitude;
}

/** xs:hexBinary, returned upper-case. */
export function readHexBinary(text: string, where: Where): string {
  const t = collapse(text);
  if (!/^(?:[0-9A-Fa-f]{2})*$/.test(t)) refuse('value', `${quoted(t)} is not xs:hexBinary`, where);
  return t.toUpperCase();
}
