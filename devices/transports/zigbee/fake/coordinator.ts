/**
 * A fake Z-Stack 3.x ZNP coordinator on tcp://127.0.0.1:PORT: enough of the MT command set for a host
 * (zigbee-herdsman's 'zstack' adapter) to start, commission or resume a network, register its endpoints,
 * let the emulated meters behind it join, interview them and talk ZCL to them, including frames over the
 * MT size limit (AF "huge data": AF_DATA_REQUEST_EXT + AF_DATA_STORE out, AF_INCOMING_MSG_EXT +
 * AF_DATA_RETRIEVE in). It is CI infrastructure and a way to run the ZigBee path without a radio.
 *
 * What it does not do: radio, routing, security, CBKE. Joining is allowed while the host permits it (ZDO
 * Mgmt Permit Join); every command it does not know is answered with an MT RPC error and logged, so a newer
 * host that asks for more shows up in `unhandled`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { type Eui, euiToBytes, parseEui } from '../../../../protocol/smki/eui.ts';
import { encodeMt, type MtFrame, MtParser, MtReader, MtSubsystem, MtType, MtWriter } from './mt.ts';
import { commandFor } from './commands.ts';
import { AF_INVALID_PARAMETER, AF_MEM_FAIL, APS_NO_ACK, NV_OPER_FAILED, ZFAILURE, ZSUCCESS } from './status.ts';
import { type EmulatedMeterNode, type NodeUplink } from './node.ts';
import { clearNetwork, HAS_CONFIGURED, type NetworkParameters, NvItem, NvMemory, STARTOPT_CLEAR_STATE, STARTOPT_DEFAULT_CONFIG, storeFormedNetwork } from './nv.ts';

/** Z-Stack device states (ZDO_STATE_CHANGE_IND, UTIL_GET_DEVICE_INFO). */
const DEV_HOLD = 0;
const DEV_COORD_STARTING = 8;
const DEV_ZB_COORD = 9;


/** Z-Stack's MT payload limit (MT_RPC_DATA_MAX): over it, AF payloads go through the huge-data commands. */
const MT_RPC_DATA_MAX = 250;
const HUGE_CHUNK = 240;

export interface FakeCoordinatorOptions {
  /** The coordinator's IEEE address (default: a TI-like 00124B... address). */
  ieee?: Eui | string;
  nodes?: EmulatedMeterNode[];
  /**
   * Start as a coordinator that a host has already commissioned with these parameters (NIB, keys and the
   * host's "configured" flag in NV), so a host with the same configuration resumes instead of forming a
   * network (which costs it a fixed 3 s wait). Default: blank, like a freshly flashed stick.
   */
  preformed?: Omit<NetworkParameters, 'ieee'>;
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  log?: (line: string) => void;
}

export interface RequestRecord {
  type: 'SREQ' | 'AREQ';
  subsystem: number;
  command: number;
  name: string;
}

interface RegisteredEndpoint {
  endpoint: number;
  profile: number;
  deviceId: number;
  version: number;
  inClusters: number[];
  outClusters: number[];
}

interface PendingHugeRequest {
  dstAddr: number;
  dstEndpoint: number;
  srcEndpoint: number;
  cluster: number;
  transId: number;
  data: Buffer;
}

export class FakeZStackCoordinator implements NodeUplink {
  readonly ieee: Buffer;
  readonly nv = new NvMemory();
  readonly requests: RequestRecord[] = [];
  /** Commands the host sent that this fake does not implement ("SUB:0xID"). */
  readonly unhandled: string[] = [];
  private readonly nodes: EmulatedMeterNode[] = [];
  private server: Server | null = null;
  private socket: Socket | null = null;
  private parser: MtParser | null = null;
  private devState = DEV_HOLD;
  private endpoints = new Map<number, RegisteredEndpoint>();
  private groups = new Set<string>();
  private permitUntil = 0;
  /** Install codes the host added (APP_CNF_BDB_ADD_INSTALLCODE), by IEEE address (hex). */
  private readonly installCodes = new Map<string, { format: number; code: Buffer }>();
  private hugeOut: PendingHugeRequest | null = null;
  private readonly hugeIn = new Map<number, Buffer>();
  private timestamp = 1;
  private portNumber = 0;
  private readonly logLine: (line: string) => void;
  private readonly hostName: string;
  private readonly wantPort: number;
  /** Connection count: herdsman reconnecting shows up here. */
  connections = 0;

