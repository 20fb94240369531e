/**
 * Run history in SQLite: each run's summary and every test's verdict, so `smets-hil history` can list past
 * runs and show one scenario's verdicts over time (to spot a flaky one). WAL and a busy timeout let parallel CI
 * jobs record into the same file.
 */
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { makeDirectory } from '../devices/directories.ts';
import { RUN_INTERRUPTED, type RunRecord, seededDefects, type Verdict } from './results.ts';
import { failureMessage, runSummary } from './reporters/run-facts.ts';

export const DEFAULT_HISTORY_FILE = '.smets-hil/history.sqlite';

export function defaultHistoryPath(cwd = process.cwd()): string {
  return resolve(cwd, DEFAULT_HISTORY_FILE);
}

/** The history file `run` records into: the one given, or the default under cwd. */
export function historyPath(db: string | undefined, cwd = process.cwd()): string {
  return db !== undefined ? resolve(cwd, db) : defaultHistoryPath(cwd);
}

/** What SQLite keeps beside a database file (by appending these to its name): part of the history too. */
export const SQLITE_SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

/**
 * 2: runs.defects, the defects a negative-control run seeded, and runs.interrupted, why a run stopped early (both
 * added to a version 1 file when it is opened to record).
 * 3: test_verdicts.stopped, 1 when the run's interruption stopped that test (its error is not the test's own);
 * added to older files, and set for the rows whose message says the run was interrupted.
 */
const SCHEMA_VERSION = 3;

/** A message saying the run's interruption stopped the step or attempt (a LIKE pattern). */
const INTERRUPTED_MESSAGE = `%${RUN_INTERRUPTED}%`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  run_id       TEXT PRIMARY KEY,
  started_at   TEXT NOT NULL,
  finished_at  TEXT NOT NULL,
  duration_ms  INTEGER NOT NULL,
  target       TEXT NOT NULL,
  total        INTEGER NOT NULL,
  passed       INTEGER NOT NULL,
  failed       INTEGER NOT NULL,
  errors       INTEGER NOT NULL,
  skipped      INTEGER NOT NULL,
  evidence_dir TEXT,
  smets_hil    TEXT NOT NULL,
  host         TEXT NOT NULL,
  recorded_at  TEXT NOT NULL,
  defects      TEXT NOT NULL DEFAULT '[]',
  interrupted  TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
