/**
 * Two serial ports of @serialport/binding-mock joined by a wire the test controls: what one end writes reaches
 * the other, SLIP frame by SLIP frame, unless a rule drops or damages it or the wire is cut.
 */
import { SerialPortMock } from 'serialport';
import { FrameType } from '../../../../devices/transports/serial/frame.ts';
import { SerialLink, type SerialLinkOptions, type SerialBinding } from '../../../../devices/transports/serial/serial-link.ts';

export type WireDirection = 'a->b' | 'b->a';
export type WireAction = 'drop' | 'flip' | 'pass';

export interface WireFrame {
  direction: WireDirection;
  type: 'data' | 'ack' | 'control' | 'unknown';
  /** Counted from 0 per direction and type. */
  index: number;
  bytes: Buffer;
}

// @serialport/binding-mock's package exports hide its types from NodeNext resolution; serialport re-exports it.
const MockBinding = SerialPortMock.binding;
type MockPortBinding = Awaited<ReturnType<typeof MockBinding.open>>;

let pairs = 0;

export class MockWire {
  readonly pathA: string;
  readonly pathB: string;
  readonly binding: SerialBinding;
  /** Decides each frame's fate; default: pass everything. */
  rule: (f: WireFrame) => WireAction = () => 'pass';
  /** Bytes to insert before the next frame in a direction (line noise). */
  noise: Record<WireDirection, Buffer[]> = { 'a->b': [], 'b->a': [] };
  cut = false;
  /** Each port also hears what it writes, as through a loopback plug or an RS-485 adapter's echo. */
  echo = false;
  readonly seen: WireFrame[] = [];
  private readonly ports = new Map<string, MockPortBinding>();
  private readonly counts = new Map<string, number>();

  constructor() {
    const n = ++pairs;
    this.pathA = `/dev/mock-a${n}`;
    this.pathB = `/dev/mock-b${n}`;
    MockBinding.createPort(this.pathA);
    MockBinding.createPort(this.pathB);
    const open = MockBinding.open.bind(MockBinding);
    this.binding = {
      ...MockBinding,
      open: async (options: Parameters<typeof MockBinding.open>[0]) => {
        const port = await open(options);
        this.ports.set(options.path, port);
        const write = port.write.bind(port);
        port.write = async (buffer: Buffer) => {
          await write(buffer);
          this.carry(options.path === this.pathA ? 'a->b' : 'b->a', buffer);
        };
        return port;
      },
    } as unknown as SerialBinding;
  }

  link(end: 'a' | 'b', o: Partial<SerialLinkOptions> = {}): SerialLink {
    return new SerialLink({ path: end === 'a' ? this.pathA : this.pathB, binding: this.binding, ackTimeoutMs: 40, ...o });
  }

  private carry(direction: WireDirection, buffer: Buffer): void {
    if (this.cut) return;
    const peer = this.ports.get(direction === 'a->b' ? this.pathB : this.pathA);
    const self = this.ports.get(direction === 'a->b' ? this.pathA : this.pathB);
    if (!peer?.isOpen && !this.echo) return;
    const out: Buffer[] = [];
    // SLIP frames end with END (0xC0), which never occurs inside one; version and type octets are never escaped.
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      if (buffer[i] !== 0xc0) continue;
      const chunk = buffer.subarray(start, i + 1);
      start = i + 1;
      if (chunk.length <= 1) {
        out.push(chunk);
        continue;
      }
      const typeByte = chunk[1];
      const type = typeByte === FrameType.data ? 'data' : typeByte === FrameType.ack ? 'ack' : typeByte === FrameType.control ? 'control' : 'unknown';
      const key = `${direction}/${type}`;
      const index = this.counts.get(key) ?? 0;
      this.counts.set(key, index + 1);
      const frame: WireFrame = { direction, type, index, bytes: Buffer.from(chunk) };
      this.seen.push(frame);
      out.push(...this.noise[direction].splice(0));
      const action = this.rule(frame);
      if (action === 'drop') continue;
      if (action === 'flip') {
        const damaged = Buffer.from(chunk);
        const at = Math.max(1, damaged.length >> 1);
        damaged[at] = damaged[at]! ^ 0x10;
        out.push(damaged);
      } else out.push(chunk);
    }
    if (start < buffer.length) out.push(buffer.subarray(start));
    const bytes = Buffer.concat(out);
    if (!bytes.length) return;
    if (peer?.isOpen) peer.emitData(bytes);
    if (this.echo && self?.isOpen) self.emitData(Buffer.from(bytes));
  }
}