  constructor(o: FakeCoordinatorOptions = {}) {
    this.ieee = euiToBytes(parseEui(o.ieee ?? '00124B00F00DFEED'));
    this.logLine = o.log ?? (() => undefined);
    this.hostName = o.host ?? '127.0.0.1';
    this.wantPort = o.port ?? 0;
    // Every Z-Stack image ships with NWKKEY; hosts read it first to learn the target's memory alignment.
    this.nv.set(NvItem.NWKKEY, Buffer.alloc(21));
    if (o.preformed) this.preform(o.preformed);
    for (const n of o.nodes ?? []) this.addNode(n);
  }

  static async start(o: FakeCoordinatorOptions = {}): Promise<FakeZStackCoordinator> {
    const c = new FakeZStackCoordinator(o);
    await c.listen();
    return c;
  }

  get port(): number {
    return this.portNumber;
  }

  /** The serial-port path a host gives herdsman. */
  get path(): string {
    return `tcp://${this.hostName}:${this.portNumber}`;
  }

  /** True once a network is up (a host has started or formed it). */
  get running(): boolean {
    return this.devState === DEV_ZB_COORD;
  }

  get permitJoin(): boolean {
    return Date.now() < this.permitUntil;
  }

  addNode(node: EmulatedMeterNode): void {
    this.nodes.push(node);
    node.attach(this);
  }

  node(eui: Eui | string): EmulatedMeterNode | undefined {
    const e = parseEui(eui);
    return this.nodes.find((n) => n.eui === e);
  }

  /** Distinct commands the host has sent, by name. */
  distinctCommands(): string[] {
    return [...new Set(this.requests.map((r) => r.name))].sort();
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.wantPort, this.hostName, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    this.portNumber = typeof a === 'object' && a ? a.port : 0;
    this.log(`listening on ${this.path}`);
  }

  /** Drops the host's connection, as an unplugged USB stick would. */
  dropConnection(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  async close(): Promise<void> {
    this.dropConnection();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private log(line: string): void {
    this.logLine(`[fake-znp] ${line}`);
  }

  private accept(s: Socket): void {
    if (this.socket) {
      // A ZNP has one serial line.
      s.destroy();
      return;
    }
    this.connections++;
    this.socket = s;
    s.setNoDelay(true);
    this.parser = new MtParser(
      (f) => this.onFrame(f),
      (e) => this.log(`dropped a frame: ${e.message}`),
    );
    s.on('data', (d) => this.parser?.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket === s) this.socket = null;
    });
  }

  private write(f: MtFrame): void {
    this.socket?.write(encodeMt(f));
  }

  /** An asynchronous indication to the host, after the current response has gone out. */
  private areq(subsystem: MtSubsystem, command: number, data: Buffer): void {
    setImmediate(() => this.write({ type: MtType.AREQ, subsystem, command, data }));
  }

  private onFrame(f: MtFrame): void {
    const def = commandFor(f.subsystem, f.command);
    const name = def?.name ?? `${MtSubsystem[f.subsystem] ?? f.subsystem}:0x${f.command.toString(16).padStart(2, '0')}`;
    if (f.type !== MtType.SREQ && f.type !== MtType.AREQ) {
      this.log(`ignored a frame of type ${f.type} (${name})`);
      return;
    }
    this.requests.push({ type: f.type === MtType.SREQ ? 'SREQ' : 'AREQ', subsystem: f.subsystem, command: f.command, name });
    if (!def) {
      this.unhandled.push(name);
      this.log(`unhandled ${name} ${f.data.toString('hex')}`);
      // MT RPC error: command id not supported, echoing the request's CMD0 and CMD1.
      if (f.type === MtType.SREQ) this.write({ type: MtType.SRSP, subsystem: MtSubsystem.RPC_ERROR, command: 0x00, data: Buffer.of(0x02, (MtType.SREQ << 5) | f.subsystem, f.command) });
      return;
    }
    let rsp: Buffer | void;
    try {
      rsp = def.handle(new MtReader(f.data), this);
    } catch (e) {
      this.log(`${name}: ${(e as Error).message}`);
      rsp = Buffer.of(ZFAILURE);
    }
    if (f.type === MtType.SREQ) this.write({ type: MtType.SRSP, subsystem: f.subsystem, command: f.command, data: rsp ?? Buffer.alloc(0) });
  }

