/** DLMS date-times carry a full year: 0000-0099 are those years, not 1900-1999, and decode back to what was encoded. */
import test from 'ava';
import { decodeDlmsDateTime, decodeDlmsExecution, dlmsDateTime } from '../../../protocol/gbcs/datetime.ts';
import { dateTimeInstant } from '../../../protocol/duis/simple-types.ts';

test('a DLMS date-time in years 0000-0099 decodes as that year and encodes back to the same octets', (t) => {
  for (const iso of ['0000-01-01T00:00:00.000Z', '0050-06-01T00:00:00.000Z', '0099-12-31T23:00:00.000Z', '0100-03-01T00:00:00.000Z', '2030-01-01T09:30:15.250Z']) {
    const bytes = dlmsDateTime(new Date(dateTimeInstant(iso)));
    const decoded = decodeDlmsDateTime(bytes, 0);
    t.is(decoded.toISOString(), iso);
    t.deepEqual(dlmsDateTime(decoded), bytes, iso);
  }
  // Encoded year 0x0032, 1 June: 0050, not 1950.
  const y50 = Uint8Array.from([0x00, 0x32, 6, 1, 0xff, 0, 0, 0, 0, 0x80, 0x00, 0xff]);
  const e = decodeDlmsExecution(y50, 0);
  t.is(e.kind === 'at' ? e.at.toISOString() : e.kind, '0050-06-01T00:00:00.000Z');
});

test('a day that does not exist in years 0000-0099 is refused as in any other', (t) => {
  // 0000 is a leap year (divisible by 400), 1900 is not; 0050 is not.
  t.is(decodeDlmsDateTime(Uint8Array.from([0, 0, 2, 29, 0xff, 0, 0, 0, 0, 0x80, 0, 0xff]), 0).toISOString(), '0000-02-29T00:00:00.000Z');
  t.throws(() => decodeDlmsDateTime(Uint8Array.from([0, 0x32, 2, 29, 0xff, 0, 0, 0, 0, 0x80, 0, 0xff]), 0), { message: /no such day/ });
});
