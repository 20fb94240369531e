/**
 * Where a scenario's devices live: emulated in this process, emulated in another process behind a serial line,
 * or real hardware on a rig. The engine sees them only through this interface; the DCC sees them through the
 * DevicePort it exposes.
 */
import type { ExecutionKind } from '../../devices/expected-changes.ts';
import type { DeviceProvisioner } from '../../emulator/admin.ts';
import type { DevicePort } from '../../emulator/ports.ts';
import type { Eui } from '../../protocol/smki/eui.ts';

/** What a scenario asks a device to start as. */
export interface DevicePlan {
  alias: string;
  eui: Eui;
  type: 'ESME' | 'GSME' | 'SMETS1';
  twin: boolean;
  fuel: 'electricity' | 'gas';
  initial: { paymentMode?: 'credit' | 'prepayment'; meterBalance?: number };
  requires: readonly string[];
}

/** A fault on the link to the devices, for scenarios that prove a meter's own checks. */
export interface LinkFault {
  action: 'drop' | 'duplicate' | 'corrupt' | 'delay';
  direction: 'to-device' | 'to-dcc';
  times: number;
  /** For corrupt: which part of the frame to damage (the ACB MAC is the last 12 octets of a Command). */
  part?: 'middle' | 'mac';
  delayMs?: number;
}

export interface DevicePool {
  /** Describes the pool in reports: "emulated", "rig:rigs/bench-1.yaml". */
  readonly target: string;
  readonly port: DevicePort;
  readonly provisioner: DeviceProvisioner;
  /** Declares the devices of a world before the DCC registers them (their start state, their EUIs on a rig). */
  plan(devices: readonly DevicePlan[], start: Date): Promise<void>;
  /** A device's state as JSON (its snapshot), or undefined if unknown. */
  snapshot(eui: Eui): unknown;
  /** Advances every device clock of the world. */
  advance(ms: number): void;
  /**
   * Brings the clocks of emulated devices up to `at` (never back): a live world keeps them in step with its
   * DCC's real-time clock, so future-dated commands fall due on them as on a real meter, which keeps its own.
   */
  follow(at: Date): void;
  /** Timestamped log lines per device alias. */
  logs(): Record<string, string[]>;
  /**
   * Device fields a step may change. `kind` is the GBCS use case a request executed (ECS02, GCS40a...), null
   * for a request the device answered with a failure, 'advance' for time passing on a meter whose pending
   * changes cannot be read (whatever may be pending falls due), or 'solr-credit' for the only fields a SoLR
   * Contingency switch to Credit may change. `source` is the remote party whose counter the command advances.
   * `execution`: what the meter can have made of the command (executed now, scheduled, cancelled), when known;
   * else whatever the use case writes in any of them.
   */
  allowedChanges(kind: string | null, srv: string, device: Eui, source?: Eui, execution?: ExecutionKind): readonly string[];
  /** Arms a fault on the device link (pools whose links cannot inject faults leave this out). */
  injectFault?(fault: LinkFault): void;
  close(): Promise<void>;
}
