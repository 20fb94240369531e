/**
 * The ZigBee Link: GBCS frames to and from one meter through a Smart Energy tunnel, with the harness as the
 * Communications Hub. Opening finds the meter by its EUI among the devices on the HAN (permitting it to join if
 * it is not there yet), then opens a tunnel with Request Tunnel (GB-HGRP, protocol 6; no manufacturer code;
 * no flow control; 1500 octets). Each frame is one Transfer Data each way.
 *
 * Infrastructure failures become LinkErrors and put the link in 'failed': the meter leaving the HAN, the
 * coordinator going away, the meter closing the tunnel (Tunnel Closure Notification) or refusing a transfer
 * (Transfer Data Error). Opening again builds a new tunnel. While open, the link also serves a tunnel the meter
 * opens to the hub itself (GBCS parameters only): frames through it are the meter's too.
 *
 * zigbee-herdsman is loaded only when a link (or a ZigbeeNetwork) is started, never at import.
 */
import { type Eui, parseEui } from '../../../protocol/smki/eui.ts';
import { type Link, LinkError, type LinkState, type SendOptions } from '../link.ts';
import { type ZclIn, type ZigbeeEndpointRef, ZigbeeNetwork, type ZigbeeNetworkOptions } from './network.ts';
import { type PaymentMode } from './prepayment.ts';
import {
  decodeTunnelCommand,
  type DecodedTunnelCommand,
  encodeTunnelCommand,
  GBCS_MAX_TRANSFER_SIZE,
  GBCS_PROTOCOL_ID,
  MANUFACTURER_CODE_NOT_USED,
  TransferDataStatus,
  transferDataStatusText,
  TUNNELING_CLUSTER,
  TunnelStatus,
  tunnelStatusText,
  unwrapFrame,
  wrapFrame,
} from './tunnel.ts';
import { ZclError } from './zcl.ts';
import { Listeners } from '../listeners.ts';

export interface ZigbeeLinkOptions {
  /** The meter's EUI-64, which is its IEEE address on the HAN. */
  device: Eui | string;
  /**
   * A running network, or the options for one: links given the same port share the process's network, which
   * starts with the first open and stops with the last close.
   */
  network: ZigbeeNetwork | ZigbeeNetworkOptions;
  /** Joining (when needed) plus the tunnel request; default 60 s. */
  openTimeoutMs?: number;
  /** The coordinator confirming a transfer; default 10 s. */
  sendTimeoutMs?: number;
}

export interface ZigbeeLinkStats {
  framesSent: number;
  framesReceived: number;
  /** Of those, frames through a tunnel the meter opened. */
  framesReceivedInbound: number;
  /** Tunneling commands for another tunnel (a stale one) or that did not decode, and malformed Transfer Data payloads. */
  ignored: number;
  tunnelsOpened: number;
}

function tryDecode(zcl: Buffer): DecodedTunnelCommand | null {
  try {
    return decodeTunnelCommand(zcl);
  } catch {
    return null;
  }
}

export class ZigbeeLink implements Link {
  readonly name: string;
  readonly eui: Eui;
  readonly stats: ZigbeeLinkStats = { framesSent: 0, framesReceived: 0, framesReceivedInbound: 0, ignored: 0, tunnelsOpened: 0 };
  private st: LinkState = 'closed';
  private net: ZigbeeNetwork | null;
  private readonly ownNetwork: ZigbeeNetworkOptions | null;
  private ref: ZigbeeEndpointRef | null = null;
  private tunnel: { id: number; maxOut: number } | null = null;
  /** A tunnel the meter opened to the hub (the harness serving it): frames from it are the meter's too. */
  private inbound: { id: number; endpoint: number } | null = null;
  private nextInboundId = 0x4000 + Math.floor(Math.random() * 0x1000);
  private tsn = Math.floor(Math.random() * 256);
  private subscriptions: (() => void)[] = [];
  private readonly frameListeners = new Listeners<[frame: Uint8Array]>();
  private readonly stateListeners = new Listeners<[state: LinkState, error?: LinkError]>();
  private readonly openMs: number;
  private readonly sendMs: number;
  /** Counts close() calls: an open() that sees it change while it waited was closed and must not finish. */
  private closes = 0;

  constructor(o: ZigbeeLinkOptions) {
    this.eui = parseEui(o.device);
    this.name = `zigbee:${this.eui}`;
    this.net = o.network instanceof ZigbeeNetwork ? o.network : null;
    this.ownNetwork = o.network instanceof ZigbeeNetwork ? null : o.network;
    this.openMs = o.openTimeoutMs ?? 60_000;
    this.sendMs = o.sendTimeoutMs ?? 10_000;
  }

  get state(): LinkState {
    return this.st;
  }

  /** The open tunnel's id (for logs and tests), or null. */
  get tunnelId(): number | null {
    return this.tunnel?.id ?? null;
  }

