import test from 'ava';
import { LinkError } from '../../../../devices/transports/link.ts';
import { decodeFrame, encodeFrame, MAX_PAYLOAD } from '../../../../devices/transports/serial/frame.ts';
import { ECS04a } from '../../../../protocol/gbcs/usecases/meter-balance.ts';
import { DeviceHost } from '../../../../devices/host.ts';
import { classifyFrame } from '../../../../devices/transports/frame-keys.ts';
import { Transport, TransportError } from '../../../../devices/transports/transport.ts';
import { build, ESME_EUI, meter } from '../../support.ts';
import { MockWire, type WireFrame } from './mock-wire.ts';
import { until as poll } from '../../../helpers/poll.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the links do in their own time: polled often, for as long as a loaded machine may need. */
const until = (what: () => boolean) => poll(what, { withinMs: 60_000, everyMs: 5 });

async function openPair(wire = new MockWire(), o: Parameters<MockWire['link']>[1] = {}) {
  const a = wire.link('a', o);
  const b = wire.link('b', o);
  const got: Record<'a' | 'b', Buffer[]> = { a: [], b: [] };
  a.onFrame((f) => got.a.push(Buffer.from(f)));
  b.onFrame((f) => got.b.push(Buffer.from(f)));
  await Promise.all([a.open(), b.open()]);
  return { wire, a, b, got, close: () => Promise.all([a.close(), b.close()]) };
}

test('frame: CRC-32 is the ISO-HDLC one, and every field survives a round trip', (t) => {
  const f = encodeFrame({ type: 'data', session: 0xdeadbeef, seq: 7, payload: Buffer.from('123456789') });
  t.is(f.length, 7 + 9 + 4);
  t.deepEqual([...f.subarray(0, 7)], [0x01, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x07]);
  const d = decodeFrame(f);
  t.true(d.ok);
  if (d.ok) t.deepEqual({ ...d.frame, payload: Buffer.from(d.frame.payload).toString() }, { type: 'data', session: 0xdeadbeef, seq: 7, payload: '123456789' });
  t.is(crc(Buffer.from('123456789')), 0xcbf43926, 'the reference CRC below is CRC-32/ISO-HDLC');
  t.is(f.readUInt32BE(16), crc(f.subarray(0, 16)));
  const ack = encodeFrame({ type: 'ack', session: 1, seq: 0, payload: new Uint8Array(0) });
  t.is(ack.length, 11);
  t.true(decodeFrame(ack).ok);
});

test('frame: damage, truncation and nonsense are refused with a reason', (t) => {
  const f = encodeFrame({ type: 'control', session: 5, seq: 255, payload: Uint8Array.of(1, 2, 3) });
  for (let bit = 0; bit < f.length * 8; bit++) {
    const g = Buffer.from(f);
    g[bit >> 3] = g[bit >> 3]! ^ (1 << (bit & 7));
    t.deepEqual(decodeFrame(g), { ok: false, error: 'crc' }, `bit ${bit}`);
  }
  t.deepEqual(decodeFrame(f.subarray(0, 10)), { ok: false, error: 'short' });
  const withCrc = rebuild;
  t.deepEqual(decodeFrame(withCrc([0x02, 0x01, 0, 0, 0, 0, 0, 9])), { ok: false, error: 'version' });
  t.deepEqual(decodeFrame(withCrc([0x01, 0x09, 0, 0, 0, 0, 0, 9])), { ok: false, error: 'type' });
  t.deepEqual(decodeFrame(withCrc([0x01, 0x02, 0, 0, 0, 0, 0, 9])), { ok: false, error: 'length' }, 'an ACK carries nothing');
  t.deepEqual(decodeFrame(withCrc([0x01, 0x01, 0, 0, 0, 0, 0])), { ok: false, error: 'length' }, 'DATA carries something');
  t.deepEqual(decodeFrame(withCrc([0x01, 0x01, 0, 0, 0, 0, 0, ...new Array<number>(MAX_PAYLOAD + 1).fill(1)])), { ok: false, error: 'length' });
});

