/**
 * An emulated GB meter as a ZigBee node behind the fake coordinator: a mains-powered router on the Smart
 * Energy profile that answers the coordinator's interview (node, active endpoint and simple descriptors,
 * Basic attributes), serves the Tunneling cluster as the GBCS tunnel server, and the Prepayment cluster's
 * payment attributes.
 *
 * The meter software itself (Smets2Meter and friends behind a DeviceHost) sits on `node.link`, the device end
 * of the tunnel: GBCS frames the Communications Hub sends through the tunnel come out of it, and whatever the
 * meters send into it goes back as server-to-client Transfer Data. One node can carry several emulated meters
 * (the host routes by EUI), which is how the contract suite's ESME, GSME and SMETS1 meter share one tunnel.
 */
import { type Eui, euiToBytes, parseEui } from '../../../../protocol/smki/eui.ts';
import { LinkError } from '../../link.ts';
import { faultOutcome } from '../../faults.ts';
import { PREPAYMENT_CLUSTER_ID, PrepaymentAttribute, type PrepaymentState, paymentControlConfiguration } from '../prepayment.ts';
import {
  decodeTunnelCommand,
  GBCS_MAX_TRANSFER_SIZE,
  GBCS_PROTOCOL_ID,
  MANUFACTURER_CODE_NOT_USED,
  encodeTunnelCommand,
  GbcsTunnelCommand,
  TransferDataStatus,
  TUNNELING_CLUSTER,
  TunnelStatus,
  unwrapFrame,
  wrapFrame,
} from '../tunnel.ts';
import {
  decodeReadAttributes,
  decodeZcl,
  encodeDefaultResponse,
  encodeReadAttributesResponse,
  encodeZcl,
  ZCL_DEFAULT_RESPONSE,
  ZCL_READ_ATTRIBUTES,
  ZCL_READ_ATTRIBUTES_RESPONSE,
  type ZclAttributeRecord,
  type ZclFrame,
  ZclStatus,
  ZclType,
  type ZclValue,
} from '../zcl.ts';
import { TunnelFaults } from './faults.ts';
import { NodeTunnelLink } from './node-link.ts';

export const SE_PROFILE = 0x0109;
/** ZSE device id "Metering Device". */
export const SE_METERING_DEVICE = 0x0501;
const BASIC_CLUSTER = 0x0000;
const METERING_CLUSTER = 0x0702;
const TIME_CLUSTER = 0x000a;

/** What the coordinator offers a node: a way to send to the Communications Hub, and to leave or join. */
export interface NodeUplink {
  /** Sends a ZCL frame from this node to the coordinator; false when it cannot be delivered now. */
  toCoordinator(node: EmulatedMeterNode, srcEndpoint: number, dstEndpoint: number, cluster: number, zcl: Buffer): boolean;
  left(node: EmulatedMeterNode): void;
  wantsToJoin(node: EmulatedMeterNode): void;
}

export interface EmulatedMeterNodeOptions {
  /** The meter's EUI-64, which is also its IEEE address. */
  eui: Eui | string;
  /** Default: derived from the EUI (never 0x0000 or a broadcast address). */
  nwkAddress?: number;
  /** Default 1. */
  endpoint?: number;
  /** [model] an arbitrary test code (0x0000 and 0x1002 would make herdsman treat the node as a Tuya device). */
  manufacturerCode?: number;
  manufacturerName?: string;
  modelId?: string;
  /**
   * The meter's install code (without its CRC): when set, the coordinator lets it join only once the host has
   * added that code for its EUI, as a GB Communications Hub does from its Device Log.
   */
  installCode?: Uint8Array;
  /** The Prepayment cluster's source of truth: typically `() => meter.snapshot()`. */
  prepayment?: () => PrepaymentState;
  log?: (line: string) => void;
}

interface Tunnel {
  id: number;
  clientEndpoint: number;
  /** The Communications Hub's MaximumIncomingTransferSize. */
  clientMax: number;
}

