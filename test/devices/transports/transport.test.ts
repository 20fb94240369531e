import test from 'ava';
import { ECS04a } from '../../../protocol/gbcs/usecases/meter-balance.ts';
import { type Link, LinkError, type LinkState, type SendOptions } from '../../../devices/transports/link.ts';
import { Transport, TransportError } from '../../../devices/transports/transport.ts';
import { classifyFrame } from '../../../devices/transports/frame-keys.ts';
import { build, ESME_EUI, meter } from '../support.ts';

/** A link whose open and send do whatever the test says. */
class StubLink implements Link {
  readonly name = 'stub';
  state: LinkState = 'closed';
  frames = new Set<(f: Uint8Array) => void>();
  states = new Set<(s: LinkState, e?: LinkError) => void>();
  constructor(
    private readonly opening: () => Promise<void> = async () => undefined,
    private readonly sending: (f: Uint8Array, o: SendOptions) => Promise<void> = async () => undefined,
  ) {}
  async open() {
    await this.opening();
    this.state = 'open';
  }
  async close() {
    this.state = 'closed';
  }
  send(f: Uint8Array, o: SendOptions = {}) {
    return this.sending(f, o);
  }
  onFrame(l: (f: Uint8Array) => void) {
    this.frames.add(l);
    return () => this.frames.delete(l);
  }
  onState(l: (s: LinkState, e?: LinkError) => void) {
    this.states.add(l);
    return () => this.states.delete(l);
  }
  emit(f: Uint8Array) {
    for (const l of this.frames) l(f);
  }
  fail() {
    this.state = 'failed';
    for (const l of this.states) l('failed', new LinkError('disconnected', 'cable pulled'));
  }
}

const never = () => new Promise<void>(() => undefined);
/** A send the link holds (queued behind a stalled frame) until it is withdrawn. */
const held = (_f: Uint8Array, o: SendOptions) => new Promise<void>((_, reject) => o.signal?.addEventListener('abort', () => reject(new LinkError('withdrawn', 'stub: withdrawn'))));
const command = (counter: bigint) => build.command(ECS04a, { amount: 1 }, { device: ESME_EUI, counter });

test('layered timeouts: opening, the link accepting the frame, the response', async (t) => {
  const open = new Transport(new StubLink(never), { timeouts: { openMs: 20 } });
  const e1 = await t.throwsAsync(open.open(), { instanceOf: TransportError });
  t.deepEqual([e1?.kind, e1?.phase, open.state], ['timeout', 'open', 'failed']);

  const send = new Transport(new StubLink(undefined, held), { timeouts: { sendMs: 20 } });
  await send.open();
  const e2 = await t.throwsAsync(send.request(command(1n)), { instanceOf: TransportError });
  t.deepEqual([e2?.kind, e2?.phase], ['timeout', 'send']);

  const response = new Transport(new StubLink(), { timeouts: { responseMs: 1000 } });
  await response.open();
  const e3 = await t.throwsAsync(response.request(command(1n), { responseTimeoutMs: 20 }), { instanceOf: TransportError });
  t.deepEqual([e3?.kind, e3?.phase], ['timeout', 'response']);
  t.is(response.stats.timeouts, 1);
  t.is(response.inFlight, 0);
});

test("a link that fails to open is named once in the error, whether or not its own message names it", async (t) => {
  for (const [message, expected] of [
    ['stub: cannot open /dev/ttyUSB9', 'stub: cannot open /dev/ttyUSB9'],
    ['cannot open /dev/ttyUSB9', 'stub: cannot open /dev/ttyUSB9'],
  ] as const) {
    const tr = new Transport(new StubLink(async () => Promise.reject(new LinkError('open-failed', message))));
    const e = await t.throwsAsync(tr.open(), { instanceOf: TransportError });
    t.is(e?.message, expected);
  }
});

test('link failures are infrastructure errors: link-failed, disconnected', async (t) => {
  const refusing = new Transport(new StubLink(undefined, async () => Promise.reject(new LinkError('open-failed', 'port gone'))));
  await refusing.open();
  const e1 = await t.throwsAsync(refusing.request(command(1n)), { instanceOf: TransportError });
  t.is(e1?.kind, 'link-failed');

  const link = new StubLink();
  const tr = new Transport(link);
  await tr.open();
  const pending = tr.request(command(2n));
  await new Promise((r) => setImmediate(r));
  link.fail();
  const e2 = await t.throwsAsync(pending, { instanceOf: TransportError });
  t.is(e2?.kind, 'disconnected');
  t.is(tr.state, 'failed');
});