  /* ---- network state ---- */

  private preform(p: Omit<NetworkParameters, 'ieee'>): void {
    const params = { ...p, ieee: this.ieee };
    this.nv.set(NvItem.ZNP_HAS_CONFIGURED_ZSTACK3, Buffer.of(HAS_CONFIGURED));
    this.nv.set(NvItem.PANID, Buffer.of(p.panId & 0xff, p.panId >> 8));
    const chan = Buffer.alloc(4);
    chan.writeUInt32LE((1 << p.channel) >>> 0);
    this.nv.set(NvItem.CHANLIST, chan);
    this.nv.set(NvItem.EXTENDED_PAN_ID, Buffer.from(p.extendedPanId).reverse());
    this.nv.set(NvItem.APS_USE_EXT_PANID, Buffer.from(p.extendedPanId).reverse());
    this.nv.set(NvItem.PRECFGKEY, p.networkKey);
    this.nv.set(NvItem.PRECFGKEYS_ENABLE, Buffer.of(0));
    storeFormedNetwork(this.nv, params);
  }

  /** Network parameters from the commissioning NV items a host wrote (random where it left them unset). */
  private commissioningParameters(): NetworkParameters {
    const pan = this.nv.read(NvItem.PANID);
    let panId = pan && pan.length >= 2 ? pan.readUInt16LE(0) : 0xffff;
    if (panId === 0xffff) panId = 1 + (randomBytes(2).readUInt16LE(0) % 0xfffd);
    const chanList = this.nv.read(NvItem.CHANLIST)?.readUInt32LE(0) ?? 0;
    let channel = 11;
    for (let c = 11; c <= 26; c++) {
      if (chanList & (1 << c)) {
        channel = c;
        break;
      }
    }
    const epid = this.nv.read(NvItem.EXTENDED_PAN_ID);
    const extendedPanId = epid && !epid.equals(Buffer.alloc(8, 0xff)) ? Buffer.from(epid).reverse() : Buffer.from(this.ieee);
    const networkKey = this.nv.read(NvItem.PRECFGKEY) ?? randomBytes(16);
    return { panId, extendedPanId, channel, networkKey: Buffer.from(networkKey), ieee: this.ieee };
  }

  /** The network as the NIB has it, or null before one exists. */
  network(): NetworkParameters | null {
    const nib = this.nv.read(NvItem.NIB);
    if (!nib) return null;
    const p = this.commissioningParameters();
    return { ...p, panId: nib.readUInt16LE(33), channel: nib.readUInt8(22), extendedPanId: Buffer.from(nib.subarray(53, 61)).reverse() };
  }

  /** Brings the coordinator up: forms the network from the commissioning items if there is none yet. */
  private startNetwork(): number {
    const formed = this.nv.read(NvItem.NIB) !== undefined;
    if (!formed) storeFormedNetwork(this.nv, this.commissioningParameters());
    if (this.devState !== DEV_ZB_COORD) {
      this.areq(MtSubsystem.ZDO, 0xc0, Buffer.of(DEV_COORD_STARTING));
      this.devState = DEV_ZB_COORD;
      this.areq(MtSubsystem.ZDO, 0xc0, Buffer.of(DEV_ZB_COORD));
    }
    const n = this.network()!;
    this.log(`network ${formed ? 'resumed' : 'formed'}: PAN 0x${n.panId.toString(16)}, channel ${n.channel}`);
    return formed ? 0x00 : 0x01;
  }

