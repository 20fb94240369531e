/**
 * `smets-hil run [PATH...]`: runs scenarios (default: the MP134B PIT pack) against emulated meters or a rig,
 * prints live progress and a verdict table, writes the requested reports, an evidence bundle and the run
 * history. Exit codes: 0 all passed, 1 a scenario failed, 2 usage error, 3 infrastructure error.
 *
 * `smets-hil list [PATH...]`: the scenarios that would run, after filters.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { ALL_DEFECTS, isDefect, splitDefects } from '../defects.ts';
import type { DevicePool } from '../engine/device-pool.ts';
import { runScenarios } from '../engine/runner.ts';
import { checkHistoryFile, DEFAULT_HISTORY_FILE, historyPath, recordRun, SQLITE_SIDE_FILES } from '../history.ts';
import { EmulatedPool } from '../pools/emulated.ts';
import { type RigPools, rigPools } from '../pools/rig.ts';
import type { RigSessionOptions } from '../../devices/rig/session.ts';
import { ZigbeeRigLinks, type ZigbeeRigLinksOptions } from '../../devices/rig/zigbee-links.ts';
import type { MeterDefect } from '../../devices/smets2/meter.ts';
import { checkDistinctReportFiles, ConsoleReporter, parseReportSpec, type ReportSpec, ReportSpecError, renderVerdictTable, terminalSafe, writeEvidenceBundle, writeReports } from '../reporters/index.ts';
import { exitCodeFor, type RunRecord } from '../results.ts';
import { type LoadedScenario, loadScenarios, matchesTags, ScenarioLoadError } from '../scenarios/loader.ts';
import { CliExit, EXIT } from '../cli-exit.ts';
import { stopOnSignals } from '../stop-signals.ts';
import { timeLimitArg, writableDirectory, writableFile } from './inputs.ts';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_PACK = join(PACKAGE_ROOT, 'scenarios', 'mp134b');

const LEVELS = ['smoke', 'pit', 'nightly'] as const;
type Level = (typeof LEVELS)[number];
/** A level runs its own scenarios and those of the levels below it. */
const LEVEL_INCLUDES: Record<Level, readonly string[]> = { smoke: ['smoke'], pit: ['smoke', 'pit'], nightly: ['smoke', 'pit', 'nightly'] };

interface SelectArgs {
  paths: string[];
  tags?: string;
  level: Level;
  grep?: string;
}

function select(args: SelectArgs): LoadedScenario[] {
  let scenarios: LoadedScenario[];
  try {
    scenarios = loadScenarios(args.paths.length ? args.paths : [DEFAULT_PACK]);
  } catch (e) {
    if (e instanceof ScenarioLoadError) throw new CliExit(EXIT.usage, `scenario files are invalid:\n${e.message}`);
    throw e;
  }
  let grep: RegExp | null = null;
  try {
    if (args.grep) grep = new RegExp(args.grep);
  } catch (e) {
    throw new CliExit(EXIT.usage, `--grep ${args.grep}: ${(e as Error).message}`);
  }
  const wanted = scenarios.filter((s) => matchesTags(s.tags, args.tags) && (!grep || grep.test(s.id)));
  const atLevel = wanted.filter((s) => LEVEL_INCLUDES[args.level].includes(s.level));
  // Said, not dropped in silence: a nightly scenario in a file named on the command line is easily taken as run.
  const leftOut = wanted.length - atLevel.length;
  if (leftOut) process.stderr.write(`${leftOut} scenario${leftOut === 1 ? '' : 's'} left out by --level ${args.level} (${[...new Set(wanted.filter((s) => !atLevel.includes(s)).map((s) => s.level))].join(', ')}): --level nightly includes every level\n`);
  return atLevel;
}

