/**
 * The evidence bundle of a run (`--evidence DIR`): one folder per run holding what an auditor needs to trust
 * and replay the verdicts, and a MANIFEST.sha256 in `sha256sum` format so `sha256sum -c MANIFEST.sha256` (or
 * verifyEvidenceBundle) finds any file changed, added or lost since. Against someone who rewrites the manifest
 * too, the manifest's own SHA-256 (printed with the bundle's folder at the end of the run) is the anchor: keep it
 * apart from the bundle. The bundle is written in `<folder>.partial` and renamed once whole.
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
import { access, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
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

export interface WrittenBundle {
  dir: string;
  /** The SHA-256 of its MANIFEST.sha256: what proves the manifest itself unchanged. */
  manifestSha256: string;
}

/**
 * Writes the bundle into a new folder under `rootDir`. Refuses to write into an existing folder: a bundle is
 * written once, and mixing two runs would make its manifest a lie. Written in `<folder>.partial` and renamed when
 * whole: a write that fails leaves that folder, named so, and the error says where.
 */
export async function writeEvidenceBundle(run: RunRecord, rootDir: string, options: EvidenceOptions = {}): Promise<WrittenBundle> {
  const dir = resolve(rootDir, options.folderName ?? bundleFolderName(run));
  await mkdir(resolve(rootDir), { recursive: true });
  if (await access(dir).then(() => true, () => false)) throw Object.assign(new Error(`EEXIST: the bundle folder ${dir} already exists`), { code: 'EEXIST' });
  const partial = `${dir}.partial`;
  await mkdir(partial);
  try {
    const manifestSha256 = await writeBundleFiles(run, partial);
    await rename(partial, dir);
    return { dir, manifestSha256 };
  } catch (e) {
    throw new Error(`${(e as Error).message} (what was written is left in ${partial})`, { cause: e });
  }
}

/** The files every bundle holds rendered from the run, whatever the run (with devices/index.json). */
const RENDERED: Record<string, (run: RunRecord) => string> = {
  'run.json': (run) => JSON.stringify(run, jsonReplacer, 2) + '\n',
  'report.json': renderJson,
  'report.junit.xml': renderJunit,
  'report.html': renderHtml,
  'verdicts.txt': (run) => renderVerdictTable(run, { color: false }),
};

/** Writes the bundle's files and manifest into `dir`; returns the manifest's SHA-256. */
async function writeBundleFiles(run: RunRecord, dir: string): Promise<string> {
  const files = new Map<string, string>(Object.entries(RENDERED).map(([name, render]) => [name, render(run)]));

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
  const text = manifest.join('\n') + '\n';
  await writeFile(join(dir, MANIFEST), text, 'utf8');
  return createHash('sha256').update(text, 'utf8').digest('hex');
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
  /** Manifest lines that are not "<sha256>  <path>" inside the bundle (or what is wrong with the manifest as a whole). */
  invalid: string[];
  /** Files a bundle of this run must hold that the manifest does not list (removed with their manifest lines). */
  incomplete: string[];
}

/** The files every bundle holds, whatever the run. */
const FIXED_FILES = [...Object.keys(RENDERED), 'devices/index.json'];

/** What a bundle of this run must list beyond FIXED_FILES and lacks: a traffic file per test, a log per device log. */
async function missingForRun(root: string, listed: ReadonlySet<string>): Promise<string[]> {
  const out = FIXED_FILES.filter((f) => !listed.has(f));
  let run: Pick<RunRecord, 'tests' | 'deviceLogs'>;
  let index: Record<string, string>;
  try {
    run = JSON.parse(await readFile(join(root, 'run.json'), 'utf8')) as RunRecord;
    index = JSON.parse(await readFile(join(root, 'devices', 'index.json'), 'utf8')) as Record<string, string>;
  } catch {
    return out; // unreadable: the hashes have said so
  }
  const traffic = [...listed].filter((f) => f.startsWith('traffic/')).length;
  if (Array.isArray(run.tests) && traffic < run.tests.length) out.push(`traffic/ (${run.tests.length - traffic} of the run's ${run.tests.length} tests have no traffic file)`);
  const logs = Object.keys(index);
  for (const name of logs) if (!listed.has(`devices/${name}`)) out.push(`devices/${name}`);
  const devices = Object.keys(run.deviceLogs ?? {}).length;
  if (logs.length < devices) out.push(`devices/index.json (names ${logs.length} of the run's ${devices} device logs)`);
  return out;
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

/**
 * Re-hashes every file of a bundle against its manifest, and checks the manifest lists all a bundle of its run
 * holds. `manifestSha256`, the digest printed when the bundle was written, also proves the manifest itself
 * unchanged: without it, someone who rewrites a file and its manifest line goes unseen.
 */
export async function verifyEvidenceBundle(dir: string, options: { manifestSha256?: string } = {}): Promise<EvidenceVerification> {
  const root = resolve(dir);
  const result: EvidenceVerification = { ok: false, checked: 0, mismatched: [], missing: [], unlisted: [], invalid: [], incomplete: [] };
  let text: string;
  try {
    text = await readFile(join(root, MANIFEST), 'utf8');
  } catch {
    result.missing.push(MANIFEST);
    return result;
  }
  if (options.manifestSha256 !== undefined) {
    const actual = createHash('sha256').update(text, 'utf8').digest('hex');
    if (actual !== options.manifestSha256.toLowerCase()) result.mismatched.push({ path: MANIFEST, expected: options.manifestSha256, actual });
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
  if (listed.size === 0) result.invalid.push(`${MANIFEST} lists no files`);
  result.incomplete = await missingForRun(root, listed);
  result.ok = [result.mismatched, result.missing, result.unlisted, result.invalid, result.incomplete].every((a) => a.length === 0);
  return result;
}
