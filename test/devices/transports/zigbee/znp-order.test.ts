/**
 * keepZnpOrder on a stand-in for herdsman's Z-Stack adapter: a large frame (fetched with AF_DATA_RETRIEVE)
 * followed by a small one must reach listeners in that order, and a large frame whose fetch fails must not
 * hold the line for ever.
 */
import { EventEmitter } from 'node:events';
import test from 'ava';
import { keepZnpOrder } from '../../../../devices/transports/zigbee/znp-order.ts';

/** Behaves like herdsman 10.9.5's adapter: small frames emitted at once, large ones after a fetch. */
class StandInAdapter extends EventEmitter {
  readonly znp = new EventEmitter();
  readonly fetches: { ts: number; resolve: (b: Buffer | undefined) => void }[] = [];

  constructor() {
    super();
    this.znp.on('received', (o: { command: { name: string }; payload: { data: Buffer; len: number; timestamp: number } }) => {
      if (o.command.name === 'incomingMsgExt' && o.payload.data.length < o.payload.len) {
        void this.dataRetrieveAll(o.payload.timestamp, o.payload.len).then((data) => data && this.emit('zclPayload', { data }));
      } else this.emit('zclPayload', { data: o.payload.data });
    });
  }

  dataRetrieveAll(ts: number, _len: number): Promise<Buffer | undefined> {
    return new Promise((resolve) => this.fetches.push({ ts, resolve }));
  }

  small(data: Buffer): void {
    this.znp.emit('received', { type: 2, subsystem: 4, command: { name: 'incomingMsg' }, payload: { data, len: data.length, timestamp: 0 } });
  }

  large(len: number, ts: number): void {
    this.znp.emit('received', { type: 2, subsystem: 4, command: { name: 'incomingMsgExt' }, payload: { data: Buffer.alloc(3), len, timestamp: ts } });
  }
}

const tick = () => new Promise((r) => setImmediate(r));

test('a small frame after a large one waits for it', async (t) => {
  const a = new StandInAdapter();
  const order = keepZnpOrder(a)!;
  const seen: number[] = [];
  a.on('zclPayload', (p: { data: Buffer }) => seen.push(p.data.length));
  a.large(500, 1);
  a.small(Buffer.alloc(10));
  a.large(800, 2);
  a.small(Buffer.alloc(20));
  await tick();
  t.deepEqual(seen, [], 'nothing passes the first large frame');
  t.is(a.fetches.length, 1, 'large frames are fetched one at a time');
  a.fetches[0]!.resolve(Buffer.alloc(500));
  for (let i = 0; i < 5 && a.fetches.length < 2; i++) await tick();
  t.deepEqual(seen, [500, 10]);
  a.fetches[1]!.resolve(Buffer.alloc(800));
  for (let i = 0; i < 5 && seen.length < 4; i++) await tick();
  t.deepEqual(seen, [500, 10, 800, 20]);
  t.is(order.held, 2);
  order.stop();
});

test('a large frame that never arrives stops holding the line after the give-up time', async (t) => {
  const a = new StandInAdapter();
  const order = keepZnpOrder(a, 100)!;
  const seen: number[] = [];
  a.on('zclPayload', (p: { data: Buffer }) => seen.push(p.data.length));
  a.large(500, 1);
  a.small(Buffer.alloc(10));
  await tick();
  a.fetches[0]!.resolve(undefined);
  for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(seen, [10]);
  t.is(order.givenUp, 1);
  order.stop();
});

test('an adapter without the Z-Stack internals is left alone', (t) => {
  t.is(keepZnpOrder(new EventEmitter()), null);
});
