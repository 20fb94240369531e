/**
 * The JSON report (`--report json=FILE`). The required shape is
 *   {"summary": {total, passed, failed, errors, skipped}, "tests": [{id, title, tags, verdict, attempts, durationMs, ...}]}
 * where `attempts` is a count; the attempts themselves (steps, traffic, diffs) are under `attemptLog`.
 */
import type { AttemptRecord, RunRecord, RunSummary, TestRecord, Verdict } from '../results.ts';
import { failureMessage, runSummary } from './run-facts.ts';

export interface JsonTestEntry {
  id: string;
  title: string;
  tags: string[];
  verdict: Verdict;
  /** How many attempts ran (0 for a test skipped before it started). */
  attempts: number;
  durationMs: number;
  file: string;
  level: TestRecord['level'];
  /** Why it did not pass (absent on pass). */
  message?: string;
  attemptLog: AttemptRecord[];
}

export interface JsonReport {
  runId: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  target: string;
  environment: RunRecord['environment'];
  options: Record<string, unknown>;
  /** Present when the run was stopped before its end: why. */
  interrupted?: string;
  summary: RunSummary;
  tests: JsonTestEntry[];
}

export function toJsonReport(run: RunRecord): JsonReport {
  const s = runSummary(run);
  return {
    runId: run.runId,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs: run.durationMs,
    target: run.target,
    environment: run.environment,
    options: run.options,
    ...(run.interrupted ? { interrupted: run.interrupted } : {}),
    summary: { total: s.total, passed: s.passed, failed: s.failed, errors: s.errors, skipped: s.skipped },
    tests: run.tests.map((t) => {
      const message = failureMessage(t);
      return {
        id: t.id,
        title: t.title,
        tags: t.tags,
        verdict: t.verdict,
        attempts: t.attempts.length,
        durationMs: t.durationMs,
        file: t.file,
        level: t.level,
        ...(message !== undefined ? { message } : {}),
        attemptLog: t.attempts,
      };
    }),
  };
}

/** Device snapshot values are JSON already; a bigint counter from a device model is written as its decimal string. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function renderJson(run: RunRecord): string {
  return JSON.stringify(toJsonReport(run), jsonReplacer, 2) + '\n';
}
