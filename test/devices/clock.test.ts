import test from 'ava';
import { RTDS_DEVICE_TIME, SimClock } from '../../devices/clock.ts';

test('timers fire in time order (ties in order set) with the clock reading each timer time', (t) => {
  const clock = new SimClock();
  t.is(clock.now(), RTDS_DEVICE_TIME);
  const seen: [string, number][] = [];
  for (const [name, at] of [['c', 300], ['a', 100], ['b1', 200], ['b2', 200]] as const) clock.schedule(RTDS_DEVICE_TIME + at, () => seen.push([name, clock.now() - RTDS_DEVICE_TIME]));
  const cancelled = clock.schedule(RTDS_DEVICE_TIME + 150, () => seen.push(['x', 0]));
  cancelled.cancel();
  clock.advance(250);
  t.deepEqual(seen, [['a', 100], ['b1', 200], ['b2', 200]]);
  t.is(clock.now(), RTDS_DEVICE_TIME + 250);
  t.is(clock.pending, 1);
  clock.advanceTo(new Date(RTDS_DEVICE_TIME + 300));
  t.deepEqual(seen.at(-1), ['c', 300]);
});

test('the clock never moves backwards and cannot be advanced from a timer', (t) => {
  const clock = new SimClock(new Date('2030-01-01T00:00:00Z'));
  t.throws(() => clock.advance(-1), { instanceOf: RangeError });
  t.throws(() => clock.advanceTo(new Date('2029-12-31T23:59:59Z')), { instanceOf: RangeError });
  clock.schedule(clock.now() + 1, () => clock.advance(1));
  t.throws(() => clock.advance(5), { message: /inside a timer/ });
});

test('an advance says how many timers fired, cancelled ones not counted', (t) => {
  const clock = new SimClock(0);
  clock.schedule(10, () => undefined);
  clock.schedule(20, () => undefined).cancel();
  clock.schedule(30, () => undefined);
  t.is(clock.advance(5), 0);
  t.is(clock.advance(20), 1);
  t.is(clock.advanceTo(100), 1);
});

test('cancelled timers are not kept: a soak replacing a far-future timer holds about as many entries as it has live timers', (t) => {
  const clock = new SimClock(0);
  const fired: number[] = [];
  // Ten meters, each replacing its pending change 10,000 times, as a long soak of future-dated commands does.
  const timers = Array.from({ length: 10 }, (_, m) => clock.schedule(1_000_000 + m, () => fired.push(m)));
  for (let round = 0; round < 10_000; round++) {
    const m = round % 10;
    timers[m]!.cancel();
    timers[m] = clock.schedule(1_000_000 + m, () => fired.push(m));
  }
  t.is(clock.pending, 10);
  t.true(clock.retained <= 2 * 10 + 65, `${clock.retained} entries held for 10 live timers`);
  // Compaction keeps time order and, at equal times, the order they were set.
  const tie = clock.schedule(1_000_000, () => fired.push(99));
  t.is(clock.advanceTo(2_000_000), 11);
  t.deepEqual(fired, [0, 99, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.is(clock.pending, 0);
  tie.cancel(); // after it fired: nothing
  t.is(clock.pending, 0);
});

test('a timer that throws does not hold the others up: every due timer fires, the clock reaches its time, then the error is thrown', (t) => {
  const clock = new SimClock(0);
  const seen: number[] = [];
  clock.schedule(10, () => {
    throw new Error('a meter bug');
  });
  clock.schedule(20, () => seen.push(clock.now()));
  clock.schedule(30, () => {
    throw new Error('another');
  });
  clock.schedule(200, () => seen.push(clock.now()));
  t.throws(() => clock.advance(100), { message: 'a meter bug' });
  t.deepEqual(seen, [20]);
  t.is(clock.now(), 100);
  t.is(clock.pending, 1);
  t.is(clock.advance(100), 1, 'and the clock goes on working');
  t.deepEqual(seen, [20, 200]);
});