  private reset(): void {
    const opt = this.nv.read(NvItem.STARTUP_OPTION)?.[0] ?? 0;
    if (opt & STARTOPT_CLEAR_STATE) clearNetwork(this.nv);
    if (opt & STARTOPT_DEFAULT_CONFIG) this.nv.delete(NvItem.ZNP_HAS_CONFIGURED_ZSTACK3);
    this.devState = DEV_HOLD;
    this.endpoints.clear();
    this.groups.clear();
    this.hugeOut = null;
    this.hugeIn.clear();
    this.log(`reset (startup option 0x${opt.toString(16)})`);
    // SYS_RESET_IND: reason, transport revision, product, major, minor, hardware revision.
    this.areq(MtSubsystem.SYS, 0x80, Buffer.of(0x00, 2, 1, 2, 7, 1));
  }

  /* ---- joining ---- */

  private permit(seconds: number): void {
    this.permitUntil = seconds > 0 ? Date.now() + seconds * 1000 : 0;
    this.areq(MtSubsystem.ZDO, 0xcb, Buffer.of(seconds));
    if (seconds > 0) for (const n of this.nodes) this.wantsToJoin(n);
  }

  /** NodeUplink: a node that may join does so now when joining is permitted (else at the next permit). */
  wantsToJoin(node: EmulatedMeterNode): void {
    if (node.joined || node.severed || !this.permitJoin || !this.running || !this.socket) return;
    if (node.installCode && !this.installCodeMatches(node)) {
      this.log(`${node.eui} not let in: no matching install code`);
      return;
    }
    node.joinedNetwork();
    // ZDO_TC_DEV_IND (nwk, ieee, parent) then ZDO_END_DEVICE_ANNCE_IND (src, nwk, ieee, capabilities).
    this.areq(MtSubsystem.ZDO, 0xca, new MtWriter().u16(node.nwkAddress).ieee(node.ieee).u16(0x0000).build());
    this.areq(MtSubsystem.ZDO, 0xc1, new MtWriter().u16(node.nwkAddress).u16(node.nwkAddress).ieee(node.ieee).u8(node.capabilities).build());
  }

  /** APP_CNF_BDB_ADD_INSTALLCODE: format (1 = code with CRC, 2 = hashed key), IEEE address, code. */
  addInstallCode(r: MtReader): number {
    const format = r.u8();
    const ieee = r.ieee();
    // herdsman adds a code without CRC twice (as is with the CRC it computed, and as a key): keep the first form.
    const k = ieee.toString('hex');
    if (format === 1 || !this.installCodes.has(k)) this.installCodes.set(k, { format, code: Buffer.from(r.rest()) });
    for (const n of this.nodes) if (n.ieee.equals(ieee)) this.wantsToJoin(n);
    return ZSUCCESS;
  }

  /** [model] Only a code given as is (format 1) is compared, CRC aside; a pre-hashed key never matches. */
  private installCodeMatches(node: EmulatedMeterNode): boolean {
    const added = this.installCodes.get(node.ieee.toString('hex'));
    return !!added && added.format === 1 && !!node.installCode && added.code.subarray(0, -2).equals(node.installCode);
  }

  /** NodeUplink: ZDO_LEAVE_IND (src, ieee, request, remove children, rejoin). */
  left(node: EmulatedMeterNode): void {
    this.areq(MtSubsystem.ZDO, 0xc9, new MtWriter().u16(node.nwkAddress).ieee(node.ieee).u8(0).u8(0).u8(0).build());
  }

  private nodeAt(nwk: number): EmulatedMeterNode | undefined {
    return this.nodes.find((n) => n.joined && n.nwkAddress === nwk);
  }

  /* ---- AF ---- */

  /** NodeUplink: AF_INCOMING_MSG, or AF_INCOMING_MSG_EXT with the data kept for AF_DATA_RETRIEVE when huge. */
  toCoordinator(node: EmulatedMeterNode, srcEndpoint: number, dstEndpoint: number, cluster: number, zcl: Buffer): boolean {
    if (!this.socket || !this.running) return false;
    const ts = this.timestamp++;
    let respLen = 20 + zcl.length;
    const ext = respLen > MT_RPC_DATA_MAX - 10;
    if (ext) respLen += 10;
    const huge = respLen > MT_RPC_DATA_MAX;
    const w = new MtWriter().u16(0).u16(cluster);
    if (ext) w.u8(0x02).u16(node.nwkAddress).bytes(Buffer.alloc(6)).u8(srcEndpoint).u16(0);
    else w.u16(node.nwkAddress).u8(srcEndpoint);
    w.u8(dstEndpoint).u8(0).u8(0xc8).u8(0).u32(ts).u8(0);
    if (ext) w.u16(zcl.length);
    else w.u8(zcl.length);
    if (huge) this.hugeIn.set(ts, zcl);
    else w.bytes(zcl);
    w.u16(node.nwkAddress).u8(30);
    this.areq(MtSubsystem.AF, ext ? 0x82 : 0x81, w.build());
    return true;
  }

