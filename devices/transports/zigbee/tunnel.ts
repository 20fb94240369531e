/**
 * GBCS over the Smart Energy Tunneling cluster (0x0704): the cluster's commands, and the GBCS framing of
 * what a Transfer Data carries.
 *
 * The Communications Hub (here: the harness) opens a tunnel to a meter with Request Tunnel, and GBCS fixes
 * its parameters: ProtocolID 6 (GB-HGRP), ManufacturerCode 0xFFFF ("not used"), FlowControlSupport false,
 * MaximumIncomingTransferSize 1500. Transfer Data then carries one GBCS message per command both ways (a
 * 1500-octet message relies on APS fragmentation below ZCL). A Transfer Data payload is either a GBCS APDU as
 * is (it starts 0xDD General-Ciphering, 0xDF General-Signing, ...) or a one-octet tunnel command first:
 * 0x01 GET, 0x02 GET-RESPONSE (then a count of messages still waiting), 0x03 PUT (then the message).
 *
 * [model] This link sends a frame as is unless its first octet could be read as a tunnel command (only
 * non-GBCS test frames can), in which case it sends PUT + frame; a receiver accepts either form.
 */
import { decodeZcl, encodeZcl, ZclError } from './zcl.ts';

export const TUNNELING_CLUSTER = 0x0704;
export const GBCS_PROTOCOL_ID = 6;
export const MANUFACTURER_CODE_NOT_USED = 0xffff;
export const GBCS_MAX_TRANSFER_SIZE = 1500;

/** Request Tunnel Response status. */
export const TunnelStatus = {
  SUCCESS: 0x00,
  BUSY: 0x01,
  NO_MORE_TUNNEL_IDS: 0x02,
  PROTOCOL_NOT_SUPPORTED: 0x03,
  FLOW_CONTROL_NOT_SUPPORTED: 0x04,
} as const;

/** Transfer Data Error status. */
export const TransferDataStatus = {
  NO_SUCH_TUNNEL: 0x00,
  WRONG_DEVICE: 0x01,
  DATA_OVERFLOW: 0x02,
} as const;

export function tunnelStatusText(s: number): string {
  return ['success', 'busy', 'no more tunnel ids', 'protocol not supported', 'flow control not supported'][s] ?? `status 0x${s.toString(16)}`;
}

export function transferDataStatusText(s: number): string {
  return ['no such tunnel', 'wrong device', 'data overflow'][s] ?? `status 0x${s.toString(16)}`;
}

export type TunnelCommand =
  | { name: 'request-tunnel'; protocolId: number; manufacturerCode: number; flowControl: boolean; maxIncomingTransferSize: number }
  | { name: 'close-tunnel'; tunnelId: number }
  | { name: 'request-tunnel-response'; tunnelId: number; status: number; maxIncomingTransferSize: number }
  | { name: 'transfer-data'; direction: 'client-to-server' | 'server-to-client'; tunnelId: number; data: Buffer }
  | { name: 'transfer-data-error'; direction: 'client-to-server' | 'server-to-client'; tunnelId: number; status: number }
  | { name: 'tunnel-closure-notification'; tunnelId: number };

const u16 = (v: number) => Buffer.of(v & 0xff, (v >> 8) & 0xff);

/** Command id and direction of each command on the wire. */
function idOf(c: TunnelCommand): { command: number; direction: 'client-to-server' | 'server-to-client' } {
  switch (c.name) {
    case 'request-tunnel':
      return { command: 0x00, direction: 'client-to-server' };
    case 'close-tunnel':
      return { command: 0x01, direction: 'client-to-server' };
    case 'request-tunnel-response':
      return { command: 0x00, direction: 'server-to-client' };
    case 'transfer-data':
      return { command: c.direction === 'client-to-server' ? 0x02 : 0x01, direction: c.direction };
    case 'transfer-data-error':
      return { command: c.direction === 'client-to-server' ? 0x03 : 0x02, direction: c.direction };
    case 'tunnel-closure-notification':
      return { command: 0x06, direction: 'server-to-client' };
  }
}

export function encodeTunnelPayload(c: TunnelCommand): Buffer {
  switch (c.name) {
    case 'request-tunnel':
      return Buffer.concat([Buffer.of(c.protocolId), u16(c.manufacturerCode), Buffer.of(c.flowControl ? 1 : 0), u16(c.maxIncomingTransferSize)]);
    case 'close-tunnel':
    case 'tunnel-closure-notification':
      return u16(c.tunnelId);
    case 'request-tunnel-response':
      return Buffer.concat([u16(c.tunnelId), Buffer.of(c.status), u16(c.maxIncomingTransferSize)]);
    case 'transfer-data':
      return Buffer.concat([u16(c.tunnelId), c.data]);
    case 'transfer-data-error':
      return Buffer.concat([u16(c.tunnelId), Buffer.of(c.status)]);
  }
}