  /** The id of a tunnel the meter opened to the hub, or null. */
  get inboundTunnelId(): number | null {
    return this.inbound?.id ?? null;
  }

  get network(): ZigbeeNetwork | null {
    return this.net;
  }

  private nextTsn(): number {
    this.tsn = (this.tsn + 1) & 0xff;
    return this.tsn;
  }

  async open(): Promise<void> {
    if (this.st === 'open') return;
    const closes = this.closes;
    const closedWhileOpening = () => new LinkError('closed', `${this.name}: closed while opening`);
    this.set('opening');
    try {
      if (!this.net) {
        const n = await ZigbeeNetwork.acquire(this.ownNetwork!);
        if (this.closes !== closes) {
          await n.release();
          throw closedWhileOpening();
        }
        this.net = n;
      }
      const net = this.net;
      this.detach();
      this.subscriptions = [net.onZcl((m) => this.onZcl(m)), net.onLeave((eui) => eui === this.eui && this.fail(new LinkError('disconnected', `${this.name}: the meter left the HAN`))), net.onDown((e) => this.fail(e))];
      const deadline = Date.now() + this.openMs;
      const ref = await net.awaitDevice(this.eui, { timeoutMs: this.openMs });
      if (this.closes !== closes) throw closedWhileOpening();
      this.ref = ref;
      const tsn = this.nextTsn();
      const request = encodeTunnelCommand({ name: 'request-tunnel', protocolId: GBCS_PROTOCOL_ID, manufacturerCode: MANUFACTURER_CODE_NOT_USED, flowControl: false, maxIncomingTransferSize: GBCS_MAX_TRANSFER_SIZE }, { tsn });
      const answer = await net.request(
        ref,
        TUNNELING_CLUSTER,
        request,
        (z) => {
          const d = tryDecode(z);
          return d?.command.name === 'request-tunnel-response' && d.tsn === tsn;
        },
        Math.max(1000, deadline - Date.now()),
      );
      const r = tryDecode(answer)!.command;
      if (r.name !== 'request-tunnel-response') throw new Error('unreachable');
      if (r.status !== TunnelStatus.SUCCESS) throw new LinkError('open-failed', `${this.name}: the meter refused the tunnel: ${tunnelStatusText(r.status)}`);
      if (this.closes !== closes) {
        // Closed while the meter was opening it: the tunnel is nobody's, close it (best effort, as in close()).
        await net.sendZcl(ref, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'close-tunnel', tunnelId: r.tunnelId }, { tsn: this.nextTsn() }), 2000).catch(() => undefined);
        throw closedWhileOpening();
      }
      this.tunnel = { id: r.tunnelId, maxOut: r.maxIncomingTransferSize };
      this.stats.tunnelsOpened++;
    } catch (e) {
      // close() has already put the link in 'closed' and given the network back.
      if (this.closes !== closes) throw closedWhileOpening();
      const err = e instanceof LinkError && e.kind === 'open-failed' ? e : new LinkError('open-failed', `${this.name}: ${(e as Error).message}`);
      this.detach();
      this.set('failed', err);
      if (this.ownNetwork && this.net) {
        await this.net.release().catch(() => undefined);
        this.net = null;
      }
      throw err;
    }
    this.set('open');
  }

  async close(): Promise<void> {
    this.closes++;
    const t = this.tunnel;
    const ref = this.ref;
    this.tunnel = null;
    this.inbound = null;
    if (this.st !== 'closed') this.set('closed');
    if (t && ref && this.net) {
      // Best effort: the meter would time the tunnel out anyway.
      await this.net.sendZcl(ref, TUNNELING_CLUSTER, encodeTunnelCommand({ name: 'close-tunnel', tunnelId: t.id }, { tsn: this.nextTsn() }), 2000).catch(() => undefined);
    }
    this.detach();
    if (this.ownNetwork && this.net) {
      const n = this.net;
      this.net = null;
      await n.release();
    }
  }

  /** The frame goes to the coordinator at once, which cannot take it back: only a signal aborted already withdraws it. */
  async send(frame: Uint8Array, o: SendOptions = {}): Promise<void> {
    const t = this.tunnel;
    if (this.st !== 'open' || !t || !this.ref || !this.net) throw new LinkError(this.st === 'failed' ? 'disconnected' : 'closed', `${this.name}: link is ${this.st}`);
    if (o.signal?.aborted) throw new LinkError('withdrawn', `${this.name}: frame withdrawn before it was sent`);
    const data = wrapFrame(frame);
    if (data.length > t.maxOut) throw new LinkError('corrupt', `${this.name}: ${data.length} octets exceed the meter's MaximumIncomingTransferSize ${t.maxOut}`);
    const zcl = encodeTunnelCommand({ name: 'transfer-data', direction: 'client-to-server', tunnelId: t.id, data }, { tsn: this.nextTsn() });
    await this.net.sendZcl(this.ref, TUNNELING_CLUSTER, zcl, this.sendMs);
    this.stats.framesSent++;
    if ((this.st as LinkState) !== 'open') throw new LinkError('disconnected', `${this.name}: disconnected while sending`);
  }

  onFrame(listener: (frame: Uint8Array) => void): () => void {
    return this.frameListeners.add(listener);
  }

  onState(listener: (state: LinkState, error?: LinkError) => void): () => void {
    return this.stateListeners.add(listener);
  }

  /** The meter's payment mode as its Prepayment cluster reports it (a ZigBee-level health check). */
  async readPaymentMode(): Promise<PaymentMode> {
    if (!this.net) throw new LinkError('closed', `${this.name}: link is not open`);
    return (await this.net.readPaymentMode(this.eui)).paymentMode;
  }

  private onZcl(m: ZclIn): void {
    if (m.eui !== this.eui || m.cluster !== TUNNELING_CLUSTER || this.st !== 'open') return;
    const d = tryDecode(m.zcl);
    const t = this.tunnel;
    if (!d || !t) {
      this.stats.ignored++;
      return;
    }
    const c = d.command;
    if (c.name === 'transfer-data' && c.direction === 'server-to-client' && c.tunnelId === t.id) {
      this.deliver(c.data);
    } else if (c.name === 'request-tunnel' || (c.name === 'transfer-data' && c.direction === 'client-to-server') || c.name === 'close-tunnel') {
      this.serve(m, d);
    } else if (c.name === 'transfer-data-error' && c.direction === 'server-to-client' && c.tunnelId === t.id) {
      const kind = c.status === TransferDataStatus.DATA_OVERFLOW ? 'corrupt' : 'disconnected';
      this.fail(new LinkError(kind, `${this.name}: the meter reports Transfer Data Error (${transferDataStatusText(c.status)}) on tunnel ${t.id}`));
    } else if (c.name === 'tunnel-closure-notification' && c.tunnelId === t.id) {
      this.fail(new LinkError('disconnected', `${this.name}: the meter closed tunnel ${t.id}`));
    } else {
      this.stats.ignored++;
    }
  }

  private deliver(data: Buffer): void {
    let f: Buffer | null;
    try {
      f = unwrapFrame(data);
    } catch (e) {
      // A malformed payload (a GET-RESPONSE cut short) is the meter's fault, not a reason to drop the link.
      if (!(e instanceof ZclError)) throw e;
      this.stats.ignored++;
      return;
    }
    if (!f) return;
    this.stats.framesReceived++;
    this.frameListeners.emit(f);
  }

  /** The harness as Tunneling server for a tunnel the meter opens (GBCS parameters only). */
  private serve(m: ZclIn, d: DecodedTunnelCommand): void {
    const c = d.command;
    const ref = { ...this.ref!, endpoint: m.endpoint };
    const reply = (cmd: Parameters<typeof encodeTunnelCommand>[0], tsn: number) => void this.net?.sendZcl(ref, TUNNELING_CLUSTER, encodeTunnelCommand(cmd, { tsn }), this.sendMs).catch(() => undefined);
    if (c.name === 'request-tunnel') {
      const status =
        c.protocolId !== GBCS_PROTOCOL_ID || c.manufacturerCode !== MANUFACTURER_CODE_NOT_USED ? TunnelStatus.PROTOCOL_NOT_SUPPORTED : c.flowControl ? TunnelStatus.FLOW_CONTROL_NOT_SUPPORTED : TunnelStatus.SUCCESS;
      let id = 0xffff;
      if (status === TunnelStatus.SUCCESS) {
        id = this.nextInboundId++ & 0xffff;
        this.inbound = { id, endpoint: m.endpoint };
      }
      reply({ name: 'request-tunnel-response', tunnelId: id, status, maxIncomingTransferSize: GBCS_MAX_TRANSFER_SIZE }, d.tsn);
    } else if (c.name === 'close-tunnel') {
      if (this.inbound?.id === c.tunnelId) this.inbound = null;
    } else if (c.name === 'transfer-data') {
      if (this.inbound?.id === c.tunnelId) {
        this.stats.framesReceivedInbound++;
        this.deliver(c.data);
      } else reply({ name: 'transfer-data-error', direction: 'server-to-client', tunnelId: c.tunnelId, status: TransferDataStatus.NO_SUCH_TUNNEL }, this.nextTsn());
    }
  }

  private fail(e: LinkError): void {
    if (this.st !== 'open' && this.st !== 'opening') return;
    this.tunnel = null;
    this.inbound = null;
    this.set('failed', e);
  }

  private detach(): void {
    for (const u of this.subscriptions) u();
    this.subscriptions = [];
  }

  private set(state: LinkState, error?: LinkError): void {
    this.st = state;
    this.stateListeners.emit(state, error);
  }
}

/** A ZigBee Link to one meter; given options rather than a network, it shares (or starts) the process's one. */
export function createZigbeeLink(o: ZigbeeLinkOptions): ZigbeeLink {
  return new ZigbeeLink(o);
}
