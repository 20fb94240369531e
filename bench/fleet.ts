/**
 * The fleet benchmark: a SoLR event on a fleet of emulated meters (harness/fleet) beside node:crypto's raw P-256
 * sign, verify and ECDH rates measured in the same run on as many threads as the fleet uses (before and after
 * the event, averaged, so load from elsewhere weighs on both sides alike). Prints the ratio of the switches per
 * second achieved to the crypto-bound limit: what all cores could do if a switch cost nothing but 6 signs,
 * 6 verifies and 2 ECDH (the issue's figure), with the operations this run counted per switch beside it (SMETS2+
 * and SMETS1 switches mixed, adversarial requests' included). A benchmark, not a test: nothing here fails on time.
 *
 *   npm run bench [-- --meters 100000] [-- --workers 2] [-- --probe-seconds 3]   (or --meters=100000, ...)
 */
import { totalmem } from 'node:os';
import { memoryRefusal } from '../harness/commands/fleet.ts';
import { cryptoBoundLimit, type CryptoRates, measureCryptoRates, PER_SWITCH } from '../harness/fleet/crypto-rates.ts';
import { FLEET_DEFAULTS } from '../harness/fleet/plan.ts';
import { autoWorkers, FleetInterrupted, runFleet } from '../harness/fleet/run.ts';
import { stopOnSignals } from '../harness/stop-signals.ts';
import { BenchOptions } from './options.ts';

const USAGE = 'usage: npm run bench [-- --meters 100000] [-- --workers auto|N] [-- --probe-seconds 3]';

/** The options; anything wrong is refused before the probe, so a bad option costs nothing. */
function benchOptions(): { meters: number; workers: number; probeSeconds: number } {
  const options = new BenchOptions(USAGE, ['meters', 'workers', 'probe-seconds']);
  const meters = options.integer('meters', 100_000);
  const w = options.text('workers', 'auto');
  const workers = w === 'auto' ? autoWorkers() : Number(w);
  if (!Number.isSafeInteger(workers) || workers < 1) options.refuse(`--workers ${w}: auto or a whole number of at least 1`);
  const probeSeconds = options.seconds('probe-seconds', 3);
  const tooLarge = memoryRefusal({ meters, workers, prepayShare: FLEET_DEFAULTS.prepayShare, adversarialShare: FLEET_DEFAULTS.adversarialShare }, totalmem());
  if (tooLarge) options.refuse(tooLarge);
  return { meters, workers, probeSeconds };
}

const { meters, workers, probeSeconds } = benchOptions();

const k = (v: number) => Math.round(v).toLocaleString('en-GB');
const log = (s: string) => process.stderr.write(s + '\n');
const mean = (a: CryptoRates, b: CryptoRates): CryptoRates => ({ sign: (a.sign + b.sign) / 2, verify: (a.verify + b.verify) / 2, ecdh: (a.ecdh + b.ecdh) / 2 });
const triple = (r: CryptoRates) => `${k(r.sign)} / ${k(r.verify)} / ${k(r.ecdh)}`;

log(`raw node:crypto P-256 rates on ${workers} thread(s) (${probeSeconds} s)...`);
const before = await measureCryptoRates(workers, probeSeconds);
log(`fleet: ${k(meters)} meters, ${workers} worker(s)...`);
let lastShown = 0;
// Ctrl-C removes the shards' temporary stores before the process ends.
const stop = stopOnSignals();
const report = await runFleet({
  meters,
  prepayShare: FLEET_DEFAULTS.prepayShare,
  smets1Share: FLEET_DEFAULTS.smets1Share,
  adversarialShare: FLEET_DEFAULTS.adversarialShare,
  workers,
  seed: FLEET_DEFAULTS.seed,
  onPhase: log,
  onProgress: (p) => {
    if (p.done - lastShown >= p.total / 10 || p.done === p.total) {
      lastShown = p.done;
      log(`  ${k(p.done)} / ${k(p.total)} commands`);
    }
  },
  signal: stop.signal,
})
  .catch((e: unknown) => {
    if (!(e instanceof FleetInterrupted)) throw e;
    log('interrupted: the shards were stopped and their temporary stores removed');
    process.exit(130);
  })
  .finally(() => stop.dispose());
log('raw rates again...');
const after = await measureCryptoRates(workers, probeSeconds);
const wall = mean(before.wall, after.wall);
const cpu = mean(before.cpu, after.cpu);