export interface NodeStats {
  /** GBCS frames out of the tunnel to the meters (after faults). */
  framesToMeters: number;
  framesFromMeters: number;
  tunnelsOpened: number;
  transferErrors: number;
  zclIn: number;
}

export class EmulatedMeterNode {
  readonly eui: Eui;
  readonly ieee: Buffer;
  readonly nwkAddress: number;
  readonly endpoint: number;
  readonly manufacturerCode: number;
  readonly installCode: Buffer | null;
  readonly link: NodeTunnelLink;
  faults: TunnelFaults;
  joined = false;
  /** Taken off the HAN by a fault; does not rejoin until reconnected. */
  severed = false;
  readonly stats: NodeStats = { framesToMeters: 0, framesFromMeters: 0, tunnelsOpened: 0, transferErrors: 0, zclIn: 0 };
  private uplink: NodeUplink | null = null;
  private tunnel: Tunnel | null = null;
  /** A tunnel this meter opened to the hub itself (GBCS devices may), used for what the meters send when open. */
  private ownTunnel: { id: number; hubEndpoint: number; max: number } | null = null;
  private ownRequest: { tsn: number; resolve: (id: number) => void; reject: (e: Error) => void } | null = null;
  private nextTunnelId = 1;
  private tsn = 0;
  /** Frames delayed by a fault are lost when the node leaves: they belong to the old generation. */
  private generation = 0;
  private readonly o: EmulatedMeterNodeOptions;

  constructor(o: EmulatedMeterNodeOptions) {
    this.o = o;
    this.eui = parseEui(o.eui);
    this.ieee = euiToBytes(this.eui);
    this.nwkAddress = o.nwkAddress ?? 0x1000 + (this.ieee.readUInt16BE(6) % 0xe000);
    this.endpoint = o.endpoint ?? 1;
    this.manufacturerCode = o.manufacturerCode ?? 0x1234;
    this.installCode = o.installCode ? Buffer.from(o.installCode) : null;
    this.link = new NodeTunnelLink(this);
    this.faults = new TunnelFaults(this);
  }

  /** A fresh fault injector (the contract suite counts frames from the moment a pair is made). */
  resetFaults(): TunnelFaults {
    this.faults = new TunnelFaults(this);
    return this.faults;
  }

  attach(uplink: NodeUplink): void {
    this.uplink = uplink;
  }

  get tunnelId(): number | null {
    return this.tunnel?.id ?? null;
  }

  private log(line: string): void {
    this.o.log?.(`[node ${this.eui}] ${line}`);
  }

  /* ---- ZigBee Device Objects ---- */

  /** MAC capabilities: FFD, mains powered, receiver on when idle, allocate address. */
  get capabilities(): number {
    return 0x8e;
  }

  /** The 13-octet node descriptor: a router on 2.4 GHz that takes 1500-octet (fragmented) transfers. */
  nodeDescriptor(): Buffer {
    const b = Buffer.alloc(13);
    b[0] = 0x01; // logical type router
    b[1] = 0x40; // 2.4 GHz band
    b[2] = this.capabilities;
    b.writeUInt16LE(this.manufacturerCode, 3);
    b[5] = 82; // max buffer size
    b.writeUInt16LE(GBCS_MAX_TRANSFER_SIZE, 6);
    b.writeUInt16LE(22 << 9, 8); // server mask: stack compliance revision 22
    b.writeUInt16LE(GBCS_MAX_TRANSFER_SIZE, 10);
    b[12] = 0x00;
    return b;
  }

  activeEndpoints(): number[] {
    return [this.endpoint];
  }

