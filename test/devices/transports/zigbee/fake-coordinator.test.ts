/**
 * The fake Z-Stack coordinator on its own: a raw MT client over TCP (no herdsman) checks the answers hosts
 * depend on, including the huge-data path both ways and the network a commissioning leaves in NV.
 */
import { createConnection, type Socket } from 'node:net';
import test from 'ava';
import { implementedCommands } from '../../../../devices/transports/zigbee/fake/commands.ts';
import { FakeZStackCoordinator } from '../../../../devices/transports/zigbee/fake/coordinator.ts';
import { encodeMt, type MtFrame, MtParser, MtReader, MtSubsystem, MtType, MtWriter } from '../../../../devices/transports/zigbee/fake/mt.ts';
import { EmulatedMeterNode } from '../../../../devices/transports/zigbee/fake/node.ts';
import { buildNib, NIB_LENGTH, nibField, NvItem } from '../../../../devices/transports/zigbee/fake/nv.ts';
import { decodeTunnelCommand, encodeTunnelCommand } from '../../../../devices/transports/zigbee/tunnel.ts';

class MtClient {
  private readonly waiting: ((f: MtFrame) => void)[] = [];
  readonly areqs: MtFrame[] = [];
  private readonly areqWaiters: { match: (f: MtFrame) => boolean; resolve: (f: MtFrame) => void }[] = [];

  private constructor(private readonly s: Socket) {
    const p = new MtParser((f) => {
      if (f.type === MtType.SRSP) this.waiting.shift()?.(f);
      else {
        this.areqs.push(f);
        const i = this.areqWaiters.findIndex((w) => w.match(f));
        if (i >= 0) this.areqWaiters.splice(i, 1)[0]!.resolve(f);
      }
    });
    s.on('data', (d) => p.push(d));
  }

  static connect(port: number): Promise<MtClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(port, '127.0.0.1', () => resolve(new MtClient(s)));
      s.once('error', reject);
    });
  }

  sreq(subsystem: MtSubsystem, command: number, data: Buffer = Buffer.alloc(0)): Promise<MtFrame> {
    const p = new Promise<MtFrame>((resolve) => this.waiting.push(resolve));
    this.s.write(encodeMt({ type: MtType.SREQ, subsystem, command, data }));
    return p;
  }

  areq(subsystem: MtSubsystem, command: number, data: Buffer): void {
    this.s.write(encodeMt({ type: MtType.AREQ, subsystem, command, data }));
  }

  next(match: (f: MtFrame) => boolean): Promise<MtFrame> {
    const seen = this.areqs.find(match);
    if (seen) {
      this.areqs.splice(this.areqs.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => this.areqWaiters.push({ match, resolve }));
  }

  close(): void {
    this.s.destroy();
  }
}

const NETWORK = { panId: 0x1a62, extendedPanId: Buffer.from('534d455453484c31', 'hex'), channel: 15, networkKey: Buffer.alloc(16, 0x5a) };
const u16 = (v: number) => new MtWriter().u16(v).build();

async function rig(o: { preformed?: boolean } = {}) {
  const node = new EmulatedMeterNode({ eui: '00DB1234567890A0', prepayment: () => ({ paymentMode: 'prepayment' }) });
  const fake = await FakeZStackCoordinator.start({ nodes: [node], ...(o.preformed ? { preformed: NETWORK } : {}) });
  const c = await MtClient.connect(fake.port);
  return { node, fake, c, close: async () => (c.close(), await fake.close()) };
}

/** Starts the network, registers the SE endpoint and lets the node join. */
async function upWithNode(r: Awaited<ReturnType<typeof rig>>) {
  await r.c.sreq(MtSubsystem.ZDO, 0x40, u16(100));
  await r.c.next((f) => f.subsystem === MtSubsystem.ZDO && f.command === 0xc0 && f.data[0] === 9);
  await r.c.sreq(MtSubsystem.AF, 0x00, new MtWriter().u8(6).u16(0x0109).u16(5).u8(0).u8(0).u8(0).u8(0).build());
  await r.c.sreq(MtSubsystem.ZDO, 0x36, new MtWriter().u8(0x0f).u16(0xfffc).u8(60).u8(1).build());
  const announce = await r.c.next((f) => f.subsystem === MtSubsystem.ZDO && f.command === 0xc1);
  return new MtReader(announce.data).u16();
}

