/** Date-time options (dcc serve --clock, device serve --clock, gbcs precommand --at): only dates that exist. */
import test from 'ava';
import { CliExit, EXIT } from '../../harness/cli-exit.ts';
import { isoDateTimeArg } from '../../harness/commands/inputs.ts';
import { runCli } from '../helpers/cli.ts';
import { fixturePath } from '../helpers/fixtures.ts';

test('a date-time option refuses a day that does not exist, rather than rolling it over to the next', (t) => {
  for (const text of ['2031-02-29T00:00:00Z', '2100-02-29T00:00:00Z', '2031-04-31T00:00:00Z', '2031-13-01T00:00:00Z', '2031-01-01T24:00:00Z', '2031-01-01T24:00Z', '2031-01-01T23:60:00Z', '2031-01-01T00:00:00+14:30', '0000-01-01T00:00:00Z']) {
    const e = t.throws(() => isoDateTimeArg(text, 'clock'), { instanceOf: CliExit }, text);
    t.is(e?.code, EXIT.usage, text);
    t.regex(e?.message ?? '', new RegExp(`^--clock ${text.replace('+', '\\+')}: not an ISO-8601 date-time`), text);
  }
});

test('a date-time option takes the dates that exist, with or without seconds, in any zone', (t) => {
  t.is(isoDateTimeArg('2032-02-29T00:00:00Z', 'clock').toISOString(), '2032-02-29T00:00:00.000Z');
  t.is(isoDateTimeArg('2000-02-29T23:59:59.5Z', 'clock').toISOString(), '2000-02-29T23:59:59.500Z');
  t.is(isoDateTimeArg('2031-04-30T09:00Z', 'clock').toISOString(), '2031-04-30T09:00:00.000Z');
  t.is(isoDateTimeArg('2031-01-01T00:00:00+14:00', 'clock').toISOString(), '2030-12-31T10:00:00.000Z');
  t.is(isoDateTimeArg('2031-01-01T00:00:00-01:30', 'clock').toISOString(), '2031-01-01T01:30:00.000Z');
});

test('gbcs precommand --at refuses a day that does not exist with the usage error', async (t) => {
  const r = await runCli(['gbcs', 'precommand', '--from', fixturePath('duis', 'GCS02_1.6_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML'), '--device', 'gsme', '--at', '2031-02-29T00:00:00Z']);
  t.is(r.code, 2, r.stdout);
  t.regex(r.stderr, /--at 2031-02-29T00:00:00Z: not an ISO-8601 date-time/);
});