function selectOptions<T>(y: Argv<T>) {
  return y
    .positional('paths', { type: 'string', array: true, default: [] as string[], describe: 'scenario files or folders (default: the MP134B PIT pack)' })
    .option('tags', { type: 'string', requiresArg: true, describe: 'run scenarios with any of these tags (BR5,smets1); + joins tags that must all be present (BR5+smets1)' })
    .option('level', { type: 'string', requiresArg: true, choices: LEVELS, default: 'pit' as Level, describe: 'smoke, pit (smoke and pit) or nightly (all)' })
    .option('grep', { type: 'string', requiresArg: true, describe: 'only scenario ids matching this regular expression' });
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

interface RunArgs extends SelectArgs {
  report: string[];
  evidence?: string;
  history: boolean;
  historyDb?: string;
  defect: string[];
  timeout?: string;
  scenarioTimeout?: string;
  stepTimeout?: string;
  deviceTimeout?: string;
  steps: boolean;
  rig?: string;
  leaseDir?: string;
}

function parseDuration(text: string | undefined, option: string): number | undefined {
  return text === undefined ? undefined : timeLimitArg(text, option);
}

/** herdsman's errors on stderr; its other levels are for a bench engineer's own debugging. */
export const herdsmanErrorsToStderr: NonNullable<ZigbeeRigLinksOptions['log']> = (level, m) => {
  if (level === 'error') process.stderr.write(`zigbee: ${m}\n`);
};

/**
 * The pools of `run --rig FILE`: the rig session with the ZigBee link factory (devices/rig/zigbee-links.ts), so
 * ZigBee devices are reached too. Bad ZigBee parameters make the rig file invalid (usage error, each with its
 * line). Closing closes the session (its links, emulators and leases), then stops the ZigBee network.
 */
export function rigRunPools(file: string, o: { defects?: readonly MeterDefect[]; zigbee?: ZigbeeRigLinksOptions } & Omit<RigSessionOptions, 'zigbee'> = {}): RigPools & { zigbee: ZigbeeRigLinks } {
  const { zigbee: zigbeeOptions, ...options } = o;
  // rigPools reads and checks the rig file first (a usage error when it is invalid).
  const pools = rigPools(file, { ...options, zigbee: (params, device) => zigbee.link(params, device) });
  const zigbee = new ZigbeeRigLinks(pools.rig, zigbeeOptions);
  return {
    rig: pools.rig,
    target: pools.target,
    pool: pools.pool,
    session: pools.session,
    zigbee,
    async close() {
      try {
        await pools.close();
      } finally {
        await zigbee.close();
      }
    },
  };
}

async function poolFactory(args: RunArgs): Promise<{ pool: () => Promise<DevicePool>; target: string; close?: () => Promise<void> }> {
  const defects = splitDefects(args.defect.filter(isDefect)).meter;
  if (args.rig) {
    return rigRunPools(args.rig, { defects, zigbee: { log: herdsmanErrorsToStderr }, ...(args.leaseDir ? { leaseDir: args.leaseDir } : {}) });
  }
  return { pool: async () => new EmulatedPool({ defects }), target: 'emulated' };
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run [paths..]',
  describe: 'run scenarios (default: the MP134B PIT pack on emulated meters) and report verdicts',
  builder: (y: Argv) =>
    selectOptions(y)
      .option('report', { type: 'string', array: true, requiresArg: true, default: [] as string[], describe: 'FORMAT=FILE, FORMAT json, junit or html (repeatable)' })
      .option('evidence', { type: 'string', requiresArg: true, describe: 'write an evidence bundle (reports, device logs, traffic, SHA-256 manifest) under this folder' })
      .option('history', { type: 'boolean', default: true, describe: 'record the run in the run history (--no-history to skip)' })
      .option('history-db', { type: 'string', requiresArg: true, describe: 'run history database (default .smets-hil/history.sqlite)' })
      .option('defect', { type: 'string', array: true, requiresArg: true, default: [] as string[], describe: 'seed a defect into the mock DCC or the meters (negative controls; see README)' })
      .option('timeout', { type: 'string', requiresArg: true, describe: 'whole-run limit (scenarios not started by then are skipped)' })
      .option('scenario-timeout', { type: 'string', requiresArg: true, describe: 'per-scenario limit (default 5m)' })
      .option('step-timeout', { type: 'string', requiresArg: true, describe: 'per-step limit (default 60s)' })
      .option('device-timeout', { type: 'string', requiresArg: true, describe: "how long to wait for a device's answer (default 10s)" })
      .option('steps', { type: 'boolean', default: false, describe: 'print every step as it ends' })
      .option('rig', { type: 'string', requiresArg: true, describe: "run on a rig's devices (a rig inventory YAML, e.g. rigs/emulated-serial.yaml) instead of in-process meters" })
      .option('lease-dir', { type: 'string', requiresArg: true, implies: 'rig', describe: "with --rig: where the rig's leases live, as for the rig commands (default: the rig file's leases.dir, $SMETS_HIL_LEASE_DIR or <tmp>/smets-hil-leases)" }) as unknown as Argv<RunArgs>,
  handler: async (args) => {
    let reports;
    try {
      reports = args.report.map(parseReportSpec);
      checkDistinctReportFiles(reports);
    } catch (e) {
      if (e instanceof ReportSpecError) throw new CliExit(EXIT.usage, e.message);
      throw e;
    }
    for (const d of args.defect) if (!isDefect(d)) throw new CliExit(EXIT.usage, `--defect ${d}: unknown; known: ${Object.keys(ALL_DEFECTS).join(', ')}`);
    const timeouts = {
      run: parseDuration(args.timeout, 'timeout'),
      scenario: parseDuration(args.scenarioTimeout, 'scenario-timeout'),
      step: parseDuration(args.stepTimeout, 'step-timeout'),
      device: parseDuration(args.deviceTimeout, 'device-timeout'),
    };
    const scenarios = selectSome(args);
    // Where the results go is checked before the run: a run is not made for output that cannot be kept.
    checkOutputsApart(reports, args, scenarios);
    for (const r of reports) writableFile(r.file, 'report');
    if (args.evidence) writableDirectory(args.evidence, 'evidence');
    if (args.history && args.historyDb) writableFile(args.historyDb, 'history-db');
    if (args.history) {
      try {
        checkHistoryFile(args.historyDb);
      } catch (e) {
        throw new CliExit(EXIT.usage, `${args.historyDb === undefined ? 'the run history' : `--history-db ${args.historyDb}`}: ${(e as Error).message}`);
      }
    }
    const { pool, target, close } = await poolFactory(args);
    const reporter = new ConsoleReporter({ total: scenarios.length, steps: args.steps });
    // Ctrl-C or a CI job's SIGTERM ends the step under way and skips the rest; what ran is still reported.
    const stop = stopOnSignals();
    stop.signal.addEventListener('abort', () => process.stderr.write('\ninterrupted: ending the step under way, then writing the results of what ran\n'), { once: true });
    try {
      let run;
      let unreleased: string | undefined;
      try {
        run = await runScenarios(scenarios, {
          signal: stop.signal,
          pool,
          target,
          listener: reporter,
          defects: splitDefects(args.defect.filter(isDefect)).dcc,
          version: version(),
          // What decided which scenarios ran and how long they had, as given: a report must not read as a full run
          // when --grep chose five tests, nor hide that a time limit was set.
          options: {
            paths: args.paths,
            tags: args.tags ?? null,
            level: args.level,
            grep: args.grep ?? null,
            defects: args.defect,
            timeouts: { run: args.timeout ?? null, scenario: args.scenarioTimeout ?? null, step: args.stepTimeout ?? null, device: args.deviceTimeout ?? null },
            ...(args.rig ? { rig: args.rig } : {}),
          },
          ...(timeouts.run !== undefined ? { runTimeoutMs: timeouts.run } : {}),
          ...(timeouts.scenario !== undefined ? { scenarioTimeoutMs: timeouts.scenario } : {}),
          ...(timeouts.step !== undefined ? { stepTimeoutMs: timeouts.step } : {}),
          ...(timeouts.device !== undefined ? { deviceTimeoutMs: timeouts.device } : {}),
        });
      } finally {
        // A rig's devices are released and its ZigBee network stopped (it would keep the process alive). A
        // release that fails does not cost the run its results: they are written, and the run exits 3.
        try {
          await close?.();
        } catch (e) {
          unreleased = `cannot release the run's devices: ${(e as Error).message}`;
          if (!run) process.stderr.write(unreleased + '\n');
        }
      }
      process.stdout.write('\n' + renderVerdictTable(run, { color: process.stdout.isTTY === true && !process.env.NO_COLOR }) + '\n');
      const lost = await writeOutputs(run, reports, args);
      if (unreleased) lost.push(unreleased);
      if (lost.length) throw new CliExit(EXIT.infrastructure, lost.join('\n'));
      // What the reports say decides it: a signal after the last scenario ended (while the devices were released or
      // the outputs written) interrupted nothing they report, and is only absorbed.
      if (run.interrupted) throw new CliExit(EXIT.interrupted, 'interrupted: the scenarios not started are reported as skipped');
      const code = exitCodeFor(run.summary);
      if (code !== EXIT.ok) throw new CliExit(code, '');
    } finally {
      stop.dispose(); // a second signal, until the results are written, is absorbed
    }
  },
};

/** A path as writing it will reach it: symbolic links followed as far as the path exists, so two names for one file are one. */
function realPath(path: string): string {
  const full = resolve(path);
  try {
    return realpathSync(full);
  } catch {
    const parent = dirname(full);
    return parent === full ? full : join(realPath(parent), basename(full));
  }
}

/**
 * Refuses outputs that would write over each other or over what the run reads: a report on the run history (or
 * the files SQLite keeps beside it) would destroy past runs, one on a scenario, world or rig file would replace
 * it, and a file where another output needs a folder fails only after the run. The evidence folder may hold other
 * outputs: each bundle goes into a new folder of its own under it.
 */
function checkOutputsApart(reports: readonly ReportSpec[], args: RunArgs, scenarios: readonly LoadedScenario[]): void {
  const outputs: { label: string; path: string; folder: boolean }[] = reports.map((r) => ({ label: `--report ${r.format}=${r.file}`, path: realPath(r.file), folder: false }));
  const inputs = new Map<string, string>();
  for (const s of scenarios) {
    inputs.set(realPath(s.file), `the scenario file ${s.file}`);
    if (s.worldFile) inputs.set(realPath(s.worldFile), `the world file ${relative(process.cwd(), s.worldFile)}`);
  }
  if (args.rig) inputs.set(realPath(args.rig), `the rig file ${args.rig}`);
  for (const report of outputs) {
    const input = inputs.get(report.path);
    if (input) throw new CliExit(EXIT.usage, `${report.label} would write over ${input}, which this run reads`);
  }
  if (args.evidence) outputs.push({ label: `--evidence ${args.evidence}`, path: realPath(args.evidence), folder: true });
  if (args.history) {
    const label = args.historyDb === undefined ? `the run history ${DEFAULT_HISTORY_FILE}` : `--history-db ${args.historyDb}`;
    const db = realPath(historyPath(args.historyDb));
    outputs.push({ label, path: db, folder: false });
    for (const side of SQLITE_SIDE_FILES) outputs.push({ label: `${label} (its ${basename(db)}${side})`, path: db + side, folder: false });
  }
  outputs.forEach((a, i) => {
    for (const b of outputs.slice(i + 1)) {
      if (a.path === b.path) throw new CliExit(EXIT.usage, `${a.label} and ${b.label} name the same ${a.folder || b.folder ? 'path' : 'file'}`);
      const [outer, inner] = b.path.startsWith(a.path + sep) ? [a, b] : a.path.startsWith(b.path + sep) ? [b, a] : [];
      if (outer && inner && !outer.folder) throw new CliExit(EXIT.usage, `${outer.label} and ${inner.label} collide: the first is written as a file, the second inside it`);
    }
  });
}

/** Writes the reports, evidence and history of a run, each even if another cannot be; returns what was lost. */
async function writeOutputs(run: RunRecord, reports: readonly ReportSpec[], args: RunArgs): Promise<string[]> {
  // The disk may fill during the run; any output lost is an infrastructure failure of the run.
  const lost: string[] = [];
  const keep = async (what: string, write: () => Promise<void> | void) => {
    try {
      await write();
    } catch (e) {
      lost.push(`cannot write ${what}: ${(e as Error).message}`);
    }
  };
  for (const spec of reports) {
    await keep(`report ${spec.file}`, async () => {
      for (const path of await writeReports(run, [spec])) process.stdout.write(`report: ${path}\n`);
    });
  }
  let evidenceDir: string | undefined;
  if (args.evidence) {
    await keep(`the evidence bundle under ${args.evidence}`, async () => {
      const bundle = await writeEvidenceBundle(run, args.evidence!);
      evidenceDir = bundle.dir;
      // The manifest's own hash, to keep apart from the bundle: it shows the manifest was not rewritten since.
      process.stdout.write(`evidence: ${bundle.dir}\nevidence manifest sha256: ${bundle.manifestSha256}\n`);
    });
  }
  if (args.history) {
    await keep('the run history', () => {
      recordRun(run, { ...(args.historyDb ? { db: args.historyDb } : {}), ...(evidenceDir ? { evidenceDir } : {}) });
    });
  }
  return lost;
}

/** The scenarios selected; none is a usage error for list as for run (a mistyped tag must not look like an empty pack). */
function selectSome(args: SelectArgs): LoadedScenario[] {
  const scenarios = select(args);
  if (scenarios.length === 0) throw new CliExit(EXIT.usage, 'no scenario matches the paths, tags, level and grep given');
  return scenarios;
}

export const listCommand: CommandModule<object, SelectArgs> = {
  command: 'list [paths..]',
  describe: 'list the scenarios a run would execute',
  builder: (y: Argv) => selectOptions(y) as unknown as Argv<SelectArgs>,
  handler: (args) => {
    const scenarios = selectSome(args);
    const width = Math.max(...scenarios.map((s) => s.id.length), 2);
    for (const s of scenarios) process.stdout.write(`${s.id.padEnd(width)}  ${s.level.padEnd(7)}  [${s.tags.join(',')}]  ${terminalSafe(s.title)}\n`);
    process.stdout.write(`${scenarios.length} scenario(s)\n`);
  },
};
