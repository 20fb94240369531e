/**
 * The fleet progress bar's rate counts from the event's start, as the summary's commandsPerSecond does, not from
 * the bar's first update (which comes only once the first batch is done). A clock is injected: no timing.
 */
import test from 'ava';
import { Writable } from 'node:stream';
import { FleetProgressBar } from '../../harness/fleet/progress.ts';

test('the progress bar rate runs from the start of the event, so the first batch counts', (t) => {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString();
      done();
    },
  });
  let now = 0;
  const bar = new FleetProgressBar(stream, () => now);
  // The instruction went out at 1,000 ms; the first batch of 80 came back a second later, 336 after two.
  now = 2000;
  bar.update({ startedAt: 1000, done: 80, total: 500, executed: 76, refused: 4 });
  now = 3000;
  bar.update({ startedAt: 1000, done: 336, total: 500, executed: 320, refused: 16 });
  bar.stop();
  // 336 commands in 2 s: 168/s (counting from the first update, it read 336/s).
  t.regex(out, /\| 336\/500 commands \| 168\/s \| 320 switched, 16 refused \|/);
  t.notRegex(out, /336\/s/);
});
