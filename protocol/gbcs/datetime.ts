/**
 * The two time encodings GBCS carries:
 * - DLMS COSEM date-time (12 octets): year(2) month day day-of-week hour minute second hundredths
 *   deviation(2) clock-status. GBCS uses all-zero fields for "now" and all-FF for "never".
 * - ZigBee UTCTime: seconds since 2000-01-01T00:00:00Z as uint32, 0 meaning "now" and 0xFFFFFFFF "never".
 */
import { fail } from './errors.ts';

export const DLMS_DATETIME_LENGTH = 12;

/** Execution time of a command: immediately, never (cancels a pending one), or at an instant. */
export type Execution = { kind: 'now' } | { kind: 'never' } | { kind: 'at'; at: Date };

export const NOW: Execution = Object.freeze({ kind: 'now' });
export const NEVER: Execution = Object.freeze({ kind: 'never' });

/** DUIS ExecutionDateTime sentinel that cancels a pending future-dated command. */
export const DUIS_CANCEL_DATETIME = '3000-12-31T00:00:00.00Z';

export function executionAt(at: Date): Execution {
  return { kind: 'at', at };
}

export function executionToJSON(e: Execution): string {
  return e.kind === 'at' ? e.at.toISOString() : e.kind;
}

const DLMS_NOW = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0xff]);
const DLMS_NEVER = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x00, 0xff]);

/** 12-octet DLMS date-time for an instant in UTC (day-of-week and deviation "not specified"). */
export function dlmsDateTime(at: Date): Uint8Array {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  const year = at.getUTCFullYear();
  if (year < 0 || year > 0xfffe) throw new RangeError(`year ${year} does not fit a DLMS date-time`);
  return Uint8Array.from([
    year >> 8,
    year & 0xff,
    at.getUTCMonth() + 1,
    at.getUTCDate(),
    0xff,
    at.getUTCHours(),
    at.getUTCMinutes(),
    at.getUTCSeconds(),
    Math.floor(at.getUTCMilliseconds() / 10),
    0x80,
    0x00,
    0xff,
  ]);
}

export function encodeDlmsExecution(e: Execution): Uint8Array {
  if (e.kind === 'now') return DLMS_NOW;
  if (e.kind === 'never') return DLMS_NEVER;
  return dlmsDateTime(e.at);
}

function allEqual(b: Uint8Array, end: number, v: number): boolean {
  for (let i = 0; i < end; i++) if (b[i] !== v) return false;
  return true;
}

/**
 * Reads a 12-octet DLMS date-time as an execution time. `offset` is used only in errors.
 * Only UTC instants (deviation 0x8000 "not specified" or 0) are modelled; anything else is a bad value.
 */
export function decodeDlmsExecution(b: Uint8Array, offset: number): Execution {
  if (b.length !== DLMS_DATETIME_LENGTH) fail('bad-length', `date-time must be 12 octets, got ${b.length}`, offset);
  if (allEqual(b, 9, 0)) return NOW;
  if (allEqual(b, 9, 0xff)) return NEVER;
  return { kind: 'at', at: decodeDlmsDateTime(b, offset) };
}

export function decodeDlmsDateTime(b: Uint8Array, offset: number): Date {
  if (b.length !== DLMS_DATETIME_LENGTH) fail('bad-length', `date-time must be 12 octets, got ${b.length}`, offset);
  const year = (b[0]! << 8) | b[1]!;
  const [month, day, , hour, minute, second, hundredths] = [b[2]!, b[3]!, b[4]!, b[5]!, b[6]!, b[7]!, b[8]!];
  const deviation = (b[9]! << 8) | b[10]!;
  if (year === 0xffff || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59 || hundredths > 99) {
    fail('bad-value', `date-time fields out of range (${Buffer.from(b).toString('hex')})`, offset);
  }
  if (deviation !== 0x8000 && deviation !== 0) fail('unsupported', `date-time with a local deviation (${deviation})`, offset + 9);
  // Not Date.UTC: it takes years 0-99 as 1900-1999, so an encoded year 0x0032 would decode as 1950.
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day);
  at.setUTCHours(hour, minute, second, hundredths * 10);
  if (at.getUTCDate() !== day) fail('bad-value', `no such day: ${year}-${month}-${day}`, offset);
  return at;
}

/** ZigBee UTCTime epoch: 2000-01-01T00:00:00Z. */
export const ZIGBEE_EPOCH_MS = Date.UTC(2000, 0, 1);

export function zigbeeUtcTime(at: Date): number {
  const s = Math.floor((at.getTime() - ZIGBEE_EPOCH_MS) / 1000);
  if (!(s >= 1 && s < 0xffffffff)) throw new RangeError(`${at.toISOString()} is outside ZigBee UTCTime`);
  return s;
}

export function fromZigbeeUtcTime(seconds: number): Date {
  return new Date(ZIGBEE_EPOCH_MS + seconds * 1000);
}

export function encodeZigbeeExecution(e: Execution): number {
  if (e.kind === 'now') return 0;
  if (e.kind === 'never') return 0xffffffff;
  return zigbeeUtcTime(e.at);
}

export function decodeZigbeeExecution(seconds: number): Execution {
  if (seconds === 0) return NOW;
  if (seconds === 0xffffffff) return NEVER;
  return { kind: 'at', at: fromZigbeeUtcTime(seconds) };
}