test('the fake answers the commands hosts start with, and names the rest', (t) => {
  const names = implementedCommands();
  for (const n of ['SYS_PING', 'SYS_VERSION', 'SYS_OSAL_NV_ITEM_INIT', 'SYS_OSAL_NV_READ_EXT', 'ZDO_STARTUP_FROM_APP', 'AF_REGISTER', 'AF_DATA_REQUEST_EXT', 'AF_DATA_STORE', 'AF_DATA_RETRIEVE', 'UTIL_GET_DEVICE_INFO', 'APP_CNF_BDB_START_COMMISSIONING']) t.true(names.includes(n), n);
});

test('ping and version are answered; an unknown command gets an MT RPC error', async (t) => {
  const r = await rig();
  const ping = await r.c.sreq(MtSubsystem.SYS, 0x01);
  t.is(ping.data.length, 2);
  const v = await r.c.sreq(MtSubsystem.SYS, 0x02);
  t.is(v.data[1], 1, 'product: Z-Stack 3.x.0');
  const err = await r.c.sreq(MtSubsystem.SYS, 0x7e);
  t.is(err.subsystem, MtSubsystem.RPC_ERROR);
  t.deepEqual([...err.data], [0x02, 0x21, 0x7e]);
  t.deepEqual(r.fake.unhandled, ['SYS:0x7e']);
  await r.close();
});

test('NV: an item created now answers 0x09, an existing one 0x00; NWKKEY is there from the start (21 octets: unaligned)', async (t) => {
  const r = await rig();
  t.is((await r.c.sreq(MtSubsystem.SYS, 0x13, u16(NvItem.NWKKEY))).data.readUInt16LE(0), 21);
  const init = () => r.c.sreq(MtSubsystem.SYS, 0x07, new MtWriter().u16(0x0060).u16(1).u8(1).u8(0x55).build());
  t.is((await init()).data[0], 0x09);
  t.is((await init()).data[0], 0x00);
  t.is((await r.c.sreq(MtSubsystem.SYS, 0x1d, new MtWriter().u16(0x0060).u16(0).u16(1).u8(0x42).build())).data[0], 0);
  const read = await r.c.sreq(MtSubsystem.SYS, 0x1c, new MtWriter().u16(0x0060).u16(0).build());
  t.deepEqual([...read.data], [0, 1, 0x42]);
  t.is((await r.c.sreq(MtSubsystem.SYS, 0x1d, new MtWriter().u16(0x0999).u16(0).u16(1).u8(1).build())).data[0], 0x0a, 'writing a missing item fails');
  await r.close();
});

test('commissioning: a reset with clear-state, then BDB formation, leaves a NIB, keys and a running coordinator', async (t) => {
  const r = await rig();
  const nvWrite = async (id: number, value: Buffer) => {
    await r.c.sreq(MtSubsystem.SYS, 0x07, new MtWriter().u16(id).u16(value.length).u8(value.length).bytes(value).build());
    await r.c.sreq(MtSubsystem.SYS, 0x1d, new MtWriter().u16(id).u16(0).u16(value.length).bytes(value).build());
  };
  await nvWrite(NvItem.STARTUP_OPTION, Buffer.of(0x03));
  r.c.areq(MtSubsystem.SYS, 0x00, Buffer.of(1));
  await r.c.next((f) => f.subsystem === MtSubsystem.SYS && f.command === 0x80);
  await nvWrite(NvItem.PANID, u16(NETWORK.panId));
  await nvWrite(NvItem.CHANLIST, new MtWriter().u32(1 << NETWORK.channel).build());
  await nvWrite(NvItem.EXTENDED_PAN_ID, Buffer.from(NETWORK.extendedPanId).reverse());
  await nvWrite(NvItem.PRECFGKEY, NETWORK.networkKey);
  t.is((await r.c.sreq(MtSubsystem.APP_CNF, 0x05, Buffer.of(0x04))).data[0], 0);
  await r.c.next((f) => f.subsystem === MtSubsystem.ZDO && f.command === 0xc0 && f.data[0] === 9);
  t.true(r.fake.running);
  const nib = r.fake.nv.read(NvItem.NIB)!;
  t.is(nib.length, NIB_LENGTH);
  t.is(nibField(nib, 'nwkPanId'), NETWORK.panId);
  t.is(nibField(nib, 'nwkLogicalChannel'), NETWORK.channel);
  t.deepEqual(nibField(nib, 'extendedPANID'), Buffer.from(NETWORK.extendedPanId).reverse());
  t.deepEqual(r.fake.nv.read(NvItem.NWK_ACTIVE_KEY_INFO), Buffer.concat([Buffer.of(0), NETWORK.networkKey]));
  const info = new MtReader(await r.c.sreq(MtSubsystem.ZDO, 0x50).then((f) => f.data));
  t.is(info.u16(), 0);
  t.is(info.u8(), 9);
  t.is(info.u16(), NETWORK.panId);
  await r.close();
});

