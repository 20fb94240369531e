/** Time-limit options (run's timeouts, dcc serve's --device-timeout and --request-timeout): durations or milliseconds. */
import test from 'ava';
import { CliExit, EXIT } from '../../harness/cli-exit.ts';
import { timeLimitArg } from '../../harness/commands/inputs.ts';

test('a time limit is a duration with its unit, or a bare number of milliseconds', (t) => {
  for (const [text, ms] of [['500ms', 500], ['30s', 30_000], ['2m', 120_000], ['2h', 7_200_000], ['1d', 86_400_000], ['20000', 20_000], ['2147483647', 2 ** 31 - 1]] as const) {
    t.is(timeLimitArg(text, 'device-timeout'), ms, text);
  }
});

test('a time limit that is no duration, nothing, or longer than a timer waits is a usage error naming the option', (t) => {
  for (const [text, why] of [['ten seconds', 'a time limit such as'], ['1.5', 'a time limit such as'], ['-5', 'a time limit such as'], ['30 s', 'a time limit such as'], ['0s', 'above 0'], ['0', 'above 0'], ['25d', 'at most 24 days'], ['2147483648', 'at most 24 days']] as const) {
    const e = t.throws(() => timeLimitArg(text, 'step-timeout'), { instanceOf: CliExit }, text);
    t.is(e?.code, EXIT.usage, text);
    t.true(e?.message.startsWith(`--step-timeout ${text}: `) && e.message.includes(why), `${text}: ${e?.message}`);
  }
});
