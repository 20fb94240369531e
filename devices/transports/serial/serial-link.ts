/**
 * A Link over a serial line (a UART, a USB serial adapter, a pty): SLIP framing (from
 * @serialport/parser-slip-encoder), and inside each SLIP frame the small header of frame.ts with a CRC-32.
 * Reliability is stop-and-wait: one DATA or CONTROL frame outstanding per direction, retransmitted until the far
 * end acknowledges it or the retry limit is reached; the receiver acknowledges every good frame and delivers a
 * frame only once (a retransmission whose ACK was lost has the session and seq it already delivered). Frames
 * that fail the CRC are dropped and counted: the sender's retransmission repairs them. Frames with our own
 * session are our own, echoed by the line: dropped unacknowledged, so an echo never passes for a meter.
 *
 * A far end that stops acknowledging (cable pulled, device off) fails the link with LinkError 'disconnected', as
 * does the port going away under us (a pty whose other side died, a USB adapter unplugged). Nothing here needs
 * modem lines (RTS/DTR): they do not exist on a pty.
 *
 * serialport is imported only when a SerialLink opens, so nothing else in the project loads the native binding.
 */
import { randomInt } from 'node:crypto';
import type { SerialPort as SerialPortStream } from 'serialport';
import { type Link, LinkError, type LinkState, type SendOptions } from '../link.ts';
import { CRC_LENGTH, decodeFrame, encodeFrame, type FrameDecodeError, type FrameTypeName, HEADER_LENGTH, MAX_PAYLOAD } from './frame.ts';
import { BoundedSlipDecoder, type SlipJunk } from './slip-decoder.ts';
import { Listeners } from '../listeners.ts';

export interface SerialLinkOptions {
  path: string;
  /** Default 115200. A pty ignores it; ACK timeouts still allow for it. */
  baudRate?: number;
  /** For logs and errors; default "serial:<path>". */
  name?: string;
  /** Waiting for an ACK: this much plus twice the frame's transmission time at the baud rate (default 200 ms). */
  ackTimeoutMs?: number;
  /** Retransmissions before the far end is declared gone (default 8). */
  retries?: number;
  /** The serialport binding; default the platform's (tests pass @serialport/binding-mock's MockBinding). */
  binding?: SerialBinding;
}

export interface SerialLinkStats {
  framesSent: number;
  framesDelivered: number;
  retransmissions: number;
  /** Good frames received again after their ACK was lost: acknowledged again, not delivered. */
  duplicates: number;
  /** SLIP frames dropped as damaged (by CRC, length, version or type). */
  corrupt: number;
  acksSent: number;
  acksReceived: number;
  /** ACKs for a frame that is not the one outstanding (late, or of an older session). */
  staleAcks: number;
  /** Our own DATA and CONTROL frames heard back from a line that echoes: dropped, never acknowledged. */
  echoes: number;
}

/** What happened on the wire, for device logs and debugging. */
export interface SerialTraceEvent {
  dir: 'tx' | 'rx';
  type: FrameTypeName | 'junk';
  session?: number;
  seq?: number;
  length: number;
  note?: 'retransmit' | 'duplicate' | 'echo' | FrameDecodeError | SlipJunk;
}

interface Pending {
  type: 'data' | 'control';
  payload: Uint8Array;
  resolve: () => void;
  reject: (e: LinkError) => void;
}

interface Outstanding extends Pending {
  seq: number;
  wire: Buffer;
  attempts: number;
  timer: NodeJS.Timeout | null;
}

const DEFAULT_BAUD = 115200;

/** A serialport binding (the platform's, or a mock). */
export type SerialBinding = typeof SerialPortStream.binding;

export class SerialLink implements Link {
  readonly name: string;
  private st: LinkState = 'closed';
  private port: SerialPortStream | null = null;
  private write: ((frame: Buffer) => void) | null = null;
  private session = 0;
  private txSeq = 0;
  /** The last frame delivered: a frame with the same session and seq is a retransmission. Kept across reopens. */
  private lastRx: { session: number; seq: number } | null = null;
  private queue: Pending[] = [];
  private outstanding: Outstanding | null = null;
  private readonly frameListeners = new Listeners<[frame: Uint8Array]>();
  private readonly controlListeners = new Listeners<[message: Uint8Array]>();
  private readonly stateListeners = new Listeners<[state: LinkState, error?: LinkError]>();
  private readonly traceListeners = new Listeners<[e: SerialTraceEvent]>();
  readonly stats: SerialLinkStats = { framesSent: 0, framesDelivered: 0, retransmissions: 0, duplicates: 0, corrupt: 0, acksSent: 0, acksReceived: 0, staleAcks: 0, echoes: 0 };
  private readonly baudRate: number;
  private readonly ackTimeoutMs: number;
  private readonly retries: number;

