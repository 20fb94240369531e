/**
 * `npm run bench` (bench/fleet.ts) reads its options the way the CLI does: `--name value` or `--name=value`, and a
 * value that is not one ends it at once, before the crypto probe. No timing assertions: the figures are the
 * bench's to measure, not the test's.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { repoRoot } from '../helpers/fixtures.ts';

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'bench/fleet.ts', ...args], { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const USAGE = 'usage: npm run bench [-- --meters 100000] [-- --workers auto|N] [-- --probe-seconds 3]\n';

test('npm run bench: an option value that is not one is a one-line usage error before the probe, not a stack after it', async (t) => {
  for (const [args, message] of [
    [['--meters', 'abc'], '--meters abc: a whole number of at least 1'],
    [['--workers', '0'], '--workers 0: auto or a whole number of at least 1'],
    [['--probe-seconds=0'], '--probe-seconds 0: a number of seconds above 0'],
    [['--meters='], '--meters needs a value'],
    [['--meters', '5', '--meters=6'], '--meters is given more than once'],
    [['--meters', '1000', '--workers', '100000'], /^--workers 100000: 1000 shards \(about 100 MiB each\) need about [\d.]+ GiB/],
  ] as const) {
    const r = await bench([...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    if (typeof message === 'string') t.is(r.stderr, `${message}\n${USAGE}`);
    else t.regex(r.stderr, message);
    t.notRegex(r.stderr, /raw node:crypto|\n +at /, 'nothing was measured, and no stack');
    t.is(r.stdout, '');
  }
});

test('npm run bench: --name=value is read like --name value, and a fleet with no switch says so instead of printing NaN', async (t) => {
  // Three meters of the default seed, none of them in prepayment.
  const r = await bench(['--meters=3', '--workers=1', '--probe-seconds=0.3']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const json = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  t.like(json, { bench: 'fleet', meters: 3, workers: 1, ratio: null, limitPerSwitch: { sign: 6, verify: 6, ecdh: 2 } });
  t.regex(r.stdout, /^per-switch figures and the ratio +none: no meter of these 3 is in prepayment \(give more --meters\)$/m);
  t.notRegex(r.stdout, /NaN|Infinity/);
});

test('npm run bench: the per-switch crypto mix the run counted is printed beside the mix the limit assumes', async (t) => {
  const r = await bench(['--meters', '300', '--workers', '1', '--probe-seconds', '0.3']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^crypto-bound limit \(6 sign \+ 6 verify \+ 2 ECDH per switch\) +[\d,]+ switches\/s\n {2}crypto ops counted per switch in this run \(sign \/ verify \/ ECDH\) +[\d.]+ \/ [\d.]+ \/ [\d.]+$/m);
  const lines = r.stdout.trim().split('\n');
  const json = JSON.parse(lines[lines.length - 1]!) as { meters: number; countedPerSwitch: { sign: number } };
  t.is(json.meters, 300);
  t.true(json.countedPerSwitch.sign >= 4, 'a switch signs at least 4 times');
  t.notRegex(r.stdout, /NaN|Infinity/);
});
