/**
 * The file reports of a run, as `smets-hil run --report FORMAT=FILE` asks for them, and the renderers behind them.
 */
import { mkdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { RunRecord } from '../results.ts';
import { renderHtml } from './html.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';

export type ReportFormat = 'json' | 'junit' | 'html';

export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'junit', 'html'];

export interface ReportSpec {
  format: ReportFormat;
  file: string;
}

export const RENDERERS: Record<ReportFormat, (run: RunRecord) => string> = { json: renderJson, junit: renderJunit, html: renderHtml };

/** A `--report` value that is not FORMAT=FILE with a known format; the CLI turns it into a usage error. */
export class ReportSpecError extends Error {}

export function parseReportSpec(text: string): ReportSpec {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) throw new ReportSpecError(`--report ${JSON.stringify(text)}: expected FORMAT=FILE, FORMAT one of ${REPORT_FORMATS.join(', ')}`);
  const format = text.slice(0, eq).trim().toLowerCase();
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) {
    throw new ReportSpecError(`--report ${JSON.stringify(text)}: unknown format ${JSON.stringify(format)}; use one of ${REPORT_FORMATS.join(', ')}`);
  }
  const file = text.slice(eq + 1);
  if (file === '-') throw new ReportSpecError(`--report ${JSON.stringify(text)}: a report is written to a file; "-" (standard output) is not one`);
  return { format: format as ReportFormat, file };
}

/** Refuses two reports written to one file: the second would silently replace the first. */
export function checkDistinctReportFiles(specs: readonly ReportSpec[], cwd = process.cwd()): void {
  const seen = new Map<string, ReportSpec>();
  for (const spec of specs) {
    const path = resolve(cwd, spec.file);
    const earlier = seen.get(path);
    if (earlier) throw new ReportSpecError(`--report ${earlier.format}=${earlier.file} and --report ${spec.format}=${spec.file} name the same file`);
    seen.set(path, spec);
  }
}

export function renderReport(run: RunRecord, format: ReportFormat): string {
  return RENDERERS[format](run);
}

/**
 * Writes a file whole or not at all: into a temporary file beside it, then renamed over it. A write cut short (a
 * full disk, the job killed) leaves the file as it was, never a truncated one that reads as complete. What is not
 * a regular file (a device such as /dev/stdout, a FIFO) is written into as it is: renamed over, it would be
 * replaced by a file; a symbolic link keeps its place, the file it names is replaced.
 */
export async function writeWhole(path: string, content: string): Promise<void> {
  const existing = await stat(path).catch(() => null);
  const target = existing ? await realpath(path) : path;
  // /dev/stdout redirected to a file resolves to that file through /proc: it is written through, as a device is.
  if (existing && (!existing.isFile() || target.startsWith('/proc/') || resolve(path).startsWith('/dev/'))) return writeFile(path, content, 'utf8');
  const partial = `${target}.partial-${process.pid}`;
  try {
    await writeFile(partial, content, 'utf8');
    await rename(partial, target);
  } catch (e) {
    await rm(partial, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** Writes each requested report (creating folders as needed); returns the absolute paths written, in order. */
export async function writeReports(run: RunRecord, specs: readonly ReportSpec[], cwd = process.cwd()): Promise<string[]> {
  const written: string[] = [];
  for (const spec of specs) {
    const path = resolve(cwd, spec.file);
    await mkdir(dirname(path), { recursive: true });
    await writeWhole(path, renderReport(run, spec.format));
    written.push(path);
  }
  return written;
}

export { ConsoleReporter, renderVerdictTable, terminalSafe } from './console.ts';
export type { ConsoleReporterOptions } from './console.ts';
export { verifyEvidenceBundle, writeEvidenceBundle } from './evidence.ts';
export type { EvidenceVerification } from './evidence.ts';
export { renderHtml } from './html.ts';
export { renderJson, toJsonReport } from './json.ts';
export { renderJunit } from './junit.ts';
