/**
 * The evidence bundle of a run (`--evidence DIR`): one folder per run holding what an auditor needs to trust
 * and replay the verdicts, and a MANIFEST.sha256 in `sha256sum` format so `sha256sum -c MANIFEST.sha256` (or
 * verifyEvidenceBundle) proves nothing was altered afterwards.
 *
 *   <DIR>/<startedAt>-<runId>/
 *     run.json                   the RunRecord as the engine produced it
 *     report.json, report.junit.xml, report.html, verdicts.txt
 *     devices/<device>.log       one file per device log, lines in the device's own order
 *     devices/index.json         file name -> device id (names are made safe for every file system)
 *     traffic/<nnn>-<test>.jsonl every message of every attempt of one test, one JSON object per line
 *     MANIFEST.sha256
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { RunRecord, TestRecord } from '../results.ts';
import { renderVerdictTable } from './console.ts';
import { renderHtml } from './html.ts';
import { jsonReplacer, renderJson } from './json.ts';
import { renderJunit } from './junit.ts';

export const MANIFEST = 'MANIFEST.sha256';

/** A name safe on every file system, with no path separators and no leading dot. */
export function safeFileName(name: string, maxLength = 80): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, maxLength).replace(/_+$/, '');
  return cleaned || 'unnamed';
}

/** "2026-11-01T07:20:00.000Z" -> "20261101T072000Z", so bundle folders sort by time. */
function compactTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? 'undated' : d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function bundleFolderName(run: RunRecord): string {
  return `${compactTime(run.startedAt)}-${safeFileName(run.runId, 64)}`;
}

/** Gives each wanted name a unique file name in one folder, adding -2, -3 ... on collisions after sanitizing. */
class NameAllocator {
  readonly #used = new Set<string>();
  take(base: string, ext: string): string {
    let name = `${base}${ext}`;
    for (let n = 2; this.#used.has(name.toLowerCase()); n++) name = `${base}-${n}${ext}`;
    this.#used.add(name.toLowerCase());
    return name;
  }
}

/** A log entry that spans lines keeps its continuation lines indented, so each entry still starts a line of its own. */
function logText(lines: readonly string[]): string {
  return lines.map((l) => l.replace(/\r\n|\r|\n/g, '\n    ')).join('\n') + (lines.length ? '\n' : '');
}

function trafficLines(test: TestRecord): string {
  const out: string[] = [];
  for (const attempt of test.attempts) {
    for (const step of attempt.steps) {
      for (const m of step.traffic) {
        out.push(JSON.stringify({ test: test.id, attempt: attempt.attempt, step: step.index, stepTitle: step.title, ...m }, jsonReplacer));
      }
    }
  }
  return out.map((l) => l + '\n').join('');
}

export interface EvidenceOptions {
  /** Folder name inside the root; by default "<startedAt>-<runId>". */
  folderName?: string;
}

/**
 * Writes the bundle into a new folder under `rootDir` and returns its path. Refuses to write into an existing
 * folder: a bundle is written once, and mixing two runs would make its manifest a lie.
 */
export async function writeEvidenceBundle(run: RunRecord, rootDir: string, options: EvidenceOptions = {}): Promise<string> {
  const dir = resolve(rootDir, options.folderName ?? bundleFolderName(run));
  await mkdir(resolve(rootDir), { recursive: true });
  await mkdir(dir);
  const files = new Map<string, string>();
  files.set('run.json', JSON.stringify(run, jsonReplacer, 2) + '\n');
  files.set('report.json', renderJson(run));
  files.set('report.junit.xml', renderJunit(run));
  files.set('report.html', renderHtml(run));
  files.set('verdicts.txt', renderVerdictTable(run, { color: false }));

  const deviceNames = new NameAllocator();
  const deviceIndex: Record<string, string> = {};
  for (const [device, lines] of Object.entries(run.deviceLogs)) {
    const name = deviceNames.take(safeFileName(device), '.log');
    deviceIndex[name] = device;
    files.set(`devices/${name}`, logText(lines));
  }
  files.set('devices/index.json', JSON.stringify(deviceIndex, null, 2) + '\n');

  const trafficNames = new NameAllocator();
  const width = Math.max(3, String(run.tests.length).length);
  run.tests.forEach((t, i) => {
    const name = trafficNames.take(`${String(i + 1).padStart(width, '0')}-${safeFileName(t.id)}`, '.jsonl');
    files.set(`traffic/${name}`, trafficLines(t));
  });

  await mkdir(join(dir, 'devices'));
  await mkdir(join(dir, 'traffic'));
  const manifest: string[] = [];
  for (const [path, content] of [...files].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    await writeFile(join(dir, path), content, 'utf8');
    manifest.push(`${createHash('sha256').update(content, 'utf8').digest('hex')}  ${path}`);
  }
  await writeFile(join(dir, MANIFEST), manifest.join('\n') + '\n', 'utf8');
  return dir;
}

export interface EvidenceVerification {
  ok: boolean;
  /** Files listed and hashed. */
  checked: number;
  mismatched: { path: string; expected: string; actual: string }[];
  /** Listed in the manifest but absent. */
  missing: string[];
  /** Present in the bundle but not listed: added after the fact. */
  unlisted: string[];
  /** Manifest lines that are not "<sha256>  <path>" inside the bundle. */
  invalid: string[];
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolveHash, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolveHash(hash.digest('hex')));
  });
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full, base)));
    else out.push(relative(base, full).split(sep).join('/'));
  }
  return out;
}

/** Re-hashes every file of a bundle against its manifest. */
export async function verifyEvidenceBundle(dir: string): Promise<EvidenceVerification> {
  const root = resolve(dir);
  const result: EvidenceVerification = { ok: false, checked: 0, mismatched: [], missing: [], unlisted: [], invalid: [] };
  let text: string;
  try {
    text = await readFile(join(root, MANIFEST), 'utf8');
  } catch {
    result.missing.push(MANIFEST);
    return result;
  }
  const listed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    const path = m?.[2];
    const full = path === undefined ? undefined : resolve(root, path);
    if (!m || path === undefined || full === undefined || !full.startsWith(root + sep)) {
      result.invalid.push(line);
      continue;
    }
    listed.add(path);
    let actual: string;
    try {
      actual = await sha256File(full);
    } catch {
      result.missing.push(path);
      continue;
    }
    result.checked++;
    if (actual !== m[1]) result.mismatched.push({ path, expected: m[1]!, actual });
  }
  for (const f of await listFiles(root)) if (f !== MANIFEST && !listed.has(f)) result.unlisted.push(f);
  result.ok = result.mismatched.length === 0 && result.missing.length === 0 && result.unlisted.length === 0 && result.invalid.length === 0;
  return result;
}
