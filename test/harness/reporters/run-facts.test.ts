import test from 'ava';
import { formatDuration } from '../../../harness/reporters/run-facts.ts';

test('durations are rounded before they are split: never "60.0 s" nor "1 min 60 s"', (t) => {
  const cases: [number, string][] = [
    [0, '0 ms'],
    [999.4, '999 ms'],
    [999.6, '1.0 s'],
    [12_345, '12.3 s'],
    [59_940, '59.9 s'],
    [59_960, '1 min 00 s'],
    [119_700, '2 min 00 s'],
    [245_000, '4 min 05 s'],
    [3_599_999, '60 min 00 s'],
    [-1, '-'],
    [Number.NaN, '-'],
  ];
  for (const [ms, text] of cases) t.is(formatDuration(ms), text, String(ms));
});