  /** Sends a host's AF request; the confirm follows, then whatever the node answers. */
  private afSend(req: PendingHugeRequest): number {
    if (!this.endpoints.has(req.srcEndpoint)) return AF_INVALID_PARAMETER;
    const node = req.dstAddr < 0xfff8 ? this.nodeAt(req.dstAddr) : undefined;
    const status = req.dstAddr >= 0xfff8 || node ? ZSUCCESS : APS_NO_ACK;
    // AF_DATA_CONFIRM: status, endpoint, transaction id.
    this.areq(MtSubsystem.AF, 0x80, Buffer.of(status, req.srcEndpoint, req.transId));
    if (node) setImmediate(() => node.receiveZcl(req.srcEndpoint, req.dstEndpoint, req.cluster, req.data));
    return ZSUCCESS;
  }

  registerEndpoint(r: MtReader): number {
    const endpoint = r.u8();
    const profile = r.u16();
    const deviceId = r.u16();
    const version = r.u8();
    r.u8(); // latency
    const inClusters = Array.from({ length: r.u8() }, () => r.u16());
    const outClusters = Array.from({ length: r.u8() }, () => r.u16());
    if (this.endpoints.has(endpoint)) return 0xb8; // duplicate entry
    this.endpoints.set(endpoint, { endpoint, profile, deviceId, version, inClusters, outClusters });
    return ZSUCCESS;
  }

  dataRequest(r: MtReader): number {
    const dstAddr = r.u16();
    const dstEndpoint = r.u8();
    const srcEndpoint = r.u8();
    const cluster = r.u16();
    const transId = r.u8();
    r.u8(); // options
    r.u8(); // radius
    const len = r.u8();
    return this.afSend({ dstAddr, dstEndpoint, srcEndpoint, cluster, transId, data: Buffer.from(r.bytes(len)) });
  }

  dataRequestExt(r: MtReader): number {
    const mode = r.u8();
    const addr = r.bytes(8);
    const dstEndpoint = r.u8();
    r.u16(); // PAN id
    const srcEndpoint = r.u8();
    const cluster = r.u16();
    const transId = r.u8();
    r.u8(); // options
    r.u8(); // radius
    const len = r.u16();
    let dstAddr: number;
    if (mode === 0x03) {
      const ieee = Buffer.from(addr).reverse();
      dstAddr = this.nodes.find((n) => n.ieee.equals(ieee))?.nwkAddress ?? 0xfffe;
    } else dstAddr = addr.readUInt16LE(0);
    const req = { dstAddr, dstEndpoint, srcEndpoint, cluster, transId, data: Buffer.alloc(len) };
    if (len + 20 > MT_RPC_DATA_MAX) {
      // Huge: the data follows in AF_DATA_STORE commands; a zero-length store sends it.
      if (this.hugeOut) return AF_INVALID_PARAMETER;
      this.hugeOut = req;
      return ZSUCCESS;
    }
    req.data = Buffer.from(r.bytes(len));
    return this.afSend(req);
  }

  dataStore(r: MtReader): number {
    const index = r.u16();
    const len = r.u8();
    const pending = this.hugeOut;
    if (!pending) return AF_MEM_FAIL;
    if (len === 0) {
      this.hugeOut = null;
      return this.afSend(pending);
    }
    if (index + len > pending.data.length) return AF_INVALID_PARAMETER;
    r.bytes(len).copy(pending.data, index);
    return ZSUCCESS;
  }