export interface EncodeOptions {
  tsn: number;
  /**
   * Default true: Request Tunnel has its own response and Transfer Data's answer is the next GBCS message, so a
   * Default Response would only be traffic (and would make herdsman wait for one).
   */
  disableDefaultResponse?: boolean;
}

/** The whole ZCL frame for a Tunneling cluster command. */
export function encodeTunnelCommand(c: TunnelCommand, o: EncodeOptions): Buffer {
  const { command, direction } = idOf(c);
  return encodeZcl({ specific: true, direction, disableDefaultResponse: o.disableDefaultResponse ?? true, tsn: o.tsn, command }, encodeTunnelPayload(c));
}

export interface DecodedTunnelCommand {
  command: TunnelCommand;
  tsn: number;
  disableDefaultResponse: boolean;
}

/**
 * Decodes a Tunneling cluster ZCL frame; null for a global command or a cluster command this codec does not
 * handle (Ack Transfer Data, Ready Data, supported protocols). Throws ZclError when a handled one is short.
 */
export function decodeTunnelCommand(zcl: Uint8Array): DecodedTunnelCommand | null {
  const { header, payload } = decodeZcl(zcl);
  if (!header.specific || header.manufacturerCode !== undefined) return null;
  const need = (n: number, what: string) => {
    if (payload.length < n) throw new ZclError(`${what}: payload needs ${n} octets, got ${payload.length}`);
  };
  const out = (command: TunnelCommand): DecodedTunnelCommand => ({ command, tsn: header.tsn, disableDefaultResponse: header.disableDefaultResponse });
  const dir = header.direction;
  const key = `${dir === 'client-to-server' ? 'c' : 's'}${header.command}`;
  switch (key) {
    case 'c0':
      need(6, 'Request Tunnel');
      return out({ name: 'request-tunnel', protocolId: payload[0]!, manufacturerCode: payload.readUInt16LE(1), flowControl: payload[3] !== 0, maxIncomingTransferSize: payload.readUInt16LE(4) });
    case 'c1':
      need(2, 'Close Tunnel');
      return out({ name: 'close-tunnel', tunnelId: payload.readUInt16LE(0) });
    case 's0':
      need(5, 'Request Tunnel Response');
      return out({ name: 'request-tunnel-response', tunnelId: payload.readUInt16LE(0), status: payload[2]!, maxIncomingTransferSize: payload.readUInt16LE(3) });
    case 'c2':
    case 's1':
      need(2, 'Transfer Data');
      return out({ name: 'transfer-data', direction: dir, tunnelId: payload.readUInt16LE(0), data: Buffer.from(payload.subarray(2)) });
    case 'c3':
    case 's2':
      need(3, 'Transfer Data Error');
      return out({ name: 'transfer-data-error', direction: dir, tunnelId: payload.readUInt16LE(0), status: payload[2]! });
    case 's6':
      need(2, 'Tunnel Closure Notification');
      return out({ name: 'tunnel-closure-notification', tunnelId: payload.readUInt16LE(0) });
    default:
      return null;
  }
}

/* ---- What a Transfer Data carries ---- */

export const GbcsTunnelCommand = { GET: 0x01, GET_RESPONSE: 0x02, PUT: 0x03 } as const;

export type GbcsTunnelData =
  | { kind: 'message'; frame: Buffer }
  | { kind: 'put'; frame: Buffer }
  | { kind: 'get' }
  | { kind: 'get-response'; remaining: number; frame: Buffer };

const isTunnelCommandOctet = (b: number | undefined) => b === GbcsTunnelCommand.GET || b === GbcsTunnelCommand.GET_RESPONSE || b === GbcsTunnelCommand.PUT;

/** The Transfer Data payload for one frame: as is when unambiguous, else PUT + frame. */
export function wrapFrame(frame: Uint8Array): Buffer {
  if (frame.length === 0 || isTunnelCommandOctet(frame[0])) return Buffer.concat([Buffer.of(GbcsTunnelCommand.PUT), frame]);
  return Buffer.from(frame);
}

export function parseTunnelData(data: Uint8Array): GbcsTunnelData {
  const b = Buffer.from(data);
  switch (b[0]) {
    case GbcsTunnelCommand.GET:
      return { kind: 'get' };
    case GbcsTunnelCommand.PUT:
      return { kind: 'put', frame: b.subarray(1) };
    case GbcsTunnelCommand.GET_RESPONSE:
      if (b.length < 2) throw new ZclError('GBCS GET-RESPONSE without a remaining-messages count');
      return { kind: 'get-response', remaining: b[1]!, frame: b.subarray(2) };
    default:
      return { kind: 'message', frame: b };
  }
}

/** The frame a Transfer Data payload carries, or null when it carries none (a GET, an empty GET-RESPONSE). */
export function unwrapFrame(data: Uint8Array): Buffer | null {
  const d = parseTunnelData(data);
  if (d.kind === 'get') return null;
  return d.frame.length > 0 ? d.frame : null;
}
