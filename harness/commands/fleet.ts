/**
 * `smets-hil fleet --meters N [--prepay-share 0.14] [--smets1-share 0.37] [--adversarial-share 0.05]
 * [--workers auto] [--seed S] [--json]`: a whole SoLR event on N emulated meters of a failed supplier, every
 * message signed and verified, then the invariant on every meter (harness/fleet/). Exit 1 when a meter breaks
 * the invariant, an adversarial request gets through or a switch fails.
 */
import { readdirSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { CliExit, EXIT } from '../cli-exit.ts';
import { writableDirectory } from './inputs.ts';
import { FLEET_DEFAULTS } from '../fleet/plan.ts';
import { FleetProgressBar } from '../fleet/progress.ts';
import { autoWorkers, FleetInterrupted, type FleetReport, runFleet } from '../fleet/run.ts';
import { stopOnSignals } from '../stop-signals.ts';
import { textTable } from '../reporters/text-table.ts';

interface FleetArgs {
  meters: number;
  'prepay-share': number;
  'smets1-share': number;
  'adversarial-share': number;
  workers: string;
  seed: string;
  json: boolean;
  deep: boolean;
  'state-dir'?: string;
}

/**
 * A share, read from the option's text: as a number option, yargs would make `--prepay-share=` 0 (a run with
 * nothing to do, and a PASS) before any check saw it, and hand a repeated one over as a list.
 */
const share = (name: string) => (v: unknown): number => {
  if (Array.isArray(v)) throw new CliExit(EXIT.usage, `--${name} is given more than once`);
  const text = String(v).trim();
  if (text === '') throw new CliExit(EXIT.usage, `--${name} needs a value`);
  const x = Number(text);
  if (!(x >= 0 && x <= 1)) throw new CliExit(EXIT.usage, `--${name} must be between 0 and 1`);
  return x;
};

export const fleetCommand: CommandModule<object, FleetArgs> = {
  command: 'fleet',
  describe: 'replay a whole SoLR event on a fleet of emulated meters, every message signed and verified',
  builder: (y: Argv) =>
    y
      .option('meters', { type: 'number', requiresArg: true, demandOption: true, describe: "meters registered to the failed supplier (plus 1 in 500 of a healthy supplier's)" })
      .option('prepay-share', { type: 'string', requiresArg: true, default: FLEET_DEFAULTS.prepayShare, coerce: share('prepay-share'), describe: 'share of meters in prepayment' })
      .option('smets1-share', { type: 'string', requiresArg: true, default: FLEET_DEFAULTS.smets1Share, coerce: share('smets1-share'), describe: 'share of SMETS1 meters' })
      .option('adversarial-share', { type: 'string', requiresArg: true, default: FLEET_DEFAULTS.adversarialShare, coerce: share('adversarial-share'), describe: 'share of commands that are adversarial (must all be refused)' })
      .option('workers', { type: 'string', requiresArg: true, default: 'auto', describe: 'worker threads, one DCC shard each (auto: one per core)' })
      .option('seed', { type: 'string', requiresArg: true, default: FLEET_DEFAULTS.seed, describe: 'derives the fleet, its keys and the job order' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as one JSON line (the last line on stdout)' })
      .option('deep', { type: 'boolean', default: false, describe: 'compare every meter field by field, not only those a frame reached' })
      .option('state-dir', { type: 'string', requiresArg: true, describe: "keep the shards' DCC stores here (default: a temporary directory, removed)" }) as Argv<FleetArgs>,
  handler: async (args) => {
    if (!Number.isInteger(args.meters) || args.meters < 1) throw new CliExit(EXIT.usage, '--meters must be a positive integer');
    if (args['adversarial-share'] >= 1) throw new CliExit(EXIT.usage, '--adversarial-share must be below 1');
    const workers = args.workers === 'auto' ? autoWorkers() : Number(args.workers);
    if (!Number.isInteger(workers) || workers < 1) throw new CliExit(EXIT.usage, '--workers must be auto or a positive integer');
    const refusal = memoryRefusal({ meters: args.meters, workers, prepayShare: args['prepay-share'], adversarialShare: args['adversarial-share'] }, totalmem());
    if (refusal) throw new CliExit(EXIT.usage, refusal);
    for (const note of workerNotes(workers, args.meters, autoWorkers(), args.workers !== 'auto')) process.stderr.write(`note: ${note}\n`);
    const bar = new FleetProgressBar();
    // Ctrl-C stops the shards and removes their temporary stores (a Bulb-sized run leaves about 1 GB).
    const stop = stopOnSignals();
    let report: FleetReport;
    try {
      report = await runFleet({
        meters: args.meters,
        prepayShare: args['prepay-share'],
        smets1Share: args['smets1-share'],
        adversarialShare: args['adversarial-share'],
        workers,
        seed: args.seed,
        deep: args.deep,
        ...(args['state-dir'] ? { stateDir: emptyStateDirectory(args['state-dir']) } : {}),
        onPhase: (m) => {
          bar.stop();
          process.stderr.write(`${m}\n`);
        },
        onProgress: (p) => bar.update(p),
        signal: stop.signal,
      });
    } catch (e) {
      if (e instanceof FleetInterrupted) throw new CliExit(EXIT.interrupted, `interrupted: the shards were stopped${args['state-dir'] ? '' : ' and their temporary stores removed'}`);
      throw e;
    } finally {
      stop.dispose();
      bar.stop();
    }
    if (args.json) {
      process.stderr.write(detailsText(report));
      process.stdout.write(JSON.stringify(report.summary) + '\n');
    } else {
      process.stdout.write(summaryText(report) + detailsText(report));
    }
    if (!report.passed) throw new CliExit(EXIT.failed, 'the fleet run failed: see the problems above');
  },
};

const n = (v: number) => v.toLocaleString('en-GB');

/**
 * A fleet run starts from fresh DCC stores. Stores a run left behind would carry on that DCC's life (its ADT
 * counts, requests, Pre-Commands), so the new event's quarantine threshold would be met early and its requests
 * held: a directory that holds anything is refused.
 */
function emptyStateDirectory(dir: string): string {
  writableDirectory(dir, 'state-dir');
  if (readdirSync(dir).length > 0) throw new CliExit(EXIT.usage, `--state-dir ${dir}: not empty (a fleet run starts from fresh DCC stores; name a new or empty directory)`);
  return dir;
}

/**
 * Peak memory a fleet run is expected to need, on the high side of what was measured (README: Fleet figures):
 * about 0.25 GB for the process, then about 90 MB per shard (each is a V8 isolate with a DCC of its own), taken
 * here as 100 MiB, and about 0.7 KB per meter, taken as 1 KiB, and as much per command sent.
 */
export function memoryNeeded(meters: number, shards: number, commands: number): number {
  return 256 * 2 ** 20 + shards * 100 * 2 ** 20 + (meters + commands) * 1024;
}

export interface FleetSize {
  meters: number;
  workers: number;
  prepayShare: number;
  adversarialShare: number;
}

/**
 * Why a run of this size would not fit in `available` bytes, naming the option to change (undefined if it fits).
 * The commands are estimated from the shares (the switches, and as many adversarial requests again as make up
 * their share), so an adversarial share close to 1 is refused here instead of a shard failing to allocate them.
 */
export function memoryRefusal(f: FleetSize, available: number): string | undefined {
  // As runFleet makes them: one shard per worker, at most one per meter.
  const shards = Math.min(f.workers, f.meters);
  const switches = f.meters * f.prepayShare;
  const commands = Math.ceil(switches / (1 - f.adversarialShare));
  const needed = memoryNeeded(f.meters, shards, commands);
  if (needed <= available) return undefined;
  const gib = (b: number) => (b / 2 ** 30).toFixed(1);
  const about = `about ${gib(needed)} GiB of memory and this machine has ${gib(available)} GiB`;
  if (memoryNeeded(f.meters, 1, switches) > available) return `--meters ${f.meters}: a fleet this size needs ${about}; split it across machines (README: Splitting a larger run across machines)`;
  if (memoryNeeded(f.meters, 1, commands) > available) return `--adversarial-share ${f.adversarialShare}: about ${n(commands)} commands for ${n(f.meters)} meters need ${about}; give a smaller share`;
  return `--workers ${f.workers}: ${shards} shards (about 100 MiB each) need ${about}; give fewer workers (one per core is the fastest)`;
}

export function summaryText(r: FleetReport): string {
  const s = r.summary;
  const rows = [
    ['meters', n(s.meters)],
    ['commands sent', n(s.commandsSent)],
    ['switches applied by meters', n(s.commandsApplied)],
    ['adversarial refused', `${n(s.refused)} of ${n(r.tally.adversarial)}`],
    ['event seconds', s.seconds.toFixed(1)],
    ['commands per second', s.commandsPerSecond.toFixed(1)],
    ['peak RSS', `${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB`],
    ['invariant violations', n(s.invariantViolations)],
    ['crypto ops (sign / verify / ECDH)', `${n(s.cryptoOps.sign)} / ${n(s.cryptoOps.verify)} / ${n(s.cryptoOps.ecdh)}`],
  ];
  return textTable([{ header: 'FLEET' }, { header: 'VALUE', align: 'right' }], rows).join('\n') + '\n';
}

export function detailsText(r: FleetReport): string {
  const codes = Object.entries(r.tally.codes)
    .sort()
    .map(([c, k]) => `${c} ${n(k)}`)
    .join(', ');
  const lines = [
    `${r.workers} shard(s), ${n(r.emulated)} meters emulated; set up in ${r.setupSeconds} s, invariant checked in ${r.checkSeconds} s (${n(r.invariant.checked)} meters, ${n(r.invariant.compared)} compared field by field)`,
    `outcomes: ${codes || 'none'}`,
    ...(r.tally.switches === 0 ? ['note: no meter of this fleet is in prepayment, so there was nothing to switch (more --meters, or a larger --prepay-share)'] : []),
    ...r.tally.problems.map((p) => `problem: ${p}`),
    ...(r.strayDeliveries ? [`problem: ${n(r.strayDeliveries)} deliveries no job waited for, or that did not verify`] : []),
    ...r.invariant.examples.map((e) => `violation: ${e}`),
    r.passed ? 'PASS: every switch applied, every adversarial request refused, every other meter untouched' : 'FAIL',
  ];
  return lines.join('\n') + '\n';
}

/** What a user asking for `workers` on `meters` meters and `cores` cores should know before the run. */
export function workerNotes(workers: number, meters: number, cores: number, asked: boolean): string[] {
  const notes: string[] = [];
  // runFleet makes no more shards than meters; someone who asked for more is told.
  if (workers > meters && asked) notes.push(`--workers ${workers} for ${meters} meter(s): ${meters} shard(s), as a shard needs at least one meter`);
  const shards = Math.min(workers, meters);
  if (shards > cores) notes.push(`${shards} shards on ${cores} core(s): each sets up a DCC of its own, so shards beyond one per core lengthen the set-up and contend for the cores`);
  return notes;
}