  dataRetrieve(r: MtReader): Buffer {
    const ts = r.u32();
    const index = r.u16();
    const len = r.u8();
    const data = this.hugeIn.get(ts);
    if (!data) return Buffer.of(ZFAILURE, 0);
    if (len === 0) {
      this.hugeIn.delete(ts);
      return Buffer.of(ZSUCCESS, 0);
    }
    const chunk = data.subarray(index, index + len);
    return Buffer.concat([Buffer.of(ZSUCCESS, chunk.length), chunk]);
  }

  /* ---- ZDO ---- */

  /** ZDO requests that expect an answer: SRSP success now, the response as an AREQ. */
  zdoRequest(cmd: number, r: MtReader): number {
    const dst = r.u16();
    const ofInterest = r.u16();
    if (dst !== 0x0000) {
      const node = this.nodeAt(dst);
      if (!node) return ZSUCCESS; // nobody answers; the host times out as it would over the air
      this.zdoFromNode(node, cmd, r, ofInterest);
      return ZSUCCESS;
    }
    this.zdoFromCoordinator(cmd, r, ofInterest);
    return ZSUCCESS;
  }

  private zdoFromCoordinator(cmd: number, r: MtReader, nwk: number): void {
    switch (cmd) {
      case 0x05: {
        const eps = [...this.endpoints.keys()].sort((a, b) => a - b);
        this.areq(MtSubsystem.ZDO, 0x85, new MtWriter().u16(0).u8(ZSUCCESS).u16(nwk).u8(eps.length).bytes(Buffer.from(eps)).build());
        return;
      }
      case 0x04: {
        const ep = this.endpoints.get(r.u8());
        if (!ep) {
          this.areq(MtSubsystem.ZDO, 0x84, new MtWriter().u16(0).u8(0x82).u16(nwk).u8(0).build());
          return;
        }
        const d = new MtWriter().u8(ep.endpoint).u16(ep.profile).u16(ep.deviceId).u8(ep.version).u8(ep.inClusters.length);
        for (const c of ep.inClusters) d.u16(c);
        d.u8(ep.outClusters.length);
        for (const c of ep.outClusters) d.u16(c);
        const desc = d.build();
        this.areq(MtSubsystem.ZDO, 0x84, new MtWriter().u16(0).u8(ZSUCCESS).u16(nwk).u8(desc.length).bytes(desc).build());
        return;
      }
      case 0x02: {
        const nd = Buffer.alloc(13);
        nd[0] = 0x00; // coordinator
        nd[1] = 0x40;
        nd[2] = 0x8f;
        nd.writeUInt16LE(0x0000, 3);
        nd[5] = 80;
        nd.writeUInt16LE(160, 6);
        nd.writeUInt16LE(0x2c41, 8);
        nd.writeUInt16LE(160, 10);
        this.areq(MtSubsystem.ZDO, 0x82, new MtWriter().u16(0).u8(ZSUCCESS).u16(0).bytes(nd).build());
        return;
      }
    }
  }

  private zdoFromNode(node: EmulatedMeterNode, cmd: number, r: MtReader, nwk: number): void {
    const src = node.nwkAddress;
    switch (cmd) {
      case 0x02:
        this.areq(MtSubsystem.ZDO, 0x82, new MtWriter().u16(src).u8(ZSUCCESS).u16(nwk).bytes(node.nodeDescriptor()).build());
        return;
      case 0x05: {
        const eps = node.activeEndpoints();
        this.areq(MtSubsystem.ZDO, 0x85, new MtWriter().u16(src).u8(ZSUCCESS).u16(nwk).u8(eps.length).bytes(Buffer.from(eps)).build());
        return;
      }
      case 0x04: {
        const desc = node.simpleDescriptor(r.u8());
        if (!desc) this.areq(MtSubsystem.ZDO, 0x84, new MtWriter().u16(src).u8(0x82).u16(nwk).u8(0).build());
        else this.areq(MtSubsystem.ZDO, 0x84, new MtWriter().u16(src).u8(ZSUCCESS).u16(nwk).u8(desc.length).bytes(desc).build());
        return;
      }
    }
  }

