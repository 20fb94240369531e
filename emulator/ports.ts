/**
 * What the DCC needs from the outside world, as interfaces the harness fills in. The DCC never imports the
 * device emulators: it reaches devices through these ports, which the harness backs with Transports over
 * memory, serial or ZigBee Links (DESIGN.md: emulator/ and devices/ meet only through a Transport).
 */
import type { Eui } from '../protocol/smki/eui.ts';
import type { DeviceRecord } from './registry.ts';

export type DeviceReply =
  | { kind: 'response'; frame: Uint8Array }
  /** The device did not answer in time (DUIS E21). */
  | { kind: 'no-response'; reason: string }
  /** The DCC could not reach the device (DUIS E20). */
  | { kind: 'comms-failure'; reason: string };

/** A SMETS1 operation after the DCC's checks, for the S1SP to carry out. */
export interface Smets1Operation {
  srv: string;
  /** The Service Request body as the DCC parsed it (for SRV 1.6: UpdatePaymentMode). */
  body: unknown;
  /** The DUIS RequestID counter: the S1SP carries it as the instruction's reference (it numbers instructions itself). */
  counter: bigint;
  user: Eui;
}

export interface DevicePort {
  /** Sends a GBCS Command (SMETS2+) and waits for the device's response. */
  sendCommand(device: DeviceRecord, command: Uint8Array, timeoutMs: number): Promise<DeviceReply>;
  /** Hands a SMETS1 operation to the S1SP serving the device and waits for the outcome. */
  sendSmets1(device: DeviceRecord, operation: Smets1Operation, timeoutMs: number): Promise<DeviceReply>;
  /** SRVs this device can carry out (for the E11 check). */
  supportedSrvs(device: DeviceRecord): ReadonlySet<string>;
  /** Alerts from any device (GBCS frames, CRA 03). */
  onAlert(listener: (device: Eui, frame: Uint8Array) => void): () => void;
  /** The device's current state as JSON, for devices this service hosts. */
  state(device: Eui): unknown | undefined;
}
