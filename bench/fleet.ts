/**
 * The fleet benchmark: a SoLR event on a fleet of emulated meters (harness/fleet) beside node:crypto's raw P-256
 * sign, verify and ECDH rates measured in the same run on as many threads as the fleet uses (before and after
 * the event, averaged, so load from elsewhere weighs on both sides alike). Prints the ratio of the switches per
 * second achieved to the crypto-bound limit: what all cores could do if a switch cost nothing but 6 signs,
 * 6 verifies and 2 ECDH. A benchmark, not a test: nothing here fails on time.
 *
 *   npm run bench [-- --meters 100000] [-- --workers 2] [-- --probe-seconds 3]
 */
import { cryptoBoundLimit, type CryptoRates, measureCryptoRates } from '../harness/fleet/crypto-rates.ts';
import { FLEET_DEFAULTS } from '../harness/fleet/plan.ts';
import { autoWorkers, runFleet } from '../harness/fleet/run.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const meters = Number(arg('meters') ?? 100_000);
const workers = arg('workers') && arg('workers') !== 'auto' ? Number(arg('workers')) : autoWorkers();
const probeSeconds = Number(arg('probe-seconds') ?? 3);
const per = { sign: 6, verify: 6, ecdh: 2 };

const k = (v: number) => Math.round(v).toLocaleString('en-GB');
const log = (s: string) => process.stderr.write(s + '\n');

log(`raw node:crypto P-256 rates on ${workers} thread(s) (${probeSeconds} s)...`);
const before = await measureCryptoRates(workers, probeSeconds);
log(`fleet: ${k(meters)} meters, ${workers} worker(s)...`);
let lastShown = 0;
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
});
log('raw rates again...');
const after = await measureCryptoRates(workers, probeSeconds);
const rates: CryptoRates = { sign: (before.sign + after.sign) / 2, verify: (before.verify + after.verify) / 2, ecdh: (before.ecdh + after.ecdh) / 2 };

const s = report.summary;
const switchesPerSecond = s.commandsApplied / s.seconds;
const limit = cryptoBoundLimit(rates, per);
const ratio = switchesPerSecond / limit;
// The share of the cores' time the counted operations would take at the raw rates.
const cryptoSeconds = s.cryptoOps.sign / rates.sign + s.cryptoOps.verify / rates.verify + s.cryptoOps.ecdh / rates.ecdh;
const perSwitch = (v: number) => (v / s.commandsApplied).toFixed(2);

const rows: [string, string][] = [
  ['raw sign / verify / ECDH per second (all threads)', `${k(rates.sign)} / ${k(rates.verify)} / ${k(rates.ecdh)}`],
  ['  before / after the fleet (sign)', `${k(before.sign)} / ${k(after.sign)}`],
  [`crypto-bound limit (${per.sign} sign + ${per.verify} verify + ${per.ecdh} ECDH per switch)`, `${k(limit)} switches/s`],
  ['fleet: switches applied', k(s.commandsApplied)],
  ['fleet: commands sent (switches + adversarial)', k(s.commandsSent)],
  ['fleet: event seconds', s.seconds.toFixed(1)],
  ['fleet: switches per second', switchesPerSecond.toFixed(1)],
  ['RATIO achieved / crypto-bound limit', ratio.toFixed(3)],
  ['crypto ops counted per switch (sign / verify / ECDH)', `${perSwitch(s.cryptoOps.sign)} / ${perSwitch(s.cryptoOps.verify)} / ${perSwitch(s.cryptoOps.ecdh)}`],
  ["share of the event's thread time spent in those ops", `${((cryptoSeconds / s.seconds) * 100).toFixed(0)} %`],
  ['peak RSS', `${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB`],
  ['invariant violations', k(s.invariantViolations)],
  ['adversarial refused', `${k(s.refused)} of ${k(report.tally.adversarial)}`],
];
const w = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`).join('\n') + '\n');
process.stdout.write(JSON.stringify({ bench: 'fleet', meters, workers, rates, limit: Math.round(limit), switchesPerSecond: Math.round(switchesPerSecond * 10) / 10, ratio: Math.round(ratio * 1000) / 1000, summary: s }) + '\n');
if (!report.passed) process.exitCode = 1;