const s = report.summary;
const limit = cryptoBoundLimit(wall);
const switched = s.commandsApplied;
const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
// Everything from here on is per switch: with none applied there is nothing to divide by (NaN, Infinity).
const none = report.tally.switches === 0 ? `no meter of these ${k(meters)} is in prepayment (give more --meters)` : `none of the ${k(report.tally.switches)} switches sent was applied`;
const switchesPerSecond = switched / s.seconds;
const ratio = switchesPerSecond / limit;
// The same ratio on CPU time: switches per CPU second of the event against the limit per CPU second.
const cpuRatio = switched / report.eventCpuSeconds / cryptoBoundLimit(cpu);
// How much of the event's CPU time the counted operations take at the raw per-CPU-second rates.
const cryptoCpuSeconds = s.cryptoOps.sign / cpu.sign + s.cryptoOps.verify / cpu.verify + s.cryptoOps.ecdh / cpu.ecdh;
const counted = { sign: s.cryptoOps.sign / switched, verify: s.cryptoOps.verify / switched, ecdh: s.cryptoOps.ecdh / switched };
// CPU milliseconds per switch: the limit's, the counted operations' as they ran and at raw rates, everything else.
const ms = (seconds: number) => (seconds * 1000) / switched;
const limitMs = 1000 / cryptoBoundLimit(cpu);
const cryptoMs = ms(report.cryptoSeconds);
const otherMs = ms(report.eventCpuSeconds) - cryptoMs;

const rows: [string, string][] = [
  ['raw sign / verify / ECDH per second, all threads', triple(wall)],
  ['  before / after the fleet', `${triple(before.wall)}  |  ${triple(after.wall)}`],
  [`crypto-bound limit (${PER_SWITCH.sign} sign + ${PER_SWITCH.verify} verify + ${PER_SWITCH.ecdh} ECDH per switch)`, `${k(limit)} switches/s`],
  // Beside the limit's mix, the one this run had: SMETS2+ and SMETS1 switches together, and the adversarial
  // requests' operations spread over the switches.
  ...(switched ? [['  crypto ops counted per switch in this run (sign / verify / ECDH)', `${counted.sign.toFixed(2)} / ${counted.verify.toFixed(2)} / ${counted.ecdh.toFixed(2)}`] as [string, string]] : []),
  ['fleet: switches applied / commands sent', `${k(switched)} / ${k(s.commandsSent)}`],
  ['fleet: event seconds', s.seconds.toFixed(1)],
  ...(switched
    ? ([
        ['fleet: switches per second', switchesPerSecond.toFixed(1)],
        ['RATIO switches per second / crypto-bound limit', ratio.toFixed(3)],
        ['  the same on CPU time (other processes do not count)', cpuRatio.toFixed(3)],
        ["share of the event's CPU time the counted ops take at raw rates", `${((cryptoCpuSeconds / report.eventCpuSeconds) * 100).toFixed(0)} %`],
        ['CPU ms per switch: the limit / the ops as they ran / at raw rates', `${limitMs.toFixed(3)} / ${cryptoMs.toFixed(3)} / ${ms(cryptoCpuSeconds).toFixed(3)}`],
        ['  the ratio a switch of nothing but its ops as they ran would reach', (limitMs / cryptoMs).toFixed(3)],
        ['  CPU ms per switch outside those ops / the most it may be for 0.5', `${otherMs.toFixed(3)} / ${(2 * limitMs - cryptoMs).toFixed(3)}`],
      ] as [string, string][])
    : [['per-switch figures and the ratio', `none: ${none}`] as [string, string]]),
  ['event CPU seconds (all threads) / cores busy', `${report.eventCpuSeconds.toFixed(1)} / ${(report.eventCpuSeconds / s.seconds).toFixed(2)}`],
  ['peak RSS', `${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB`],
  ['invariant violations', k(s.invariantViolations)],
  ['adversarial refused', `${k(s.refused)} of ${k(report.tally.adversarial)}`],
];
const w = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`).join('\n') + '\n');
const figures = switched
  ? { switchesPerSecond: round(switchesPerSecond, 1), ratio: round(ratio, 3), cpuRatio: round(cpuRatio, 3), countedPerSwitch: { sign: round(counted.sign, 2), verify: round(counted.verify, 2), ecdh: round(counted.ecdh, 2) } }
  : { switchesPerSecond: 0, ratio: null, cpuRatio: null, countedPerSwitch: null };
process.stdout.write(JSON.stringify({ bench: 'fleet', meters, workers, rates: wall, cpuRates: cpu, limit: Math.round(limit), limitPerSwitch: PER_SWITCH, ...figures, summary: s }) + '\n');
if (!report.passed) process.exitCode = 1;
