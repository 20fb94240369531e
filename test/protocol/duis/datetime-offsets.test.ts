/** xs:dateTime time-zone offsets: -14:00 to +14:00 only, as the DUIS schema (and `duis validate --xsd`) has it. */
import { readFileSync } from 'node:fs';
import test from 'ava';
import { parseRequest } from '../../../protocol/duis/index.ts';
import { isDateTime } from '../../../protocol/duis/simple-types.ts';
import { fixturePath } from '../../helpers/fixtures.ts';

test('a date-time offset beyond fourteen hours is refused, one up to it taken', (t) => {
  for (const tz of ['+14:00', '-14:00', '+13:59', '-13:59', '+05:30', '-00:00']) t.true(isDateTime(`2030-01-01T00:00:00${tz}`), tz);
  for (const tz of ['+14:01', '+14:59', '-14:30', '-14:01', '+15:00', '+13:60']) t.false(isDateTime(`2030-01-01T00:00:00${tz}`), tz);
});

test('a request whose ExecutionDateTime has an offset of -14:30 is not a DUIS request', (t) => {
  const xml = readFileSync(fixturePath('duis', 'GCS02_1.6_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML'), 'utf8');
  const dated = (at: string) => xml.replace(/(<sr:UpdatePaymentMode>)/, `$1<sr:ExecutionDateTime>${at}</sr:ExecutionDateTime>`);
  t.true(parseRequest(dated('2030-01-01T00:00:00+14:00')).ok);
  const r = parseRequest(dated('2030-01-01T00:00:00-14:30'));
  t.false(r.ok);
  if (!r.ok) t.regex(r.error.toString(), /"2030-01-01T00:00:00-14:30" is not an xs:dateTime/);
});