/** Header and payload octets followed by their correct CRC. */
function rebuild(bytes: number[]): Buffer {
  const body = Buffer.from(bytes);
  return Buffer.concat([body, u32(crc(body))]);
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

/** A bit-at-a-time CRC-32/ISO-HDLC, independent of zlib's. */
function crc(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('frames cross intact and in order both ways, each send resolving on its ACK', async (t) => {
  const p = await openPair();
  const frames = Array.from({ length: 20 }, (_, i) => Buffer.from(Array.from({ length: 1 + ((i * 211) % 1600) }, (_, j) => (i * 13 + j) & 0xff)));
  // Every octet value, the SLIP END and ESC among them, must survive escaping.
  frames.push(Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0xc0, 0xdb, 0xdc, 0xdd, 0xc0]));
  await Promise.all(frames.map((f) => p.a.send(f)));
  await Promise.all(frames.map((f) => p.b.send(Buffer.from(f).reverse())));
  await until(() => p.got.b.length === frames.length && p.got.a.length === frames.length);
  t.deepEqual(p.got.b, frames);
  t.deepEqual(p.got.a, frames.map((f) => Buffer.from(f).reverse()));
  t.is(p.a.stats.framesSent, frames.length);
  t.is(p.a.stats.acksReceived, frames.length);
  t.is(p.b.stats.acksSent, frames.length);
  t.is(p.a.stats.retransmissions, 0);
  await p.close();
});

test('a lost DATA frame is retransmitted and delivered once', async (t) => {
  const wire = new MockWire();
  wire.rule = (f) => (f.direction === 'a->b' && f.type === 'data' && f.index === 0 ? 'drop' : 'pass');
  const p = await openPair(wire);
  await p.a.send(Buffer.from('hello'));
  await until(() => p.got.b.length === 1);
  t.deepEqual(p.got.b.map(String), ['hello']);
  t.is(p.a.stats.retransmissions, 1);
  t.is(p.b.stats.duplicates, 0);
  await p.close();
});

test('a lost ACK: the retransmission is acknowledged again but delivered once', async (t) => {
  const wire = new MockWire();
  wire.rule = (f) => (f.direction === 'b->a' && f.type === 'ack' && f.index < 2 ? 'drop' : 'pass');
  const p = await openPair(wire);
  await p.a.send(Buffer.from('once'));
  await p.a.send(Buffer.from('twice?'));
  await until(() => p.got.b.length === 2);
  await sleep(100);
  t.deepEqual(p.got.b.map(String), ['once', 'twice?']);
  t.is(p.b.stats.duplicates, 2);
  t.is(p.b.stats.acksSent, 4);
  t.is(p.a.stats.retransmissions, 2);
  await p.close();
});

test('damaged frames and line noise are dropped and counted; retransmission repairs them', async (t) => {
  const wire = new MockWire();
  wire.rule = (f) => (f.type === 'data' && f.index % 3 === 0) || (f.type === 'ack' && f.index % 4 === 1) ? 'flip' : 'pass';
  const p = await openPair(wire);
  const frames = Array.from({ length: 12 }, (_, i) => Buffer.from(`frame ${i} `.repeat(i + 1)));
  for (const [i, f] of frames.entries()) {
    if (i % 2 === 0) wire.noise['a->b'].push(Buffer.from([0x55, 0xc0, 0x01, 0x01, 0xdb, 0x99, 0xc0, 0xff]));
    await p.a.send(f);
  }
  await until(() => p.got.b.length === frames.length);
  t.deepEqual(p.got.b, frames);
  t.true(p.b.stats.corrupt >= 4, `corrupt ${p.b.stats.corrupt}`);
  t.true(p.a.stats.retransmissions >= 4);
  await p.close();
});

test('a far end that stops answering fails the link: disconnected, and every queued send is rejected', async (t) => {
  const p = await openPair(undefined, { retries: 3 });
  const states: string[] = [];
  p.a.onState((s, e) => states.push(`${s}${e ? `:${e.kind}` : ''}`));
  await p.a.send(Buffer.from('before'));
  p.wire.cut = true;
  const sends = [p.a.send(Buffer.from('lost 1')), p.a.send(Buffer.from('lost 2'))];
  for (const s of sends) {
    const e = await t.throwsAsync(s, { instanceOf: LinkError });
    t.is(e?.kind, 'disconnected');
    t.regex(e?.message ?? '', /no acknowledgement after 4 attempts/);
  }
  t.is(p.a.state, 'failed');
  t.deepEqual(states, ['failed:disconnected']);
  const refused = await t.throwsAsync(p.a.send(Buffer.from('after')), { instanceOf: LinkError });
  t.is(refused?.kind, 'disconnected');
  t.is(p.a.stats.retransmissions, 3);
  // Reconnected: a reopened link is a new session and works again.
  p.wire.cut = false;
  await p.a.open();
  await p.a.send(Buffer.from('again'));
  await until(() => p.got.b.length === 2);
  t.deepEqual(p.got.b.map(String), ['before', 'again']);
  await p.close();
});