  /** ZDO_NWK_ADDR_REQ / ZDO_IEEE_ADDR_REQ: answered from the joined nodes (MT order: start index, then count). */
  addressRequest(cmd: number, r: MtReader): number {
    let node: EmulatedMeterNode | undefined;
    if (cmd === 0x00) {
      const ieee = r.ieee();
      node = this.nodes.find((n) => n.joined && n.ieee.equals(ieee));
      if (!node && ieee.equals(this.ieee)) {
        this.areq(MtSubsystem.ZDO, 0x80, new MtWriter().u8(ZSUCCESS).ieee(this.ieee).u16(0).u8(0).u8(0).build());
        return ZSUCCESS;
      }
    } else node = this.nodeAt(r.u16());
    if (node) this.areq(MtSubsystem.ZDO, cmd === 0x00 ? 0x80 : 0x81, new MtWriter().u8(ZSUCCESS).ieee(node.ieee).u16(node.nwkAddress).u8(0).u8(0).build());
    return ZSUCCESS;
  }

  /** ZDO_MGMT_LEAVE_REQ (dst, ieee, flags): a host removing a device it refused; ZDO_MGMT_LEAVE_RSP follows. */
  mgmtLeave(r: MtReader): number {
    const dst = r.u16();
    const ieee = r.ieee();
    const node = this.nodeAt(dst) ?? this.nodes.find((n) => n.joined && n.ieee.equals(ieee));
    if (node) {
      node.leftNetwork();
      this.areq(MtSubsystem.ZDO, 0xb4, new MtWriter().u16(node.nwkAddress).u8(ZSUCCESS).build());
      this.left(node);
    }
    return ZSUCCESS;
  }

  mgmtPermitJoin(r: MtReader): number {
    const mode = r.u8();
    const dst = r.u16();
    const seconds = r.u8();
    this.permit(seconds);
    // A unicast to the coordinator itself is answered with ZDO_MGMT_PERMIT_JOIN_RSP (src, status).
    if (mode === 0x02 && dst === 0x0000) this.areq(MtSubsystem.ZDO, 0xb6, new MtWriter().u16(0).u8(ZSUCCESS).build());
    return ZSUCCESS;
  }

  extNwkInfo(): Buffer {
    const n = this.network();
    return new MtWriter()
      .u16(0)
      .u8(this.devState)
      .u16(n?.panId ?? 0xffff)
      .u16(0xfffe)
      .ieee(n?.extendedPanId ?? Buffer.alloc(8))
      .ieee(Buffer.alloc(8))
      .u8(n?.channel ?? 0)
      .build();
  }

  deviceInfo(): Buffer {
    const joined = this.nodes.filter((n) => n.joined);
    const w = new MtWriter().u8(ZSUCCESS).ieee(this.ieee).u16(0).u8(0x07).u8(this.devState).u8(joined.length);
    for (const n of joined) w.u16(n.nwkAddress);
    return w.build();
  }

  groupFind(r: MtReader): Buffer {
    const ep = r.u8();
    const group = r.u16();
    const found = this.groups.has(`${ep}/${group}`);
    return new MtWriter().u8(found ? ZSUCCESS : ZFAILURE).u16(group).u8(0).build();
  }

  groupAdd(r: MtReader): number {
    const ep = r.u8();
    const group = r.u16();
    this.groups.add(`${ep}/${group}`);
    return ZSUCCESS;
  }

  /* ---- NV ---- */

  nvReadChunk(id: number, offset: number): Buffer {
    const item = this.nv.read(id);
    if (!item) return Buffer.of(NV_OPER_FAILED, 0);
    if (offset > item.length) return Buffer.of(NV_OPER_FAILED, 0);
    const chunk = item.subarray(offset, offset + HUGE_CHUNK);
    return Buffer.concat([Buffer.of(ZSUCCESS, chunk.length), chunk]);
  }

  /** Starts, commissions or resets, for the command table below. */
  startupFromApp(): number {
    return this.startNetwork();
  }
  bdbStartCommissioning(mode: number): number {
    if (mode & 0x04) this.startNetwork();
    // APP_CNF_BDB_COMMISSIONING_NOTIFICATION: status success, mode, remaining modes.
    this.areq(MtSubsystem.APP_CNF, 0x80, Buffer.of(0x00, mode, 0x00));
    return ZSUCCESS;
  }
  resetRequest(): void {
    this.reset();
  }
}