  /** Simple descriptor (without its length octet) for an endpoint, or null. */
  simpleDescriptor(endpoint: number): Buffer | null {
    if (endpoint !== this.endpoint) return null;
    const inClusters = [BASIC_CLUSTER, METERING_CLUSTER, TUNNELING_CLUSTER, PREPAYMENT_CLUSTER_ID];
    const outClusters = [TIME_CLUSTER];
    const b = Buffer.alloc(8 + 2 * inClusters.length + 2 * outClusters.length);
    let at = 0;
    b[at++] = endpoint;
    b.writeUInt16LE(SE_PROFILE, at);
    b.writeUInt16LE(SE_METERING_DEVICE, at + 2);
    at += 4;
    b[at++] = 0; // device version
    b[at++] = inClusters.length;
    for (const c of inClusters) at = b.writeUInt16LE(c, at);
    b[at++] = outClusters.length;
    for (const c of outClusters) at = b.writeUInt16LE(c, at);
    return b;
  }

  /* ---- joining and leaving ---- */

  /** Called by the coordinator when it lets this node in. */
  joinedNetwork(): void {
    this.joined = true;
    this.log(`joined as 0x${this.nwkAddress.toString(16)}`);
  }

  /** Told to leave by the coordinator (a host refusing it): off the HAN until the next permit join. */
  leftNetwork(): void {
    this.joined = false;
    this.generation++;
    this.tunnel = null;
    this.ownTunnel = null;
    this.log('left the network (asked to)');
  }

  /** Takes the node off the HAN: the coordinator sees a Leave, the tunnel is gone, frames in flight are lost. */
  disconnect(): void {
    this.severed = true;
    this.generation++;
    this.tunnel = null;
    this.ownTunnel = null;
    if (this.joined) {
      this.joined = false;
      this.uplink?.left(this);
    }
    this.link.fail(new LinkError('disconnected', `${this.link.name}: the meter left the HAN`));
    this.log('left the network (fault)');
  }

  /** Lets a disconnected node join again (when the coordinator permits joining). */
  reconnect(): void {
    this.severed = false;
    this.uplink?.wantsToJoin(this);
  }

  /* ---- ZCL from the coordinator ---- */

  /** A ZCL frame from the coordinator to one of our endpoints. */
  receiveZcl(srcEndpoint: number, dstEndpoint: number, cluster: number, zcl: Buffer): void {
    if (!this.joined || dstEndpoint !== this.endpoint) return;
    this.stats.zclIn++;
    let frame: ZclFrame;
    try {
      frame = decodeZcl(zcl);
    } catch (e) {
      this.log(`malformed ZCL on cluster 0x${cluster.toString(16)}: ${(e as Error).message}`);
      return;
    }
    const h = frame.header;
    if (!h.specific) {
      if (h.command === ZCL_READ_ATTRIBUTES) this.readAttributes(srcEndpoint, cluster, frame);
      else if (h.command !== ZCL_DEFAULT_RESPONSE && !h.disableDefaultResponse) this.defaultResponse(srcEndpoint, cluster, frame, ZclStatus.UNSUP_COMMAND);
      return;
    }
    if (cluster === TUNNELING_CLUSTER) this.tunneling(srcEndpoint, zcl, frame);
    else if (!h.disableDefaultResponse) this.defaultResponse(srcEndpoint, cluster, frame, ZclStatus.UNSUP_COMMAND);
  }

  private send(dstEndpoint: number, cluster: number, zcl: Buffer): boolean {
    if (!this.joined || !this.uplink) return false;
    return this.uplink.toCoordinator(this, this.endpoint, dstEndpoint, cluster, zcl);
  }

  private nextTsn(): number {
    this.tsn = (this.tsn + 1) & 0xff;
    return this.tsn;
  }

  private defaultResponse(dst: number, cluster: number, f: ZclFrame, status: number): void {
    const zcl = encodeZcl(
      { specific: false, direction: f.header.direction === 'client-to-server' ? 'server-to-client' : 'client-to-server', disableDefaultResponse: true, tsn: f.header.tsn, command: ZCL_DEFAULT_RESPONSE },
      encodeDefaultResponse(f.header.command, status),
    );
    this.send(dst, cluster, zcl);
  }