test('control frames travel on their own channel', async (t) => {
  const p = await openPair();
  const control: string[] = [];
  p.b.onControl((m) => control.push(Buffer.from(m).toString()));
  await p.a.sendControl(Buffer.from('{"op":"ping"}'));
  await p.a.send(Buffer.from('data'));
  await until(() => p.got.b.length === 1);
  t.deepEqual(control, ['{"op":"ping"}']);
  t.deepEqual(p.got.b.map(String), ['data']);
  await p.close();
});

test('closing: pending sends are rejected as closed, close is idempotent, a closed link refuses', async (t) => {
  const wire = new MockWire();
  wire.cut = true;
  const p = await openPair(wire, { ackTimeoutMs: 5000 });
  const pending = p.a.send(Buffer.from('never acknowledged'));
  await p.a.close();
  await p.a.close();
  t.is((await t.throwsAsync(pending, { instanceOf: LinkError }))?.kind, 'closed');
  t.is((await t.throwsAsync(p.a.send(Buffer.from('x')), { instanceOf: LinkError }))?.kind, 'closed');
  await t.throwsAsync(p.b.send(new Uint8Array(0)), { instanceOf: RangeError });
  await t.throwsAsync(p.b.send(new Uint8Array(MAX_PAYLOAD + 1)), { instanceOf: RangeError });
  await p.close();
});

test('opening a port that does not exist is an open-failed LinkError', async (t) => {
  const wire = new MockWire();
  const link = wire.link('a', { path: '/dev/nowhere' });
  const e = await t.throwsAsync(link.open(), { instanceOf: LinkError });
  t.is(e?.kind, 'open-failed');
  t.is(link.state, 'failed');
});


test('the example in the wire-format document is what the link sends', async (t) => {
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(new URL('../../../../devices/transports/serial/README.md', import.meta.url), 'utf8');
  const line = (label: string, n = 0) => [...doc.matchAll(new RegExp(`^${label}\\s+([0-9A-F ]+)$`, 'gm'))][n]![1]!.trim();
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase().match(/../g)!.join(' ');
  const data = encodeFrame({ type: 'data', session: 0x2a, seq: 5, payload: Uint8Array.of(0xdf, 0xc0, 0x01) });
  const ack = encodeFrame({ type: 'ack', session: 0x2a, seq: 5, payload: new Uint8Array(0) });
  t.is(hex(data), line('frame'));
  t.is(hex(ack), line('ACK'));
  // And on the wire, through a real link over the mock binding.
  const wire = new MockWire();
  const p = await openPair(wire);
  const seen = () => wire.seen.filter((f) => f.direction === 'a->b' && f.type === 'data').map((f) => f.bytes);
  await p.a.send(Uint8Array.of(0xdf, 0xc0, 0x01));
  const sent = seen()[0]!;
  // The session is random: compare everything else (the wire splits frames after each END).
  t.is(hex(sent).slice(0, 5), '01 01');
  t.is(hex(sent.subarray(sent.length - 1)), 'C0');
  t.true(hex(sent).includes('DF DB DC 01'));
  t.is(line('wire'), `C0 ${hex(data).replace('DF C0 01', 'DF DB DC 01')} C0`);
  await p.close();
});

test('a line that echoes, with no meter on it: the link never acknowledges its own frames, and fails (disconnected)', async (t) => {
  const wire = new MockWire();
  wire.echo = true;
  const a = wire.link('a', { retries: 2 });
  const got: Uint8Array[] = [];
  a.onFrame((f) => got.push(f));
  await a.open();
  // A CONTROL ping acknowledged is the health check for a real meter: an echo must not pass it.
  const e = await t.throwsAsync(a.sendControl(Buffer.from('{"op":"ping","id":0}')), { instanceOf: LinkError });
  t.is(e?.kind, 'disconnected');
  t.is(a.state, 'failed');
  t.deepEqual(got, []);
  t.is(a.stats.acksSent, 0);
  t.is(a.stats.echoes, 3, 'each of the three attempts heard back');
  await a.close();
});