test('a pre-formed fake holds the NIB a host commissioned', (t) => {
  const nib = buildNib({ ...NETWORK, ieee: Buffer.alloc(8) });
  t.is(NIB_LENGTH, 110);
  t.is(nibField(nib, 'nwkPanId'), NETWORK.panId);
  t.is(nibField(nib, 'channelList'), 1 << NETWORK.channel);
});

test('permit join lets the node in (TC device indication, then announce); it answers its descriptors', async (t) => {
  const r = await rig({ preformed: true });
  const nwk = await upWithNode(r);
  t.is(nwk, r.node.nwkAddress);
  t.true(r.node.joined);
  const tc = await r.c.next((f) => f.subsystem === MtSubsystem.ZDO && f.command === 0xca);
  t.deepEqual(new MtReader(tc.data.subarray(2)).ieee(), r.node.ieee);
  await r.c.sreq(MtSubsystem.ZDO, 0x04, new MtWriter().u16(nwk).u16(nwk).u8(1).build());
  const sd = new MtReader((await r.c.next((f) => f.subsystem === MtSubsystem.ZDO && f.command === 0x84)).data);
  t.is(sd.u16(), nwk);
  t.is(sd.u8(), 0);
  sd.u16();
  sd.u8(); // length
  t.is(sd.u8(), 1);
  t.is(sd.u16(), 0x0109, 'Smart Energy profile');
  sd.u16();
  sd.u8();
  const inClusters = Array.from({ length: sd.u8() }, () => sd.u16());
  t.true(inClusters.includes(0x0704) && inClusters.includes(0x0705));
  await r.close();
});

test('huge data out (AF_DATA_REQUEST_EXT + AF_DATA_STORE) reaches the node; its 1500-octet answer comes back through AF_DATA_RETRIEVE', async (t) => {
  const r = await rig({ preformed: true });
  const nwk = await upWithNode(r);
  r.node.link.onFrame((f) => void r.node.link.send(Buffer.from(f).reverse()));
  await r.node.link.open();
  const af = (zcl: Buffer, transId: number) =>
    new MtWriter().u8(0x02).u16(nwk).bytes(Buffer.alloc(6)).u8(1).u16(0).u8(6).u16(0x0704).u8(transId).u8(0).u8(30).u16(zcl.length);
  // Open a tunnel (small frame, inline).
  const req = encodeTunnelCommand({ name: 'request-tunnel', protocolId: 6, manufacturerCode: 0xffff, flowControl: false, maxIncomingTransferSize: 1500 }, { tsn: 1 });
  t.is((await r.c.sreq(MtSubsystem.AF, 0x02, af(req, 1).bytes(req).build())).data[0], 0);
  const rsp = await r.c.next((f) => f.subsystem === MtSubsystem.AF && f.command === 0x81);
  const m = new MtReader(rsp.data);
  m.bytes(16);
  const tunnel = decodeTunnelCommand(m.bytes(m.u8()))!.command;
  t.is(tunnel.name, 'request-tunnel-response');
  const tunnelId = tunnel.name === 'request-tunnel-response' ? tunnel.tunnelId : -1;
  // 1500 octets of GBCS-like data: announce, store in chunks, send with an empty store.
  const frame = Buffer.from(Array.from({ length: 1497 }, (_, i) => (i * 7) & 0xff));
  frame[0] = 0xdf;
  const zcl = encodeTunnelCommand({ name: 'transfer-data', direction: 'client-to-server', tunnelId, data: frame }, { tsn: 2 });
  t.is((await r.c.sreq(MtSubsystem.AF, 0x02, af(zcl, 2).build())).data[0], 0);
  for (let i = 0; i < zcl.length; i += 240) {
    const chunk = zcl.subarray(i, i + 240);
    t.is((await r.c.sreq(MtSubsystem.AF, 0x11, new MtWriter().u16(i).u8(chunk.length).bytes(chunk).build())).data[0], 0);
  }
  t.is((await r.c.sreq(MtSubsystem.AF, 0x11, new MtWriter().u16(0).u8(0).build())).data[0], 0);
  const confirm = await r.c.next((f) => f.subsystem === MtSubsystem.AF && f.command === 0x80 && f.data[2] === 2);
  t.is(confirm.data[0], 0);
  // The node echoes the frame reversed: too big for one MT frame, so it waits to be retrieved.
  const ext = await r.c.next((f) => f.subsystem === MtSubsystem.AF && f.command === 0x82);
  const e = new MtReader(ext.data);
  e.bytes(2 + 2 + 1 + 8 + 1 + 2 + 1 + 1 + 1 + 1);
  const ts = e.u32();
  e.u8();
  const len = e.u16();
  const got: Buffer[] = [];
  for (let i = 0; i < len; i += 200) {
    const rr = new MtReader((await r.c.sreq(MtSubsystem.AF, 0x12, new MtWriter().u32(ts).u16(i).u8(Math.min(200, len - i)).build())).data);
    t.is(rr.u8(), 0);
    got.push(rr.bytes(rr.u8()));
  }
  t.deepEqual([...(await r.c.sreq(MtSubsystem.AF, 0x12, new MtWriter().u32(ts).u16(0).u8(0).build())).data], [0, 0], 'a zero-length retrieve frees it');
  const back = decodeTunnelCommand(Buffer.concat(got))!.command;
  t.is(back.name, 'transfer-data');
  if (back.name === 'transfer-data') t.deepEqual(back.data, Buffer.from(frame).reverse());
  await r.close();
});