  constructor(private readonly o: SerialLinkOptions) {
    this.name = o.name ?? `serial:${o.path}`;
    this.baudRate = o.baudRate ?? DEFAULT_BAUD;
    this.ackTimeoutMs = o.ackTimeoutMs ?? 200;
    this.retries = o.retries ?? 8;
  }

  get state(): LinkState {
    return this.st;
  }

  get path(): string {
    return this.o.path;
  }

  async open(): Promise<void> {
    if (this.st === 'open') return;
    if (this.st === 'opening') throw new LinkError('open-failed', `${this.name}: already opening`);
    this.setState('opening');
    const { SlipEncoder } = await import('@serialport/parser-slip-encoder');
    let port: SerialPortStream;
    try {
      port = await openPort(this.o.path, this.baudRate, this.o.binding);
    } catch (e) {
      const error = new LinkError('open-failed', `${this.name}: cannot open ${this.o.path}: ${(e as Error).message}`);
      this.setState('failed', error);
      throw error;
    }
    if ((this.st as LinkState) !== 'opening') {
      // Closed while opening.
      await closePort(port);
      throw new LinkError('closed', `${this.name}: closed while opening`);
    }
    // A leading END flushes whatever line noise came before a frame (RFC 1055 allows it).
    const encoder = new SlipEncoder({ bluetoothQuirk: true });
    encoder.on('data', (chunk: Buffer) => {
      if (this.port === port && port.isOpen) port.write(chunk);
    });
    const decoder = new BoundedSlipDecoder(HEADER_LENGTH + MAX_PAYLOAD + CRC_LENGTH, {
      frame: (frame) => {
        if (this.port === port) this.receive(frame);
      },
      junk: (length, reason) => {
        if (this.port !== port) return;
        this.stats.corrupt++;
        this.trace({ dir: 'rx', type: 'junk', length, note: reason });
      },
    });
    port.on('data', (chunk: Buffer) => decoder.write(chunk));
    port.on('close', (err?: Error & { disconnected?: boolean }) => this.portGone(port, err));
    port.on('error', (err: Error) => this.portGone(port, err));
    this.port = port;
    this.write = (frame) => encoder.write(frame);
    // A new session per open: the far end cannot mistake our first frame for a retransmission of an old one.
    this.session = randomInt(1, 0xffffffff);
    this.txSeq = 0;
    this.setState('open');
    this.pump();
  }

  async close(): Promise<void> {
    if (this.st === 'closed') return;
    const port = this.port;
    this.teardown(new LinkError('closed', `${this.name}: link closed`));
    this.setState('closed');
    if (port) await closePort(port);
  }

  /** Aborting `o.signal` withdraws the frame while it waits in the queue; once on the wire it goes on. */
  send(frame: Uint8Array, o: SendOptions = {}): Promise<void> {
    return this.enqueue('data', frame, o.signal);
  }

  /** Sends a management message (emulated devices only; a real meter acknowledges and drops it). */
  sendControl(message: Uint8Array): Promise<void> {
    return this.enqueue('control', message);
  }

  onFrame(listener: (frame: Uint8Array) => void): () => void {
    return this.frameListeners.add(listener);
  }

  onControl(listener: (message: Uint8Array) => void): () => void {
    return this.controlListeners.add(listener);
  }

  onState(listener: (state: LinkState, error?: LinkError) => void): () => void {
    return this.stateListeners.add(listener);
  }

  onTrace(listener: (e: SerialTraceEvent) => void): () => void {
    return this.traceListeners.add(listener);
  }