test('responses are matched, strays ignored, alerts and unrecognised frames counted', async (t) => {
  const { meter: m } = meter('esme');
  const link = new StubLink(undefined, async (f) => {
    const r = m.process(f);
    if (r) setImmediate(() => link.emit(r));
  });
  const tr = new Transport(link);
  await tr.open();
  const alerts: unknown[] = [];
  tr.onAlert((a) => alerts.push(a.key.role));
  const reply = await tr.request(command(5n));
  t.is(classifyFrame(reply.frame)?.key, classifyFrame(command(5n))?.key);
  link.emit(reply.frame);
  link.emit(Uint8Array.of(1, 2, 3));
  t.deepEqual([tr.stats.responses, tr.stats.ignored, tr.stats.unrecognised], [1, 1, 1]);
  await t.throwsAsync(tr.request(Uint8Array.of(0xdd)), { message: /not a GBCS command/ });
  const first = tr.request(command(6n));
  await t.throwsAsync(tr.request(command(6n)), { message: /already in flight/ });
  await first;
  t.deepEqual(alerts, []);
  await tr.close();
});

test('closed while the link opens: open rejects (closed), and a link that opened all the same is closed again', async (t) => {
  let opened!: () => void;
  const link = new StubLink(() => new Promise<void>((r) => (opened = r)));
  const tr = new Transport(link);
  const opening = tr.open();
  await tr.close();
  opened();
  const e = await t.throwsAsync(opening, { instanceOf: TransportError });
  t.is(e?.kind, 'closed');
  t.is(tr.state, 'closed');
  t.is(link.state, 'closed', 'not left open with nobody listening');
  await t.throwsAsync(tr.request(command(1n)), { instanceOf: TransportError, message: /transport is closed/ });
});

test('a send timeout withdraws a frame the link still holds: a send timeout, the device never gets it', async (t) => {
  let signal: AbortSignal | undefined;
  const tr = new Transport(
    new StubLink(undefined, (f, o) => {
      signal = o.signal;
      return held(f, o);
    }),
    { timeouts: { sendMs: 20 } },
  );
  await tr.open();
  const e = await t.throwsAsync(tr.request(command(1n)), { instanceOf: TransportError });
  t.deepEqual([e?.kind, e?.phase], ['timeout', 'send']);
  t.true(signal?.aborted, 'the link was asked to withdraw the frame');
  t.deepEqual([tr.stats.timeouts, tr.inFlight], [1, 0]);
});

test('a frame already on its way at the send timeout is no send timeout: its response is returned', async (t) => {
  const { meter: m } = meter('esme');
  let acknowledge!: () => void;
  // The frame reaches the meter, but the link cannot withdraw it and its acknowledgement comes late.
  const link: StubLink = new StubLink(undefined, (f, o) => {
    const answer = m.process(f);
    o.signal?.addEventListener('abort', () => setImmediate(() => link.emit(answer!)));
    return new Promise<void>((resolve) => (acknowledge = resolve));
  });
  const tr = new Transport(link, { timeouts: { sendMs: 20, responseMs: 60_000 } });
  await tr.open();
  const reply = await tr.request(command(7n));
  t.is(classifyFrame(reply.frame)?.key, classifyFrame(command(7n))?.key);
  acknowledge();
  t.deepEqual([tr.stats.responses, tr.stats.timeouts, tr.inFlight], [1, 0, 0]);
});

test('a frame on its way that the link never settles: the response clock runs from the send timeout (no-response, not a send timeout)', async (t) => {
  const tr = new Transport(new StubLink(undefined, never), { timeouts: { sendMs: 20, responseMs: 20 } });
  await tr.open();
  const e = await t.throwsAsync(tr.request(command(1n)), { instanceOf: TransportError });
  t.deepEqual([e?.kind, e?.phase], ['timeout', 'response']);
  t.deepEqual([tr.stats.timeouts, tr.inFlight], [1, 0]);
});

test('a frame on its way at the send timeout that the link then fails is that link failure', async (t) => {
  // As a serial link whose retransmissions go unacknowledged: it gives up after the send timeout.
  const giving = (_f: Uint8Array, o: SendOptions) =>
    new Promise<void>((_, reject) => o.signal?.addEventListener('abort', () => setImmediate(() => reject(new LinkError('disconnected', 'no acknowledgement after 9 attempts')))));
  const tr = new Transport(new StubLink(undefined, giving), { timeouts: { sendMs: 20, responseMs: 60_000 } });
  await tr.open();
  const e = await t.throwsAsync(tr.request(command(1n)), { instanceOf: TransportError });
  t.is(e?.kind, 'disconnected');
});