test('Transfer Data on an unknown tunnel is answered with Transfer Data Error (no such tunnel)', async (t) => {
  const r = await rig({ preformed: true });
  const nwk = await upWithNode(r);
  const zcl = encodeTunnelCommand({ name: 'transfer-data', direction: 'client-to-server', tunnelId: 77, data: Buffer.of(0xdf) }, { tsn: 3 });
  await r.c.sreq(MtSubsystem.AF, 0x01, new MtWriter().u16(nwk).u8(1).u8(6).u16(0x0704).u8(9).u8(0).u8(30).u8(zcl.length).bytes(zcl).build());
  const rsp = new MtReader((await r.c.next((f) => f.subsystem === MtSubsystem.AF && f.command === 0x81)).data);
  rsp.bytes(16);
  t.deepEqual(decodeTunnelCommand(rsp.bytes(rsp.u8()))?.command, { name: 'transfer-data-error', direction: 'server-to-client', tunnelId: 77, status: 0 });
  await r.close();
});

test('a node with an install code joins only once the host has added that code for its EUI', async (t) => {
  const code = Buffer.from('83fed3407a939723a5c639b26916d505', 'hex');
  const node = new EmulatedMeterNode({ eui: '00DB1234567890B1', installCode: code });
  const fake = await FakeZStackCoordinator.start({ nodes: [node], preformed: NETWORK });
  const c = await MtClient.connect(fake.port);
  await c.sreq(MtSubsystem.ZDO, 0x40, u16(100));
  await c.sreq(MtSubsystem.ZDO, 0x36, new MtWriter().u8(0x0f).u16(0xfffc).u8(60).u8(1).build());
  t.false(node.joined, 'no install code added: not let in');
  const add = (format: number, bytes: Buffer) => c.sreq(MtSubsystem.APP_CNF, 0x04, new MtWriter().u8(format).ieee(node.ieee).bytes(bytes).build());
  await add(1, Buffer.concat([Buffer.alloc(16), Buffer.of(0, 0)]));
  t.false(node.joined, 'a different code: not let in');
  await add(1, Buffer.concat([code, Buffer.of(0x12, 0x34)]));
  t.true(node.joined);
  await c.next((f) => f.subsystem === MtSubsystem.ZDO && f.command === 0xc1);
  c.close();
  await fake.close();
});

test('a frame to a node that is not on the network gets a failed data confirm', async (t) => {
  const r = await rig({ preformed: true });
  await r.c.sreq(MtSubsystem.ZDO, 0x40, u16(100));
  await r.c.sreq(MtSubsystem.AF, 0x00, new MtWriter().u8(6).u16(0x0109).u16(5).u8(0).u8(0).u8(0).u8(0).build());
  await r.c.sreq(MtSubsystem.AF, 0x01, new MtWriter().u16(r.node.nwkAddress).u8(1).u8(6).u16(0x0704).u8(4).u8(0).u8(30).u8(1).u8(0).build());
  const confirm = await r.c.next((f) => f.subsystem === MtSubsystem.AF && f.command === 0x80);
  t.not(confirm.data[0], 0);
  await r.close();
});
