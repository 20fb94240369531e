/**
 * `smets-hil history [--db FILE] [--limit N] [--test ID [--with-defects]] [--json]`: past runs, newest first, or one test's
 * verdicts across runs with a hint when it looks flaky.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { CliExit, EXIT } from '../cli-exit.ts';
import { defaultHistoryPath, History, type RunRow, summarizeTestHistory, type TestVerdictRow } from '../history.ts';
import { terminalSafe } from '../reporters/console.ts';
import { formatDuration } from '../reporters/run-facts.ts';
import { textTable } from '../reporters/text-table.ts';

interface HistoryArgs {
  db?: string;
  limit: number;
  test?: string;
  withDefects: boolean;
  json: boolean;
}

function runsText(rows: readonly RunRow[]): string {
  const table = textTable(
    [
      { header: 'STARTED' },
      { header: 'RUN' },
      { header: 'TARGET' },
      { header: 'TOTAL', align: 'right' },
      { header: 'PASSED', align: 'right' },
      { header: 'FAILED', align: 'right' },
      { header: 'ERRORS', align: 'right' },
      { header: 'SKIPPED', align: 'right' },
      { header: 'DURATION', align: 'right' },
      { header: 'EVIDENCE' },
    ],
    // Every cell as a terminal must show it: a history file given with --db may hold anything.
    rows.map((r) => [r.startedAt, r.runId, `${r.target}${r.defects.length ? ` +defects ${r.defects.join(',')}` : ''}${r.interrupted ? ' (interrupted)' : ''}`, String(r.total), String(r.passed), String(r.failed), String(r.errors), String(r.skipped), formatDuration(r.durationMs), r.evidenceDir ?? '-'].map((cell) => terminalSafe(cell))),
  );
  return table.join('\n') + '\n';
}

function testText(testId: string, rows: readonly TestVerdictRow[], leftOut: number): string {
  const s = summarizeTestHistory(rows);
  const latest = rows[0];
  const table = textTable(
    [{ header: 'STARTED' }, { header: 'RUN' }, { header: 'VERDICT' }, { header: 'ATTEMPTS', align: 'right' }, { header: 'DURATION', align: 'right' }, { header: 'MESSAGE' }],
    rows.map((r) => [r.startedAt, r.runId, r.verdict, String(r.attempts), formatDuration(r.durationMs), r.message ?? ''].map((cell) => terminalSafe(cell))),
  );
  const counts = `${s.counts.pass} pass, ${s.counts.fail} fail, ${s.counts.error} error, ${s.counts.skip} skip`;
  const verdictLine = `${s.runs} run${s.runs === 1 ? '' : 's'}: ${counts}; verdict changed ${s.flips} time${s.flips === 1 ? '' : 's'}; passed only after a retry in ${s.passedAfterRetry}`;
  const stopped = s.interruptedErrors ? [`${s.interruptedErrors} error${s.interruptedErrors === 1 ? '' : 's'} the run's interruption caused (the run was stopped, not the test) not counted as flaky`] : [];
  const seeded = leftOut ? [`${leftOut} verdict${leftOut === 1 ? '' : 's'} from runs with seeded defects left out (--with-defects to show them)`] : [];
  return [`${terminalSafe(testId)}${latest ? `: ${terminalSafe(latest.title)} (${terminalSafe(latest.file)})` : ''}`, '', ...table, '', verdictLine + (s.flaky ? ' - looks FLAKY' : ''), ...stopped, ...seeded, ''].join('\n');
}

export const historyCommand: CommandModule<object, HistoryArgs> = {
  command: 'history',
  describe: 'list past runs (newest first), or one test\'s verdicts across runs with --test',
  builder: (y: Argv) =>
    y
      .option('db', { type: 'string', requiresArg: true, describe: `history database (default ${'.smets-hil/history.sqlite'} under the working directory)` })
      .option('limit', { type: 'number', requiresArg: true, default: 20, describe: 'at most this many runs' })
      .option('test', { type: 'string', requiresArg: true, describe: 'show this test id\'s verdict history' })
      .option('with-defects', { type: 'boolean', default: false, describe: 'with --test: include runs that seeded defects (negative controls, left out by default)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' }) as unknown as Argv<HistoryArgs>,
  handler: (args) => {
    if (!Number.isSafeInteger(args.limit) || args.limit < 1) throw new CliExit(EXIT.usage, `--limit must be a positive integer, got ${args.limit}`);
    if (args.withDefects && args.test === undefined) throw new CliExit(EXIT.usage, '--with-defects goes with --test ID: the run list always shows runs that seeded defects');
    const file = args.db !== undefined ? resolve(args.db) : defaultHistoryPath();
    if (!existsSync(file)) {
      // A file named that is not there is a mistyped path: answering "nothing recorded" would pass a CI flake gate.
      if (args.db !== undefined) throw new CliExit(EXIT.usage, `--db ${args.db}: no such file`);
      // No history yet at the default place is an ordinary state (a fresh clone), not an error.
      if (args.json) process.stdout.write(args.test === undefined ? '[]\n' : JSON.stringify({ testId: args.test, summary: summarizeTestHistory([]), runs: [], seededLeftOut: 0 }) + '\n');
      else process.stdout.write(`no run history yet: ${file} does not exist\n`);
      return;
    }
    let history: History | undefined;
    try {
      history = History.open(file, { readonly: true });
      if (args.test === undefined) {
        const rows = history.runs(args.limit);
        process.stdout.write(args.json ? JSON.stringify(rows, null, 2) + '\n' : rows.length ? runsText(rows) : `no runs recorded in ${file}\n`);
        return;
      }
      const rows = history.testHistory(args.test, args.limit, { withDefects: args.withDefects });
      const leftOut = args.withDefects ? 0 : history.seededVerdicts(args.test);
      if (rows.length === 0 && leftOut === 0) {
        const like = history.testIdsLike(args.test);
        throw new CliExit(EXIT.usage, `no verdicts recorded for test ${JSON.stringify(args.test)} in ${file}${like.length ? `; did you mean: ${like.join(', ')}` : ''}`);
      }
      process.stdout.write(args.json ? JSON.stringify({ testId: args.test, summary: summarizeTestHistory(rows), runs: rows, seededLeftOut: leftOut }, null, 2) + '\n' : testText(args.test, rows, leftOut));
    } catch (e) {
      if (e instanceof CliExit) throw e;
      throw new CliExit(EXIT.infrastructure, `cannot read the run history ${file}: ${(e as Error).message}`);
    } finally {
      history?.close();
    }
  },
};
