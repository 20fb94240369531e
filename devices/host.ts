/**
 * Attaches emulated devices to the device end of a Link: frames from the link go to the device they are
 * addressed to, and whatever a device sends (responses, alerts) goes back over the link. One host can serve one
 * meter or a whole fleet behind one link; `resolve` lets a fleet create meters only when first addressed.
 */
import { type Eui } from '../protocol/smki/eui.ts';
import { frameTarget } from './transports/frame-keys.ts';
import { type Link } from './transports/link.ts';

/** What a host needs from a device: Meter (meter.ts) provides it. */
export interface HostedDevice {
  readonly eui: Eui;
  handleFrame(frame: Uint8Array): void;
  setOutput(sink: ((frame: Uint8Array) => void) | null): void;
}

export interface DeviceHostOptions {
  /** Supplies a device the host does not hold yet (created lazily, then kept). */
  resolve?: (eui: Eui) => HostedDevice | undefined;
  /**
   * A device that throws on a frame (a defect of the emulator, not of the frame) is reported here, and the host
   * serves on: the frame goes unanswered, as a real meter's fault would leave it. By default, on stderr.
   */
  onDeviceError?: (eui: Eui, error: Error) => void;
}

export interface DeviceHostStats {
  delivered: number;
  /** Frames whose target could not be read or is not here (with one device hosted, it gets them instead). */
  unroutable: number;
  sent: number;
  sendFailures: number;
  /** Frames a device threw on. */
  deviceErrors: number;
}

export class DeviceHost {
  private readonly devices = new Map<Eui, HostedDevice>();
  private readonly resolve: ((eui: Eui) => HostedDevice | undefined) | undefined;
  private readonly onDeviceError: (eui: Eui, error: Error) => void;
  private unsubscribe: (() => void) | null = null;
  /** One function for every device (a closure per meter would cost memory in a fleet). */
  private readonly sink = (frame: Uint8Array) => this.send(frame);
  readonly stats: DeviceHostStats = { delivered: 0, unroutable: 0, sent: 0, sendFailures: 0, deviceErrors: 0 };

  constructor(
    readonly link: Link,
    o: DeviceHostOptions = {},
  ) {
    this.resolve = o.resolve;
    this.onDeviceError = o.onDeviceError ?? ((eui, e) => process.stderr.write(`device ${eui} failed on a frame (left unanswered): ${e.stack ?? e.message}\n`));
  }

  /** Hosts `device`; one already hosted under its EUI is replaced and may no longer send over the link. */
  add(device: HostedDevice): this {
    const replaced = this.devices.get(device.eui);
    if (replaced && replaced !== device) replaced.setOutput(null);
    this.devices.set(device.eui, device);
    device.setOutput(this.sink);
    return this;
  }

  remove(eui: Eui): void {
    this.devices.get(eui)?.setOutput(null);
    this.devices.delete(eui);
  }

  get(eui: Eui): HostedDevice | undefined {
    return this.devices.get(eui);
  }

  get size(): number {
    return this.devices.size;
  }

  /** Opens the link and starts serving. */
  async start(): Promise<void> {
    if (!this.unsubscribe) this.unsubscribe = this.link.onFrame((f) => this.route(f));
    await this.link.open();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.link.close();
  }

  private route(frame: Uint8Array): void {
    const target = frameTarget(frame);
    let device = target ? (this.devices.get(target) ?? this.lazy(target)) : undefined;
    if (!device) {
      this.stats.unroutable++;
      // A frame too broken to address (or addressed elsewhere) still reaches a lone device, which logs it.
      if (this.devices.size !== 1) return;
      device = this.devices.values().next().value!;
    }
    this.stats.delivered++;
    try {
      device.handleFrame(frame);
    } catch (e) {
      // Thrown back into the link, it would take down the process hosting every other meter (a whole fleet).
      this.stats.deviceErrors++;
      this.onDeviceError(device.eui, e instanceof Error ? e : new Error(String(e)));
    }
  }

  private lazy(eui: Eui): HostedDevice | undefined {
    const device = this.resolve?.(eui);
    if (device) this.add(device);
    return device;
  }

  private send(frame: Uint8Array): void {
    this.stats.sent++;
    this.link.send(frame).catch(() => {
      // The device cannot tell a lost answer from a delivered one; the DCC side sees a timeout.
      this.stats.sendFailures++;
    });
  }
}
