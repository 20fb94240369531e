/** Reading what users pass on the command line: files, hex given inline, keystores and certificates. */
import { accessSync, closeSync, constants, existsSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { makeDirectory } from '../../devices/directories.ts';
import { durationMs, MAX_TIMER_MS } from '../../devices/rig/durations.ts';
import { CliExit, EXIT } from '../cli-exit.ts';
import { isDateTime } from '../../protocol/duis/simple-types.ts';
import { fromHex } from '../../protocol/gbcs/bytes.ts';
import { Keystore } from '../../protocol/smki/keystore.ts';

/**
 * Standard input where a file is named. yargs does not keep a lone "-" argument (a command gets true, "" or
 * nothing), so the CLI hands it on as this name; it reads well in messages too.
 */
export const STDIN = '<stdin>';

/** Whether a file argument names standard input: STDIN, or "-" as library callers give it. */
export function isStdin(path: string): boolean {
  return path === STDIN || path === '-';
}

/** The largest input read whole: a string holds at most about 512 MiB, and no frame, request or recording needs more. */
export const MAX_INPUT_BYTES = 256 * 2 ** 20;

/**
 * A file's bytes, or standard input's, up to `limit` and one more: a pipe, /dev/zero or `<(cmd)` has no size to
 * check first, and read whole it would take memory until the machine ran out.
 */
function readAtMost(path: string, limit: number): Buffer {
  const fd = isStdin(path) ? 0 : openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total <= limit) {
      const chunk = Buffer.allocUnsafe(Math.min(2 ** 20, limit + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** A file's bytes, or standard input's; one that cannot be read, or is too large to, is a usage error naming it. */
export function readInput(path: string, what: string): Buffer {
  let bytes: Buffer;
  try {
    if (!isStdin(path) && statSync(path).size > MAX_INPUT_BYTES) throw new CliExit(EXIT.usage, `${what} ${path} is ${statSync(path).size} bytes: more than the ${MAX_INPUT_BYTES} read at once`);
    bytes = readAtMost(path, MAX_INPUT_BYTES);
  } catch (e) {
    if (e instanceof CliExit) throw e;
    throw new CliExit(EXIT.usage, `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (bytes.length > MAX_INPUT_BYTES) throw new CliExit(EXIT.usage, `${what} ${path} holds more than the ${MAX_INPUT_BYTES} bytes read at once`);
  return bytes;
}

export function readText(path: string, what: string): string {
  return readInput(path, what).toString('utf8');
}

/** A frame given as hex on the command line, or as a file (or '-' for stdin) holding hex. */
export function readHexArgument(arg: string): Buffer {
  // A file of that name, hex-like or not (`cafe`), or what looks like a path, is a file: a path that does not exist
  // says so, not "bad hex".
  const file = isStdin(arg) || existsSync(arg) || (!/^[0-9A-Fa-f\s]+$/.test(arg) && /[/\\.]/.test(arg));
  const text = file ? readText(arg, 'hex file') : arg;
  return fromHex(text);
}

export function loadKeystore(path: string | undefined, certs: readonly string[] = []): Keystore {
  let store: Keystore;
  try {
    store = path ? Keystore.fromZaz1(readText(path, 'keystore')) : new Keystore();
  } catch (e) {
    if (e instanceof CliExit) throw e;
    throw new CliExit(EXIT.usage, `keystore ${path}: ${(e as Error).message}`);
  }
  for (const cert of certs) {
    try {
      store.addCertificate(readText(cert, 'certificate'), cert);
    } catch (e) {
      if (e instanceof CliExit) throw e;
      throw new CliExit(EXIT.usage, `certificate ${cert}: ${(e as Error).message}`);
    }
  }
  return store;
}

/** A directory given on the command line to write into: made if missing, and writable, or a usage error. */
export function writableDirectory(path: string, option: string): string {
  try {
    makeDirectory(path);
    accessSync(path, constants.W_OK);
  } catch (e) {
    throw new CliExit(EXIT.usage, `--${option} ${path}: cannot write there (${(e as Error).message})`);
  }
  return path;
}

/** A file the command will write at the end: checked now, so a run is not made for output that cannot be kept. */
export function writableFile(path: string, option: string): string {
  const where = resolve(path);
  let existing: Stats | undefined;
  try {
    makeDirectory(dirname(where));
    accessSync(dirname(where), constants.W_OK);
    existing = statSync(where, { throwIfNoEntry: false });
    if (existing) accessSync(where, constants.W_OK);
  } catch (e) {
    throw new CliExit(EXIT.usage, `--${option} ${path}: cannot write it (${(e as Error).message})`);
  }
  if (existing?.isDirectory()) throw new CliExit(EXIT.usage, `--${option} ${path}: is a directory`);
  return path;
}

/**
 * A `--clock` value: an ISO-8601 date-time with its zone (Z or an offset), as the DCC and the meters keep time.
 * `new Date` alone would take "March 7" as a local-time date in 2001, and rolls a day that does not exist over
 * (2031-02-29 to 03-01, T24:00 to the next day): the calendar is checked as a DUIS date-time's is, without 24:00.
 */
export function isoDateTimeArg(text: string, option: string): Date {
  const m = /^(\d{4}-\d{2}-\d{2}T(\d{2}):\d{2})(:\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const at = m && m[2] !== '24' && isDateTime(`${m[1]}${m[3] ?? ':00'}${m[4]}`) ? new Date(text) : null;
  if (!at || Number.isNaN(at.getTime())) throw new CliExit(EXIT.usage, `--${option} ${text}: not an ISO-8601 date-time such as 2026-01-05T09:00:00Z`);
  return at;
}

/**
 * A time limit on the command line: a duration (`90s`, `10m`, `2h`, `500ms`, `1d`) or a bare number of
 * milliseconds, above 0 and no longer than a timer can wait (one asked for more fires at once).
 */
export function timeLimitArg(text: string, option: string): number {
  let ms: number;
  try {
    ms = /^\d+$/.test(text) ? Number(text) : durationMs(text);
  } catch {
    throw new CliExit(EXIT.usage, `--${option} ${text}: a time limit such as 90s, 10m or 2h (a bare number is milliseconds)`);
  }
  if (!(ms > 0 && ms <= MAX_TIMER_MS)) throw new CliExit(EXIT.usage, `--${option} ${text}: a time limit above 0 and at most 24 days (the longest a timer waits)`);
  return ms;
}