  private attributes(cluster: number): Map<number, [number, ZclValue]> | null {
    switch (cluster) {
      case BASIC_CLUSTER:
        return new Map<number, [number, ZclValue]>([
          [0x0000, [ZclType.UINT8, 3]], // ZCL version
          [0x0001, [ZclType.UINT8, 1]], // application version
          [0x0002, [ZclType.UINT8, 1]], // stack version
          [0x0003, [ZclType.UINT8, 1]], // hardware version
          [0x0004, [ZclType.CHAR_STR, this.o.manufacturerName ?? 'smets-hil']],
          [0x0005, [ZclType.CHAR_STR, this.o.modelId ?? 'emulated ESME']],
          [0x0006, [ZclType.CHAR_STR, '20250101']],
          [0x0007, [ZclType.ENUM8, 0x01]], // mains, single phase
          [0x4000, [ZclType.CHAR_STR, 'smets-hil fake node']],
        ]);
      case TUNNELING_CLUSTER:
        return new Map<number, [number, ZclValue]>([[0x0000, [ZclType.UINT16, 0xffff]]]);
      case PREPAYMENT_CLUSTER_ID: {
        if (!this.o.prepayment) return new Map();
        const s = this.o.prepayment();
        return new Map<number, [number, ZclValue]>([
          [PrepaymentAttribute.paymentControlConfiguration, [ZclType.BITMAP16, paymentControlConfiguration(s)]],
          [PrepaymentAttribute.creditRemaining, [ZclType.INT32, s.meterBalance ?? 0]],
          [PrepaymentAttribute.emergencyCreditRemaining, [ZclType.INT32, 0]],
          [PrepaymentAttribute.creditStatus, [ZclType.BITMAP8, 0x01]],
          [PrepaymentAttribute.cutOffValue, [ZclType.INT32, s.paymentMode === 'credit' ? -1 : 0]],
        ]);
      }
      default:
        return null;
    }
  }

  private readAttributes(dst: number, cluster: number, f: ZclFrame): void {
    const table = this.attributes(cluster);
    let ids: number[];
    try {
      ids = decodeReadAttributes(f.payload);
    } catch {
      if (!f.header.disableDefaultResponse) this.defaultResponse(dst, cluster, f, ZclStatus.MALFORMED_COMMAND);
      return;
    }
    const records: ZclAttributeRecord[] = ids.map((id) => {
      const v = table?.get(id);
      return v ? { id, status: ZclStatus.SUCCESS, type: v[0], value: v[1] } : { id, status: ZclStatus.UNSUPPORTED_ATTRIBUTE };
    });
    const zcl = encodeZcl({ specific: false, direction: 'server-to-client', disableDefaultResponse: true, tsn: f.header.tsn, command: ZCL_READ_ATTRIBUTES_RESPONSE }, encodeReadAttributesResponse(records));
    this.send(dst, cluster, zcl);
  }

  /* ---- the Tunneling cluster server ---- */

