/**
 * The other benchmarks (bench:duis, bench:load, bench:devices) read their options as `npm run bench` does: a
 * mistyped, repeated or invalid option is a usage error (exit 2) before anything is measured or started, where
 * they used to run with a default the user had not asked for.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { repoRoot } from '../helpers/fixtures.ts';

function run(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--expose-gc', script, ...args], { cwd: repoRoot, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

for (const [script, args, message] of [
  ['bench/duis.ts', ['--seconds', 'ten'], '--seconds ten: a number of seconds above 0'],
  ['bench/duis.ts', ['--second', '5'], "Unknown option '--second'"],
  ['bench/load.ts', ['--users', '0'], '--users 0: a whole number of at least 1'],
  ['bench/load.ts', ['--mix', 'switches'], '--mix switches: one of switch, transform'],
  ['bench/load.ts', ['--url', 'localhost:8079'], '--url localhost:8079: not an http(s) URL'],
  ['bench/load.ts', ['--requests=10', '--requests', '20'], '--requests is given more than once'],
  ['bench/devices-memory.ts', ['100k'], 'meter count 100k: a whole number of at least 1'],
  ['bench/devices-memory.ts', ['1000', '--touch'], "Option '--touch <value>' argument missing"],
  ['bench/devices-memory.ts', ['1000', '2000'], 'unexpected argument 2000'],
  // Typed as the usage shows it (`npm run bench:devices -- 1000 -- --touch x`): the second `--` separates nothing.
  ['bench/devices-memory.ts', ['1000', '--', '--touch', 'x'], '--touch x: a whole number of at least 1'],
  ['bench/load.ts', ['--users', '2', '--', '--users', '3'], '--users is given more than once'],
] as const) {
  test(`${script} ${args.join(' ')}: a usage error before anything runs`, async (t) => {
    const r = await run(script, [...args]);
    t.is(r.code, 2, r.stderr);
    t.true(r.stderr.startsWith(message), r.stderr);
    t.regex(r.stderr, /\nusage: npm run bench:\w+ /);
    t.is(r.stdout, '');
    t.notRegex(r.stderr, /DCC at|heap|verify|\n +at /, 'nothing was started or measured, and no stack');
  });
}
