/**
 * Memory per emulated meter, for sizing fleet runs (a Bulb-sized failure is ~1.7 M meters on one machine).
 * Creates N seed-derived SMETS2+ meters (3 ESME : 2 GSME) sharing one key source, one set of trust anchors and
 * one clock, and reports heap bytes per meter measured with forced GCs; then runs one signed, ACB-MACed Credit
 * switch through a sample of them and reports what a touched meter costs on top (counters, event log).
 *
 *   npm run bench:devices [-- 1000000] [-- --touch 10000]
 */
import { ECS02, GCS02 } from '../protocol/gbcs/usecases/catalogue.ts';
import { type Eui, parseEui } from '../protocol/smki/eui.ts';
import { getHeapStatistics } from 'node:v8';
import { SimClock } from '../devices/clock.ts';
import { SeededKeySource } from '../devices/smets2/keys.ts';
import { Smets2Meter } from '../devices/smets2/meter.ts';
import { BenchOptions } from './options.ts';
import { CommandBuilder, makeTestPki } from '../devices/testing/command-builder.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with --expose-gc (npm run bench:devices does)');
  process.exit(2);
}
const options = new BenchOptions('usage: npm run bench:devices [-- 1000000] [-- --touch 10000]', ['touch'], [], { positionals: 1 });
const n = options.positionals[0] === undefined ? 100_000 : options.integerFrom('meter count', options.positionals[0]);
const touchArg = options.integer('touch', 2000);
const touch = Math.min(n, touchArg);

function heap(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const euiOf = (i: number): Eui => parseEui(`00DB${i.toString(16).toUpperCase().padStart(12, '0')}`);
const pki = makeTestPki('bench');
const keys = new SeededKeySource('bench fleet seed');
const clock = new SimClock();

const before = heap();
const t0 = performance.now();
const fleet: Smets2Meter[] = new Array(n);
for (let i = 0; i < n; i++) {
  fleet[i] = new Smets2Meter({ eui: euiOf(i), variant: i % 5 < 3 ? 'esme' : 'gsme', keys, trustAnchors: pki.anchors, clock, initial: { paymentMode: 'prepayment' } });
}
const createMs = performance.now() - t0;
const afterCreate = heap();
const perMeter = (afterCreate - before) / n;

// One real Credit switch each on a sample: key derivation (LRU), MAC, signature, counter, event log, response.
const build = new CommandBuilder(pki, (eui) => keys.keysFor(eui).ka.publicKey);
const commands = Array.from({ length: touch }, (_, i) => {
  const m = fleet[Math.floor((i * n) / touch)]!;
  const codec = m.variant === 'gsme' ? GCS02 : ECS02;
  return { m, frame: build.command(codec, { variant: m.variant, change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { device: m.eui, counter: 1000n }) };
});
// The key cache is bounded (SeededKeySource, 1024 meters): fill it first so it is not counted per meter.
for (let i = 0; i < 1024; i++) keys.keysFor(euiOf(n + i));
const beforeTouch = heap();
const t1 = performance.now();
let switched = 0;
for (const { m, frame } of commands) {
  m.process(frame);
  if (m.paymentMode === 'credit') switched++;
}
const touchMs = performance.now() - t1;
const afterTouch = heap();
const perTouched = (afterTouch - beforeTouch) / touch;

const mb = (b: number) => Math.round(b / 1e5) / 10;
const limit = getHeapStatistics().heap_size_limit;
const at = (count: number) => ({ meters: count, untouchedMB: mb(perMeter * count), with240kSwitchesMB: mb(perMeter * count + perTouched * Math.min(count, 240_000)) });
console.log(
  JSON.stringify(
    {
      node: process.version,
      meters: n,
      createMs: Math.round(createMs),
      bytesPerMeter: Math.round(perMeter),
      touched: { meters: touch, switchedToCredit: switched, extraBytesPerTouchedMeter: Math.round(perTouched), commandsPerSecond: Math.round((touch / touchMs) * 1000) },
      heapUsedMB: mb(afterTouch),
      heapLimitMB: mb(limit),
      rssMB: mb(process.memoryUsage().rss),
      extrapolated: [at(1_000_000), at(1_700_000)],
    },
    null,
    2,
  ),
);
// Keep the fleet reachable until after the last measurement.
if (fleet.length !== n) process.exit(1);