  private enqueue(type: 'data' | 'control', payload: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.st !== 'open') return Promise.reject(new LinkError(this.st === 'failed' ? 'disconnected' : 'closed', `${this.name}: link is ${this.st}`));
    if (payload.length === 0 || payload.length > MAX_PAYLOAD) return Promise.reject(new RangeError(`${this.name}: a frame carries 1..${MAX_PAYLOAD} octets, not ${payload.length}`));
    const withdrawn = () => new LinkError('withdrawn', `${this.name}: frame withdrawn before it was sent`);
    if (signal?.aborted) return Promise.reject(withdrawn());
    return new Promise<void>((resolve, reject) => {
      // Only a frame still queued can be taken back: one on the wire may already have reached the far end.
      const withdraw = () => {
        const i = this.queue.indexOf(p);
        if (i < 0) return;
        this.queue.splice(i, 1);
        reject(withdrawn());
      };
      const settled = () => signal?.removeEventListener('abort', withdraw);
      const p: Pending = {
        type,
        payload: Uint8Array.from(payload),
        resolve: () => {
          settled();
          resolve();
        },
        reject: (e) => {
          settled();
          reject(e);
        },
      };
      signal?.addEventListener('abort', withdraw, { once: true });
      this.queue.push(p);
      this.pump();
    });
  }

  /** Sends the next queued frame when nothing is outstanding. */
  private pump(): void {
    if (this.outstanding || this.st !== 'open') return;
    const next = this.queue.shift();
    if (!next) return;
    const seq = this.txSeq;
    const wire = encodeFrame({ type: next.type, session: this.session, seq, payload: next.payload });
    this.outstanding = { ...next, seq, wire, attempts: 0, timer: null };
    this.transmit();
  }

  private transmit(): void {
    const o = this.outstanding;
    if (!o || !this.write) return;
    o.attempts++;
    if (o.attempts > 1) this.stats.retransmissions++;
    else this.stats.framesSent++;
    this.trace({ dir: 'tx', type: o.type, session: this.session, seq: o.seq, length: o.payload.length, ...(o.attempts > 1 ? { note: 'retransmit' as const } : {}) });
    this.write(o.wire);
    // Room for our frame and the far end's ACK to cross the line, twice over (10 bits an octet).
    const ms = this.ackTimeoutMs + Math.ceil((2 * (o.wire.length + 16) * 10_000) / this.baudRate);
    o.timer = setTimeout(() => this.ackTimedOut(o), ms);
  }

  private ackTimedOut(o: Outstanding): void {
    if (this.outstanding !== o) return;
    o.timer = null;
    if (o.attempts > this.retries) {
      this.fail(new LinkError('disconnected', `${this.name}: no acknowledgement after ${o.attempts} attempts: the far end is gone (cable unplugged or device off?)`));
      return;
    }
    this.transmit();
  }

  private receive(raw: Buffer): void {
    if (raw.length === 0 || this.st !== 'open') return;
    const d = decodeFrame(raw);
    if (!d.ok) {
      this.stats.corrupt++;
      this.trace({ dir: 'rx', type: 'junk', length: raw.length, note: d.error });
      return;
    }
    const f = d.frame;
    if (f.type === 'ack') {
      const o = this.outstanding;
      if (!o || f.session !== this.session || f.seq !== o.seq) {
        this.stats.staleAcks++;
        return;
      }
      this.stats.acksReceived++;
      this.trace({ dir: 'rx', type: 'ack', session: f.session, seq: f.seq, length: 0 });
      if (o.timer) clearTimeout(o.timer);
      this.outstanding = null;
      this.txSeq = (this.txSeq + 1) & 0xff;
      o.resolve();
      this.pump();
      return;
    }
    if (f.session === this.session) {
      // Our own frame, echoed by the line (a loopback plug, an RS-485 adapter, a tty with echo on). Acknowledged,
      // its echoed ACK would pass for the far end's: a line with no meter on it would look healthy.
      this.stats.echoes++;
      this.trace({ dir: 'rx', type: f.type, session: f.session, seq: f.seq, length: f.payload.length, note: 'echo' });
      return;
    }
    // Acknowledge every good frame, a retransmission too: its first ACK may be the one that was lost.
    this.stats.acksSent++;
    this.write?.(encodeFrame({ type: 'ack', session: f.session, seq: f.seq, payload: new Uint8Array(0) }));
    if (this.lastRx && this.lastRx.session === f.session && this.lastRx.seq === f.seq) {
      this.stats.duplicates++;
      this.trace({ dir: 'rx', type: f.type, session: f.session, seq: f.seq, length: f.payload.length, note: 'duplicate' });
      return;
    }
    this.lastRx = { session: f.session, seq: f.seq };
    this.stats.framesDelivered++;
    this.trace({ dir: 'rx', type: f.type, session: f.session, seq: f.seq, length: f.payload.length });
    (f.type === 'data' ? this.frameListeners : this.controlListeners).emit(f.payload);
  }

  private portGone(port: SerialPortStream, err?: Error & { disconnected?: boolean }): void {
    if (this.port !== port || this.st !== 'open') return;
    this.fail(new LinkError('disconnected', `${this.name}: the serial port went away (${err?.message ?? 'hang-up'})`));
  }

  private fail(error: LinkError): void {
    if (this.st !== 'open' && this.st !== 'opening') return;
    const port = this.port;
    this.teardown(error);
    this.setState('failed', error);
    if (port) void closePort(port);
  }

  /** Stops timers and rejects everything queued; the port is closed by the caller. */
  private teardown(error: LinkError): void {
    const o = this.outstanding;
    this.outstanding = null;
    if (o?.timer) clearTimeout(o.timer);
    const queued = this.queue;
    this.queue = [];
    this.port = null;
    this.write = null;
    o?.reject(error);
    for (const p of queued) p.reject(error);
  }

  private setState(state: LinkState, error?: LinkError): void {
    this.st = state;
    this.stateListeners.emit(state, error);
  }

  private trace(e: SerialTraceEvent): void {
    this.traceListeners.emit(e);
  }
}

async function openPort(path: string, baudRate: number, binding: SerialBinding | undefined): Promise<SerialPortStream> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false, ...(binding ? { binding } : {}) });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  // Bytes left in the driver from an earlier session are not ours to deliver.
  await new Promise<void>((resolve) => port.flush(() => resolve()));
  return port;
}

function closePort(port: SerialPortStream): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) return resolve();
    port.close(() => resolve());
  });
}
