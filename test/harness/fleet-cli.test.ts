/**
 * `smets-hil fleet` options refused before anything starts (no shard is set up in any of these tests): shares that
 * are empty, repeated or out of range, and runs too large for this machine's memory, with the shard count and
 * the commands counted.
 */
import test from 'ava';
import { memoryNeeded, memoryRefusal } from '../../harness/commands/fleet.ts';
import { runCli } from '../helpers/cli.ts';

const GiB = 2 ** 30;

test('smets-hil fleet: a share given empty or twice is a usage error, not a run of nothing', async (t) => {
  for (const [args, message] of [
    // yargs made these 0 before any check saw them: a run of no commands, and a PASS.
    [['--prepay-share='], '--prepay-share needs a value'],
    [['--smets1-share='], '--smets1-share needs a value'],
    [['--adversarial-share='], '--adversarial-share needs a value'],
    [['--prepay-share', '0.1', '--prepay-share', '0.2'], '--prepay-share is given more than once'],
    [['--adversarial-share', '0.1', '--adversarial-share', '0.2'], '--adversarial-share is given more than once'],
    [['--smets1-share', 'half'], '--smets1-share must be between 0 and 1'],
  ] as const) {
    const r = await runCli(['fleet', '--meters', '100', '--workers', '1', '--json', ...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.is(r.stderr, `${message}\nrun smets-hil --help for usage\n`, args.join(' '));
    t.is(r.stdout, '', args.join(' '));
  }
});

test('smets-hil fleet: an adversarial share so close to 1 that its commands would not fit is refused before the run', async (t) => {
  const r = await runCli(['fleet', '--meters', '100', '--workers', '1', '--adversarial-share', '0.99999999', '--json']);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /^--adversarial-share 0\.99999999: about 1,399,999,993 commands for 100 meters need about [\d.]+ GiB of memory and this machine has [\d.]+ GiB; give a smaller share\n/);
  t.notRegex(r.stderr, /setting up|RangeError/);
});

test('the memory a fleet run needs counts its shards: 12 shards of one meter each peaked at 1.24 GB', (t) => {
  // Measured: `fleet --meters 12 --workers 12` peaked at 1.24 GB, each shard an isolate and a DCC of ~90-100 MB.
  t.true(memoryNeeded(12, 12, 2) > 1.24e9);
  t.true(memoryNeeded(12, 12, 2) - memoryNeeded(12, 1, 2) >= 11 * 90e6);
  // Commands count too: an adversarial request is job-list and store entries on its shard.
  t.true(memoryNeeded(1000, 2, 100_000) > memoryNeeded(1000, 2, 150));
});

test('a run too large for the memory is refused naming the option that makes it so', (t) => {
  const fleet = { meters: 12, workers: 12, prepayShare: 0.14, adversarialShare: 0.05 };
  t.is(memoryRefusal({ ...fleet, workers: 2 }, 1 * GiB), undefined);
  t.is(memoryRefusal(fleet, 1 * GiB), '--workers 12: 12 shards (about 100 MiB each) need about 1.4 GiB of memory and this machine has 1.0 GiB; give fewer workers (one per core is the fastest)');
  // Workers beyond the meters make no shard, so they cost nothing.
  t.is(memoryRefusal({ ...fleet, meters: 2, workers: 12 }, 1 * GiB), undefined);
  t.regex(memoryRefusal({ ...fleet, workers: 1, adversarialShare: 0.999999 }, 1 * GiB) ?? '', /^--adversarial-share 0\.999999: about 1,680,00\d commands for 12 meters need about/);
  t.regex(memoryRefusal({ ...fleet, meters: 2_000_000, workers: 1 }, 1 * GiB) ?? '', /^--meters 2000000: a fleet this size needs about 2\.[0-9] GiB of memory and this machine has 1\.0 GiB; split it across machines/);
});
