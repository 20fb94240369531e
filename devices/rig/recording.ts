/**
 * Frame recordings: every frame on a device link as a JSON line {at, device, dir, kind, hex}, written by a
 * RecordingLink wrapped around any Link (memory, serial, ZigBee), and played back by a ReplayLink for offline
 * debugging and tests: the ReplayLink stands in for the DCC's end of the recorded link, answering each frame
 * sent to it with the frames the device sent after that frame in the recording.
 */
import { readFileSync, type WriteStream } from 'node:fs';
import { z } from 'zod';
import { type Link, LinkError, type LinkState, type SendOptions } from '../transports/link.ts';
import { Listeners } from '../transports/listeners.ts';
import { appendStream } from './rig-files.ts';

export interface RecordedFrame {
  at: string;
  device: string;
  /** to-device: sent by the DCC side; to-dcc: received from the device. */
  dir: 'to-device' | 'to-dcc';
  kind: 'data' | 'control';
  hex: string;
}

export class FrameRecorder {
  private readonly stream: WriteStream;

  constructor(
    readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.stream = appendStream(path, 'the frame recording');
  }

  record(device: string, dir: RecordedFrame['dir'], frame: Uint8Array, kind: RecordedFrame['kind'] = 'data'): void {
    this.write(this.line(device, dir, frame, kind));
  }

  /** The line recording a frame seen now, for `write` to add later. */
  line(device: string, dir: RecordedFrame['dir'], frame: Uint8Array, kind: RecordedFrame['kind'] = 'data'): string {
    const r: RecordedFrame = { at: this.now().toISOString(), device, dir, kind, hex: Buffer.from(frame).toString('hex') };
    return JSON.stringify(r) + '\n';
  }

  write(line: string): void {
    this.stream.write(line);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}

const recordedFrame = z.strictObject({
  at: z.string(),
  device: z.string().min(1),
  dir: z.enum(['to-device', 'to-dcc']),
  kind: z.enum(['data', 'control']),
  hex: z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'hex octets'),
});

/** A recording line that is not a recorded frame; `line` counts from 1. */
export class RecordingError extends Error {
  constructor(
    readonly path: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${path}:${line}: ${problem}`);
  }
}

/**
 * Parses a recording's text; the first line that is not a recorded frame throws RecordingError. A last line
 * cut short (no newline, not JSON: the recorder was stopped mid-write) goes to `onTornTail` if given, else throws.
 */
export function parseRecording(text: string, path = 'recording', onTornTail?: (line: number) => void): RecordedFrame[] {
  const frames: RecordedFrame[] = [];
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(l);
    } catch (e) {
      if (onTornTail && i === lines.length - 1) return onTornTail(i + 1);
      throw new RecordingError(path, i + 1, `not JSON (${(e as Error).message})`);
    }
    const r = recordedFrame.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new RecordingError(path, i + 1, `${issue.path.join('.') || 'line'}: ${issue.message}`);
    }
    frames.push(r.data);
  });
  return frames;
}

export function readRecording(path: string): RecordedFrame[] {
  return parseRecording(readFileSync(path, 'utf8'), path);
}

interface HeldLine {
  line: string | null;
  settled: boolean;
}

/**
 * Records what crosses `inner` (the DCC's end of a device link) and otherwise is `inner`. Lines keep the order
 * in which frames were handed to the link or came from it, but a frame sent is only written once its send
 * settles: one withdrawn before it left (see Link.send) never crossed the link and is left out.
 */
export class RecordingLink implements Link {
  /** Lines in order, written from the front as far as every send among them has settled (null: withdrawn). */
  private readonly held: HeldLine[] = [];

  constructor(
    readonly inner: Link,
    private readonly recorder: FrameRecorder,
    private readonly device: string,
  ) {
    inner.onFrame((f) => {
      this.held.push({ line: recorder.line(device, 'to-dcc', f), settled: true });
      this.flush();
    });
  }

  get name(): string {
    return this.inner.name;
  }
  get state(): LinkState {
    return this.inner.state;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async send(frame: Uint8Array, o: SendOptions = {}): Promise<void> {
    const sent: HeldLine = { line: this.recorder.line(this.device, 'to-device', frame), settled: false };
    this.held.push(sent);
    try {
      await this.inner.send(frame, o);
    } catch (e) {
      if (e instanceof LinkError && e.kind === 'withdrawn') sent.line = null;
      throw e;
    } finally {
      sent.settled = true;
      this.flush();
    }
  }
  onFrame(listener: (frame: Uint8Array) => void): () => void {
    return this.inner.onFrame(listener);
  }
  onState(listener: (state: LinkState, error?: LinkError) => void): () => void {
    return this.inner.onState(listener);
  }

  private flush(): void {
    while (this.held[0]?.settled) {
      const { line } = this.held.shift()!;
      if (line) this.recorder.write(line);
    }
  }
}

export interface ReplayOptions {
  /** Only this device's frames (default: every frame of the recording). */
  device?: string;
  /** Refuse a frame that differs from the recorded one (default: note the divergence and go on). */
  strict?: boolean;
}

/**
 * Plays a recording back as the device's side of a link. Frames the device sent before the first recorded
 * command arrive on open; every frame sent then answers with the device's frames recorded after it.
 */
export class ReplayLink implements Link {
  readonly name: string;
  private st: LinkState = 'closed';
  private position = 0;
  private readonly frames: RecordedFrame[];
  private readonly frameListeners = new Listeners<[frame: Uint8Array]>();
  private readonly stateListeners = new Listeners<[state: LinkState, error?: LinkError]>();
  readonly divergences: { index: number; expected: string | null; got: string }[] = [];

  constructor(
    recording: readonly RecordedFrame[],
    private readonly o: ReplayOptions = {},
  ) {
    this.frames = recording.filter((f) => f.kind === 'data' && (!o.device || f.device === o.device));
    this.name = `replay:${o.device ?? 'all'}`;
  }

  get state(): LinkState {
    return this.st;
  }

  /** Recorded frames not yet played. */
  get remaining(): number {
    return this.frames.length - this.position;
  }

  async open(): Promise<void> {
    this.setState('open');
    this.playAnswers();
  }

  async close(): Promise<void> {
    if (this.st !== 'closed') this.setState('closed');
  }

  async send(frame: Uint8Array): Promise<void> {
    if (this.st !== 'open') throw new LinkError('closed', `${this.name}: link is ${this.st}`);
    const got = Buffer.from(frame).toString('hex');
    const next = this.frames[this.position];
    const expected = next?.dir === 'to-device' ? next.hex : null;
    if (expected !== got) {
      this.divergences.push({ index: this.position, expected, got });
      if (this.o.strict) throw new LinkError('corrupt', `${this.name}: frame ${this.position} differs from the recording`);
    }
    if (next?.dir === 'to-device') this.position++;
    this.playAnswers();
  }

  onFrame(listener: (frame: Uint8Array) => void): () => void {
    return this.frameListeners.add(listener);
  }

  onState(listener: (state: LinkState, error?: LinkError) => void): () => void {
    return this.stateListeners.add(listener);
  }

  /** Delivers the device's recorded frames up to the next frame the DCC side sent, asynchronously, in order. */
  private playAnswers(): void {
    const out: Buffer[] = [];
    while (this.frames[this.position]?.dir === 'to-dcc') out.push(Buffer.from(this.frames[this.position++]!.hex, 'hex'));
    if (!out.length) return;
    setImmediate(() => {
      for (const f of out) if (this.st === 'open') this.frameListeners.emit(f);
    });
  }

  private setState(state: LinkState): void {
    this.st = state;
    this.stateListeners.emit(state);
  }
}