  private tunneling(src: number, zcl: Buffer, f: ZclFrame): void {
    let decoded;
    try {
      decoded = decodeTunnelCommand(zcl);
    } catch (e) {
      this.log(`malformed tunneling command: ${(e as Error).message}`);
      if (!f.header.disableDefaultResponse) this.defaultResponse(src, TUNNELING_CLUSTER, f, ZclStatus.MALFORMED_COMMAND);
      return;
    }
    const c = decoded?.command;
    if (!c) {
      if (!f.header.disableDefaultResponse) this.defaultResponse(src, TUNNELING_CLUSTER, f, ZclStatus.UNSUP_COMMAND);
      return;
    }
    switch (c.name) {
      case 'request-tunnel': {
        let status: number = TunnelStatus.SUCCESS;
        if (c.protocolId !== GBCS_PROTOCOL_ID || c.manufacturerCode !== MANUFACTURER_CODE_NOT_USED) status = TunnelStatus.PROTOCOL_NOT_SUPPORTED;
        else if (c.flowControl) status = TunnelStatus.FLOW_CONTROL_NOT_SUPPORTED;
        let id = 0xffff;
        if (status === TunnelStatus.SUCCESS) {
          // One tunnel per Communications Hub: a new request replaces the old tunnel.
          id = this.nextTunnelId;
          this.nextTunnelId = (this.nextTunnelId % 0xfffe) + 1;
          this.tunnel = { id, clientEndpoint: src, clientMax: c.maxIncomingTransferSize };
          this.stats.tunnelsOpened++;
          this.log(`tunnel ${id} opened for endpoint ${src}`);
        }
        this.send(src, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'request-tunnel-response', tunnelId: id, status, maxIncomingTransferSize: GBCS_MAX_TRANSFER_SIZE }, { tsn: f.header.tsn, disableDefaultResponse: true }));
        return;
      }
      case 'close-tunnel':
        if (this.tunnel?.id === c.tunnelId) {
          this.tunnel = null;
          this.log(`tunnel ${c.tunnelId} closed by the Communications Hub`);
        }
        if (!f.header.disableDefaultResponse) this.defaultResponse(src, TUNNELING_CLUSTER, f, ZclStatus.SUCCESS);
        return;
      case 'request-tunnel-response': {
        const pending = this.ownRequest;
        if (!pending || pending.tsn !== f.header.tsn) return;
        this.ownRequest = null;
        if (c.status !== TunnelStatus.SUCCESS) {
          pending.reject(new Error(`the hub refused the tunnel: status ${c.status}`));
          return;
        }
        this.ownTunnel = { id: c.tunnelId, hubEndpoint: src, max: c.maxIncomingTransferSize };
        this.log(`own tunnel ${c.tunnelId} to hub endpoint ${src}`);
        pending.resolve(c.tunnelId);
        return;
      }
      case 'transfer-data-error':
        if (c.direction === 'server-to-client' && this.ownTunnel?.id === c.tunnelId) this.ownTunnel = null;
        return;
      case 'transfer-data': {
        if (c.direction === 'server-to-client') {
          const frame = this.ownTunnel?.id === c.tunnelId ? unwrapFrame(c.data) : null;
          if (frame) this.toMeters(frame);
          return;
        }
        const error = !this.tunnel || this.tunnel.id !== c.tunnelId ? TransferDataStatus.NO_SUCH_TUNNEL : c.data.length > GBCS_MAX_TRANSFER_SIZE ? TransferDataStatus.DATA_OVERFLOW : null;
        if (error !== null) {
          this.stats.transferErrors++;
          this.send(src, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'transfer-data-error', direction: 'server-to-client', tunnelId: c.tunnelId, status: error }, { tsn: this.nextTsn() }));
          return;
        }
        const frame = unwrapFrame(c.data);
        if (frame) this.toMeters(frame);
        return;
      }
      default:
        return;
    }
  }

  private toMeters(frame: Buffer): void {
    const rule = this.faults.next('to-device', frame);
    const gen = this.generation;
    const deliver = (f: Uint8Array) => {
      if (gen !== this.generation) return;
      this.stats.framesToMeters++;
      this.link.deliver(f);
    };
    const outcome = faultOutcome(rule, frame);
    if (outcome === 'disconnect') return this.disconnect();
    // A duplicate's second copy arrives on a later turn, as a radio would repeat it.
    outcome.forEach((d, i) => {
      if (d.delayMs > 0) setTimeout(() => deliver(d.frame), d.delayMs);
      else if (i > 0) setImmediate(() => deliver(d.frame));
      else deliver(d.frame);
    });
  }

  /** A frame from the meters into the tunnel (after faults); throws a LinkError when there is no way out. */
  fromMeters(frame: Uint8Array): void {
    if (this.ownTunnel && this.joined) {
      this.viaOwnTunnel(frame);
      return;
    }
    const t = this.tunnel;
    if (!this.joined) throw new LinkError('disconnected', `${this.link.name}: the meter is not on the HAN`);
    if (!t) throw new LinkError('closed', `${this.link.name}: no tunnel open from the Communications Hub`);
    const data = wrapFrame(frame);
    if (data.length > t.clientMax) throw new LinkError('corrupt', `${this.link.name}: ${data.length} octets exceed the hub's MaximumIncomingTransferSize ${t.clientMax}`);
    const rule = this.faults.next('to-dcc', frame);
    const gen = this.generation;
    const out = (f: Uint8Array) => {
      if (gen !== this.generation || this.tunnel !== t) return;
      this.stats.framesFromMeters++;
      this.send(t.clientEndpoint, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'transfer-data', direction: 'server-to-client', tunnelId: t.id, data: wrapFrame(f) }, { tsn: this.nextTsn() }));
    };
    const outcome = faultOutcome(rule, frame);
    if (outcome === 'disconnect') return this.disconnect();
    for (const d of outcome) {
      if (d.delayMs > 0) setTimeout(() => out(d.frame), d.delayMs);
      else out(d.frame);
    }
  }

  /**
   * Opens a tunnel from this meter to the hub (the meter as Tunneling client, as GBCS devices may do to send
   * to the hub); from then on what the meters send goes through it, PUT-framed, as client-to-server Transfer Data.
   */
  openOwnTunnel(hubEndpoint = 6): Promise<number> {
    const tsn = this.nextTsn();
    return new Promise<number>((resolve, reject) => {
      this.ownRequest = { tsn, resolve, reject };
      const sent = this.send(
        hubEndpoint,
        TUNNELING_CLUSTER,
        encodeTunnelCommand({ name: 'request-tunnel', protocolId: GBCS_PROTOCOL_ID, manufacturerCode: MANUFACTURER_CODE_NOT_USED, flowControl: false, maxIncomingTransferSize: GBCS_MAX_TRANSFER_SIZE }, { tsn }),
      );
      if (!sent) {
        this.ownRequest = null;
        reject(new LinkError('disconnected', `${this.link.name}: the meter is not on the HAN`));
      }
    });
  }

  /** Closes the tunnel this meter opened (Close Tunnel to the hub). */
  closeOwnTunnel(): void {
    const t = this.ownTunnel;
    if (!t) return;
    this.ownTunnel = null;
    this.send(t.hubEndpoint, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'close-tunnel', tunnelId: t.id }, { tsn: this.nextTsn() }));
  }

  private viaOwnTunnel(frame: Uint8Array): void {
    const t = this.ownTunnel!;
    const data = Buffer.concat([Buffer.of(GbcsTunnelCommand.PUT), frame]);
    if (data.length > t.max) throw new LinkError('corrupt', `${this.link.name}: ${data.length} octets exceed the hub's MaximumIncomingTransferSize ${t.max}`);
    this.stats.framesFromMeters++;
    this.send(t.hubEndpoint, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'transfer-data', direction: 'client-to-server', tunnelId: t.id, data }, { tsn: this.nextTsn() }));
  }

  /**
   * A Transfer Data whose payload is `data` as is, not GBCS-framed, through the meter's own tunnel when it has one
   * open, else the hub's: how tests send a malformed one. False when there is no tunnel to send it through.
   */
  sendRawTransferData(data: Uint8Array): boolean {
    const own = this.ownTunnel;
    if (own) return this.send(own.hubEndpoint, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'transfer-data', direction: 'client-to-server', tunnelId: own.id, data: Buffer.from(data) }, { tsn: this.nextTsn() }));
    const t = this.tunnel;
    if (!t) return false;
    return this.send(t.clientEndpoint, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'transfer-data', direction: 'server-to-client', tunnelId: t.id, data: Buffer.from(data) }, { tsn: this.nextTsn() }));
  }

  /** The meter closes its tunnel on its own (an idle timeout), telling the hub unless `notify` is false. */
  closeTunnel(notify = true): void {
    const t = this.tunnel;
    if (!t) return;
    this.tunnel = null;
    if (notify) this.send(t.clientEndpoint, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'tunnel-closure-notification', tunnelId: t.id }, { tsn: this.nextTsn() }));
  }
}
