/**
 * Console output: live progress lines while a run goes, and the verdict table at the end. Plain text that reads
 * well in a CI log; ANSI colour only on a terminal (and never when NO_COLOR is set).
 */
import type { RunListener } from '../engine/runner.ts';
import type { RunRecord, StepRecord, TestRecord, Verdict } from '../results.ts';
import { escapeCodePoint } from './markup-escape.ts';
import { describeChange, failureMessage, firstUnexpectedChange, formatDuration, runSummary } from './run-facts.ts';
import { textTable } from './text-table.ts';

export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ConsoleReporterOptions {
  /** Where lines go; process.stdout by default. */
  out?: TextSink;
  /** Force colour on or off; by default on only when `out` is a TTY and NO_COLOR is unset. */
  color?: boolean;
  /** How many tests the run will have, for "[ 3/40]" counters. */
  total?: number;
  /** Print a line per step (default true). */
  steps?: boolean;
}

// C0 and C1 controls, DEL, the bidirectional marks, overrides and isolates, and the Unicode line separators: a
// title, a message or a meter's reply quoted in one could move the cursor, clear the screen or reorder what the
// reader sees. A message keeps its line breaks (a harness error's stack trace reads as lines).
const TERMINAL_CONTROL = /[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069]/g;

/**
 * Text from a run (ids, titles, file names, messages, changes) as a terminal must show it: controls as visible
 * escapes ("\x1B"), line breaks too unless `lines` (for messages), whose lines after the first start `indent`
 * further in, so that none can pass for a line of the reporter's own ("    PASS ...").
 */
export function terminalSafe(text: string, o: { lines?: boolean; indent?: string } = {}): string {
  return text.replace(TERMINAL_CONTROL, (c) => (c === '\n' && o.lines ? '\n' + (o.indent ?? '') : escapeCodePoint(c)));
}

/** A message's later lines, set in below every line the reporter prints itself. */
const LINES = { lines: true, indent: '          ' };

const ANSI: Record<Verdict | 'dim', string> = { pass: '\x1b[32m', fail: '\x1b[31m', error: '\x1b[35m', skip: '\x1b[33m', dim: '\x1b[2m' };
const RESET = '\x1b[0m';
const LABEL: Record<Verdict, string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', skip: 'SKIP' };

export function defaultColor(out: TextSink, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return out.isTTY === true;
}

class Painter {
  constructor(readonly enabled: boolean) {}
  paint(kind: Verdict | 'dim', text: string): string {
    return this.enabled ? `${ANSI[kind]}${text}${RESET}` : text;
  }
  verdict(v: Verdict, width = 0): string {
    return this.paint(v, LABEL[v].padEnd(width));
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The engine's RunListener: call onRunEnd(run) after the run to print the verdict table. */
export class ConsoleReporter implements RunListener {
  readonly #out: TextSink;
  readonly #paint: Painter;
  readonly #total: number | undefined;
  readonly #steps: boolean;
  /** The test whose start line was printed (its end line then follows it, indented). */
  #started: string | undefined;
  #seen = 0;

  constructor(options: ConsoleReporterOptions = {}) {
    this.#out = options.out ?? process.stdout;
    this.#paint = new Painter(options.color ?? defaultColor(this.#out));
    this.#total = options.total;
    this.#steps = options.steps ?? true;
  }

  #line(text: string): void {
    this.#out.write(text + '\n');
  }

  #counter(): string {
    this.#seen++;
    if (this.#total === undefined) return `[${this.#seen}]`;
    const w = String(this.#total).length;
    return `[${String(this.#seen).padStart(w)}/${this.#total}]`;
  }

  onTestStart(test: { id: string; title: string }): void {
    this.#started = test.id;
    this.#line(`${this.#counter()} ${terminalSafe(test.id)}  ${terminalSafe(test.title)}`);
  }

  onAttemptStart(_test: { id: string }, attempt: number): void {
    if (attempt > 1) this.#line(`      attempt ${attempt}`);
  }

  onStepEnd(_test: { id: string }, step: StepRecord): void {
    if (!this.#steps) return;
    const label = step.verdict === 'pass' ? 'ok' : LABEL[step.verdict];
    const head = `      ${this.#paint.paint(step.verdict, label.padEnd(5))} ${String(step.index + 1).padStart(2)} ${terminalSafe(step.title)}`;
    this.#line(`${head}  ${this.#paint.paint('dim', formatDuration(step.durationMs))}${step.message ? `: ${terminalSafe(step.message, LINES)}` : ''}`);
  }

  onTestEnd(test: TestRecord): void {
    const started = this.#started === test.id;
    this.#started = undefined;
    const prefix = started ? '   ' : `${this.#counter()}`;
    const attempts = test.attempts.length > 1 ? `, ${plural(test.attempts.length, 'attempt')}` : '';
    const why = test.verdict === 'pass' ? '' : ` - ${terminalSafe(failureMessage(test) ?? test.verdict, LINES)}`;
    this.#line(`${prefix} ${this.#paint.verdict(test.verdict)} ${terminalSafe(test.id)} (${formatDuration(test.durationMs)}${attempts})${why}`);
  }

  /** Prints the verdict table, the failures and the summary line. */
  onRunEnd(run: RunRecord): void {
    this.#out.write('\n' + renderVerdictTable(run, { color: this.#paint.enabled }));
  }
}

/** The end-of-run table, failures with their message and first unexpected state change, and a summary line. */
export function renderVerdictTable(run: RunRecord, options: { color?: boolean } = {}): string {
  const paint = new Painter(options.color ?? false);
  const rows = run.tests.map((t) => [terminalSafe(t.id), LABEL[t.verdict], String(t.attempts.length), formatDuration(t.durationMs)]);
  const out = textTable(
    [
      { header: 'ID' },
      { header: 'VERDICT', decorate: (cell, i) => paint.paint(run.tests[i]!.verdict, cell) },
      { header: 'ATTEMPTS', align: 'right' },
      { header: 'DURATION', align: 'right' },
    ],
    rows,
  );

  const bad = run.tests.filter((t) => t.verdict === 'fail' || t.verdict === 'error');
  if (bad.length) {
    out.push('', 'Failures and errors:');
    for (const t of bad) {
      out.push(`  ${paint.verdict(t.verdict)} ${terminalSafe(t.id)}  ${terminalSafe(t.title)}  (${terminalSafe(t.file)})`);
      out.push(`    ${terminalSafe(failureMessage(t) ?? t.verdict, LINES)}`);
      const change = firstUnexpectedChange(t);
      if (change) out.push(`    first unexpected change: ${terminalSafe(describeChange(change))}`);
    }
  }
  const s = runSummary(run);
  const parts = [`${s.passed} passed`, `${s.failed} failed`, `${plural(s.errors, 'error')}`, `${s.skipped} skipped`];
  out.push('', `${plural(s.total, 'test')}: ${parts.join(', ')} in ${formatDuration(run.durationMs)} (run ${run.runId}, target ${terminalSafe(run.target)})${run.interrupted ? `; INTERRUPTED: ${terminalSafe(run.interrupted)}` : ''}`);
  return out.join('\n') + '\n';
}