test('a line that echoes both ways, with a device on it: frames cross once each, the echoes dropped', async (t) => {
  const wire = new MockWire();
  wire.echo = true;
  const p = await openPair(wire);
  await p.a.send(Buffer.from('to b'));
  await p.b.send(Buffer.from('to a'));
  await until(() => p.got.a.length === 1 && p.got.b.length === 1);
  t.deepEqual([p.got.a.map(String), p.got.b.map(String)], [['to a'], ['to b']]);
  t.is(p.a.stats.echoes, 1);
  t.is(p.b.stats.echoes, 1);
  t.is(p.a.stats.retransmissions + p.b.stats.retransmissions, 0);
  // Each end hears its own ACK of the other's frame: not the ACK it waits for.
  await until(() => p.a.stats.staleAcks + p.b.stats.staleAcks === 2);
  t.deepEqual([p.a.stats.staleAcks, p.b.stats.staleAcks], [1, 1]);
  await p.close();
});

test('a queued frame whose signal aborts is withdrawn and never crosses; the frame on the wire goes on regardless', async (t) => {
  const wire = new MockWire();
  // The first frame stays unacknowledged for an ACK timeout: the second waits in the queue behind it.
  wire.rule = (f) => (f.direction === 'b->a' && f.type === 'ack' && f.index === 0 ? 'drop' : 'pass');
  const p = await openPair(wire);
  const [first, second] = [new AbortController(), new AbortController()];
  const sending = p.a.send(Buffer.from('on the wire'), { signal: first.signal });
  const queued = p.a.send(Buffer.from('queued'), { signal: second.signal });
  first.abort();
  second.abort();
  const e = await t.throwsAsync(queued, { instanceOf: LinkError });
  t.is(e?.kind, 'withdrawn');
  await t.notThrowsAsync(sending);
  const refused = await t.throwsAsync(p.a.send(Buffer.from('too late'), { signal: AbortSignal.abort() }), { instanceOf: LinkError });
  t.is(refused?.kind, 'withdrawn');
  await p.a.send(Buffer.from('after'));
  await until(() => p.got.b.length === 2);
  t.deepEqual(p.got.b.map(String), ['on the wire', 'after']);
  t.is(p.a.stats.framesSent, 2);
  await p.close();
});

/** A Transport over a mock serial wire to an emulated ESME, the meter's first two ACKs lost (and more, by `rule`). */
async function stalledMeter(rule: (f: WireFrame) => boolean) {
  const wire = new MockWire();
  wire.rule = (f) => ((f.direction === 'b->a' && f.type === 'ack' && f.index < 2) || rule(f) ? 'drop' : 'pass');
  const dcc = wire.link('a', { ackTimeoutMs: 150 });
  const { meter: esme } = meter('esme');
  const host = new DeviceHost(wire.link('b', { ackTimeoutMs: 150 })).add(esme);
  await host.start();
  // The first command stays on the wire, unacknowledged, for two ACK timeouts: longer than the send timeout.
  const transport = new Transport(dcc, { timeouts: { sendMs: 100, responseMs: 10_000 } });
  await transport.open();
  const adjust = (amount: number, counter: bigint) => build.command(ECS04a, { amount }, { device: ESME_EUI, counter });
  return { esme, transport, adjust, close: () => Promise.all([transport.close(), host.stop()]) };
}

test('a send timeout withdraws a command queued behind a stalled one: the meter never executes it', async (t) => {
  const r = await stalledMeter(() => false);
  const balance = r.esme.meterBalance;
  const first = r.transport.request(r.adjust(1, 1n));
  const e = await t.throwsAsync(r.transport.request(r.adjust(100, 2n)), { instanceOf: TransportError });
  t.deepEqual([e?.kind, e?.phase], ['timeout', 'send'], 'a comms failure: the command did not reach the meter');
  await t.notThrowsAsync(first);
  // Anything the link still held would go before this command: the meter executes the first and this one only.
  await r.transport.request(r.adjust(10, 3n), { sendTimeoutMs: 10_000 });
  t.is(r.esme.meterBalance, balance + 11);
  await r.close();
});

test('a command already on the wire at the send timeout is answered, not reported as a send timeout', async (t) => {
  // The meter's first response is lost too: it arrives, retransmitted, after the send timeout.
  const r = await stalledMeter((f) => f.direction === 'b->a' && f.type === 'data' && f.index === 0);
  const balance = r.esme.meterBalance;
  const reply = await r.transport.request(r.adjust(1, 1n));
  t.is(classifyFrame(reply.frame)?.key, classifyFrame(r.adjust(1, 1n))?.key);
  t.is(r.esme.meterBalance, balance + 1);
  t.deepEqual([r.transport.stats.responses, r.transport.stats.timeouts], [1, 0]);
  await r.close();
});