CREATE TABLE IF NOT EXISTS test_verdicts (
  run_id      TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  position    INTEGER NOT NULL,
  test_id     TEXT NOT NULL,
  title       TEXT NOT NULL,
  file        TEXT NOT NULL,
  tags        TEXT NOT NULL,
  verdict     TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'error', 'skip')),
  attempts    INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  message     TEXT,
  stopped     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, position)
);
CREATE INDEX IF NOT EXISTS verdicts_by_test ON test_verdicts (test_id);
`;

export interface RunRow {
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  target: string;
  total: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  evidenceDir: string | null;
  smetsHil: string;
  host: string;
  /** Defects the run seeded (`run --defect`): a negative control, expected to fail. */
  defects: string[];
  /** Why the run stopped before its end, if it did. */
  interrupted: string | null;
}

export interface TestVerdictRow {
  runId: string;
  startedAt: string;
  testId: string;
  title: string;
  file: string;
  tags: string[];
  verdict: Verdict;
  attempts: number;
  durationMs: number;
  message: string | null;
  evidenceDir: string | null;
  /** Defects the run seeded: [] for a real run. */
  defects: string[];
  /** Why the run stopped early (a signal), or null. */
  interrupted: string | null;
  /** The run's interruption stopped this test: an error here is the harness's stop, not the test's. */
  stopped: boolean;
}

/**
 * Before version 3, the error a run's interruption caused is told by its message (the interrupted run's other
 * errors were the tests' own).
 */
const STOPPED_BEFORE_3 = "verdict = 'error' AND message LIKE ? AND run_id IN (SELECT run_id FROM runs WHERE interrupted IS NOT NULL)";

/** Creates or upgrades the history's tables; refuses a newer schema or another program's database. */
function upgrade(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw new Error(`${file}: history schema version ${version} is newer than this smets-hil understands (${SCHEMA_VERSION})`);
  // Another program's database (a lease store, say) must not gain our tables.
  const foreign = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('runs', 'test_verdicts')").all() as { name: string }[]).map((r) => r.name);
  if (version === 0 && foreign.length > 0) throw new Error(`${file} is not a smets-hil run history: it holds the tables ${foreign.join(', ')}`);
  if (version === 1) db.exec("ALTER TABLE runs ADD COLUMN defects TEXT NOT NULL DEFAULT '[]'; ALTER TABLE runs ADD COLUMN interrupted TEXT");
  if (version === 1 || version === 2) {
    db.exec('ALTER TABLE test_verdicts ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0');
    db.prepare(`UPDATE test_verdicts SET stopped = 1 WHERE ${STOPPED_BEFORE_3}`).run(INTERRUPTED_MESSAGE);
  }
  db.exec(SCHEMA);
  if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

export class History {
  readonly #db: Database.Database;
  /** How to read a run's defects and interruption: a version 1 file opened read-only has neither column. */
  readonly #defects: string;
  readonly #interrupted: string;
  /** Whether the run's interruption stopped the test: a version 2 file opened read-only tells it by the message. */
  readonly #stopped: string;

  private constructor(db: Database.Database) {
    this.#db = db;
    const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    const runs = columns('runs');
    this.#defects = runs.includes('defects') ? 'r.defects' : "'[]'";
    this.#interrupted = runs.includes('interrupted') ? 'r.interrupted' : 'NULL';
    this.#stopped = columns('test_verdicts').includes('stopped')
      ? 'v.stopped'
      : `(v.verdict = 'error' AND v.message LIKE '${INTERRUPTED_MESSAGE}' AND ${this.#interrupted} IS NOT NULL)`;
  }

  /** Opens (creating when needed, unless readonly) the history file. */
  static open(file: string, options: { readonly?: boolean } = {}): History {
    if (!options.readonly) makeDirectory(dirname(resolve(file)));
    const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) {
      try {
        db.pragma('journal_mode = WAL');
        db.pragma('foreign_keys = ON');
        // The version is read inside the write transaction: two recorders opening a version 1 file at once
        // must not both upgrade it (the second would add the columns again).
        db.transaction(() => upgrade(db, file)).immediate();
      } catch (e) {
        db.close();
        throw e;
      }
    }
    return new History(db);
  }

  /** Stores a run and its tests' verdicts; recording the same run again replaces it. */
  record(run: RunRecord, options: { evidenceDir?: string } = {}): void {
    const s = runSummary(run);
    const insertRun = this.#db.prepare(
      `INSERT OR REPLACE INTO runs (run_id, started_at, finished_at, duration_ms, target, total, passed, failed, errors, skipped, evidence_dir, smets_hil, host, recorded_at, defects, interrupted)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertTest = this.#db.prepare(
      `INSERT INTO test_verdicts (run_id, position, test_id, title, file, tags, verdict, attempts, duration_ms, message, stopped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#db.transaction(() => {
      // Replace a run recorded before, verdicts included (explicitly: REPLACE alone does not cascade reliably).
      this.#db.prepare('DELETE FROM test_verdicts WHERE run_id = ?').run(run.runId);
      insertRun.run(
        run.runId, run.startedAt, run.finishedAt, Math.round(run.durationMs), run.target,
        s.total, s.passed, s.failed, s.errors, s.skipped,
        options.evidenceDir ?? null, run.environment.smetsHil, run.environment.host, new Date().toISOString(), JSON.stringify(seededDefects(run)), run.interrupted ?? null,
      );
      run.tests.forEach((t, i) => {
        const stopped = t.verdict === 'error' && t.attempts.at(-1)?.interrupted === true;
        insertTest.run(run.runId, i, t.id, t.title, t.file, JSON.stringify(t.tags), t.verdict, t.attempts.length, Math.round(t.durationMs), failureMessage(t) ?? null, stopped ? 1 : 0);
      });
    })();
  }

  /** Past runs, newest first. */
  runs(limit = 20): RunRow[] {
    const rows = this.#db
      .prepare(
        `SELECT run_id AS runId, started_at AS startedAt, finished_at AS finishedAt, duration_ms AS durationMs, target, total, passed, failed,
                errors, skipped, evidence_dir AS evidenceDir, smets_hil AS smetsHil, host, ${this.#defects} AS defects, ${this.#interrupted} AS interrupted
         FROM runs r ORDER BY started_at DESC, rowid DESC LIMIT ?`,
      )
      .all(limit) as (Omit<RunRow, 'defects'> & { defects: string })[];
    return rows.map((r) => ({ ...r, defects: JSON.parse(r.defects) as string[] }));
  }

  /**
   * One test's verdicts across runs, newest first. Runs that seeded defects are left out unless asked for: a
   * negative control fails on purpose, and beside the real runs would make any test look flaky.
   */
  testHistory(testId: string, limit = 20, options: { withDefects?: boolean } = {}): TestVerdictRow[] {
    const rows = this.#db
      .prepare(
        `SELECT v.run_id AS runId, r.started_at AS startedAt, v.test_id AS testId, v.title, v.file, v.tags, v.verdict, v.attempts,
                v.duration_ms AS durationMs, v.message, r.evidence_dir AS evidenceDir, ${this.#defects} AS defects, ${this.#interrupted} AS interrupted,
                ${this.#stopped} AS stopped
         FROM test_verdicts v JOIN runs r ON r.run_id = v.run_id
         WHERE v.test_id = ? AND (? OR ${this.#defects} = '[]') ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?`,
      )
      .all(testId, options.withDefects ? 1 : 0, limit) as (Omit<TestVerdictRow, 'tags' | 'defects' | 'stopped'> & { tags: string; defects: string; stopped: number })[];
    return rows.map((r) => ({ ...r, tags: JSON.parse(r.tags) as string[], defects: JSON.parse(r.defects) as string[], stopped: r.stopped === 1 }));
  }

  /** How many of this test's recorded verdicts come from runs that seeded defects. */
  seededVerdicts(testId: string): number {
    return (this.#db.prepare(`SELECT count(*) AS n FROM test_verdicts v JOIN runs r ON r.run_id = v.run_id WHERE v.test_id = ? AND ${this.#defects} <> '[]'`).get(testId) as { n: number }).n;
  }

  /** Test ids seen in the history that contain `fragment`, to suggest when --test names none exactly. */
  testIdsLike(fragment: string, limit = 10): string[] {
    return (this.#db.prepare(`SELECT DISTINCT test_id AS id FROM test_verdicts WHERE instr(lower(test_id), lower(?)) > 0 ORDER BY test_id LIMIT ?`).all(fragment, limit) as { id: string }[]).map((r) => r.id);
  }

  close(): void {
    this.#db.close();
  }
}

export interface TestHistorySummary {
  runs: number;
  counts: Record<Verdict, number>;
  /** How often the verdict changed between consecutive runs (skips and interrupted errors ignored). */
  flips: number;
  /** Errors the run's interruption caused (a CI timeout stopping the step under way): the harness's stop, not the test's. */
  interruptedErrors: number;
  /** Runs where the test passed only after a retry. */
  passedAfterRetry: number;
  /** Passed in some runs and failed or errored in others, or needed retries to pass. */
  flaky: boolean;
}

export function summarizeTestHistory(rows: readonly TestVerdictRow[]): TestHistorySummary {
  const counts: Record<Verdict, number> = { pass: 0, fail: 0, error: 0, skip: 0 };
  for (const r of rows) counts[r.verdict]++;
  const stopped = (r: TestVerdictRow) => r.verdict === 'error' && r.stopped;
  const ran = rows.filter((r) => r.verdict !== 'skip' && !stopped(r));
  let flips = 0;
  for (let i = 1; i < ran.length; i++) if (ran[i]!.verdict !== ran[i - 1]!.verdict) flips++;
  const passedAfterRetry = rows.filter((r) => r.verdict === 'pass' && r.attempts > 1).length;
  const interruptedErrors = rows.filter(stopped).length;
  const flaky = (counts.pass > 0 && counts.fail + counts.error - interruptedErrors > 0) || passedAfterRetry > 0;
  return { runs: rows.length, counts, flips, interruptedErrors, passedAfterRetry, flaky };
}

/** Opens the history file `run` will record into (creating it), so a file that cannot be one stops the run before it starts. */
export function checkHistoryFile(db: string | undefined, cwd = process.cwd()): string {
  const file = historyPath(db, cwd);
  History.open(file).close();
  return file;
}

/** What `smets-hil run` calls after a run: records it into the history file (default under cwd); returns its path. */
export function recordRun(run: RunRecord, options: { db?: string; evidenceDir?: string; cwd?: string } = {}): string {
  const file = historyPath(options.db, options.cwd);
  const history = History.open(file);
  try {
    history.record(run, options.evidenceDir !== undefined ? { evidenceDir: resolve(options.evidenceDir) } : {});
  } finally {
    history.close();
  }
  return file;
}
