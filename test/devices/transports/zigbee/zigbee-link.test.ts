/**
 * The ZigBee path end to end with a GBCS use case: zigbee-herdsman on the fake Z-Stack coordinator (started
 * pre-formed, so herdsman resumes the network), the emulated ESME behind it, the harness's Transport on a
 * ZigbeeLink. Also: the ZigBee-level payment-mode read, tunnel closure and Transfer Data Error as LinkErrors,
 * join refusal for meters the harness was not told about, and the coordinator going away.
 */
import test from 'ava';
import { ECS02 } from '../../../../protocol/gbcs/usecases/catalogue.ts';
import { parseResponseContent } from '../../../../protocol/gbcs/usecases/responses.ts';
import { DeviceHost } from '../../../../devices/host.ts';
import { LinkError, type LinkState } from '../../../../devices/transports/link.ts';
import { Transport } from '../../../../devices/transports/transport.ts';
import { FakeZStackCoordinator } from '../../../../devices/transports/zigbee/fake/coordinator.ts';
import { EmulatedMeterNode } from '../../../../devices/transports/zigbee/fake/node.ts';
import { ZigbeeLink } from '../../../../devices/transports/zigbee/link.ts';
import { INLINE_ZCL_MAX, ZigbeeNetwork } from '../../../../devices/transports/zigbee/network.ts';
import { apduOf, build, ESME_EUI, keys, meter } from '../../support.ts';
import { verifyApdu } from '../../../../protocol/gbcs/security.ts';
import { until as poll } from '../../../helpers/poll.ts';

const NETWORK = { panId: 0x4748, extendedPanId: [0x53, 0x4d, 0x45, 0x54, 0x53, 0x48, 0x49, 0x4c], channel: 20, networkKey: Array.from({ length: 16 }, (_, i) => 0xa0 + i) };

const esme = meter('esme', { paymentMode: 'prepayment' });
/** What the node logs goes here while a test listens (it logs each tunnel it opens). */
let nodeLog: ((line: string) => void) | null = null;
const node = new EmulatedMeterNode({ eui: ESME_EUI, prepayment: () => esme.meter.snapshot(), log: (line) => nodeLog?.(line) });
const stranger = new EmulatedMeterNode({ eui: '00DB1234567890EE' });
const host = new DeviceHost(node.link).add(esme.meter);
let fake: FakeZStackCoordinator;
let net: ZigbeeNetwork;

/** What the link and the fake network do in their own time: polled often, for as long as a loaded machine may need. */
const until = (what: () => boolean) => poll(what, { withinMs: 60_000, everyMs: 10 });

function failures(link: ZigbeeLink): { state: LinkState; error?: LinkError }[] {
  const seen: { state: LinkState; error?: LinkError }[] = [];
  link.onState((state, error) => seen.push(error ? { state, error } : { state }));
  return seen;
}

test.before(async () => {
  fake = await FakeZStackCoordinator.start({ nodes: [node, stranger], preformed: { panId: NETWORK.panId, extendedPanId: Buffer.from(NETWORK.extendedPanId), channel: NETWORK.channel, networkKey: Buffer.from(NETWORK.networkKey) } });
  net = await ZigbeeNetwork.start({ port: fake.path, network: NETWORK });
  await host.start();
});

test.after.always(async () => {
  await host.stop().catch(() => undefined);
  await net?.stop();
  await fake?.close();
});

test.serial('herdsman resumes the pre-formed network of the fake coordinator', (t) => {
  t.is(net.startResult, 'resumed');
  t.deepEqual(fake.unhandled, []);
  t.log(`herdsman start: ${Math.round(net.startMs)} ms, ${fake.requests.length} MT requests, ${fake.distinctCommands().length} distinct: ${fake.distinctCommands().join(' ')}`);
});

test.serial('a second network in the same process is refused (herdsman models are process-wide)', async (t) => {
  const e = await t.throwsAsync(ZigbeeNetwork.start({ port: 'tcp://127.0.0.1:1' }));
  t.regex(e?.message ?? '', /already running in this process/);
});

test.serial('SRV 1.6 to Credit (ECS02) runs on the emulated ESME over the ZigBee tunnel; the Prepayment cluster agrees', async (t) => {
  const link = new ZigbeeLink({ device: ESME_EUI, network: net, openTimeoutMs: 30_000 });
  const transport = new Transport(link, { timeouts: { openMs: 30_000, responseMs: 10_000 } });
  await transport.open();
  t.not(link.tunnelId, null);
  t.is(await link.readPaymentMode(), 'prepayment');
  const command = build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { device: ESME_EUI, counter: 100n });
  // ZCL header (3) and tunnel id (2) around it: over the inline limit, so it goes as Z-Stack huge data.
  t.true(command.length + 5 > INLINE_ZCL_MAX, `a critical command (${command.length} octets) takes the huge-data path`);
  const t0 = performance.now();
  const reply = await transport.request(command);
  const ms = performance.now() - t0;
  const apdu = apduOf(reply.frame);
  const outcome = parseResponseContent(apdu.content);
  t.true(outcome.ok && outcome.value.success);
  t.true(verifyApdu(apdu, keys.keysFor(ESME_EUI).ds.publicKey), 'signed by the meter');
  t.is(esme.meter.paymentMode, 'credit');
  t.is(await link.readPaymentMode(), 'credit');
  t.is(link.stats.framesSent, 1);
  t.log(`ECS02 round trip over ZigBee: ${ms.toFixed(1)} ms (command ${command.length} octets, response ${reply.frame.length})`);
  await transport.close();
});

test.serial('a tunnel the meter opens to the hub is served: its PUT-framed answers reach the Transport', async (t) => {
  const link = new ZigbeeLink({ device: ESME_EUI, network: net });
  const transport = new Transport(link, { timeouts: { responseMs: 10_000 } });
  await transport.open();
  const id = await node.openOwnTunnel();
  t.is(link.inboundTunnelId, id);
  t.not(id, link.tunnelId);
  const before = link.stats.framesReceived;
  const reply = await transport.request(build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { device: ESME_EUI, counter: 101n }));
  t.true(parseResponseContent(apduOf(reply.frame).content).ok);
  t.is(link.stats.framesReceived, before + 1);
  t.is(link.stats.framesReceivedInbound, 1, 'through the meter\'s own tunnel');
  node.closeOwnTunnel();
  t.true(await until(() => link.inboundTunnelId === null));
  await transport.close();
});

test.serial('a meter that was not named is refused: herdsman asks it to leave', async (t) => {
  t.true(await until(() => !stranger.joined), 'the stranger left');
  t.is(net.find(stranger.eui), null);
  t.true(fake.requests.some((r) => r.name === 'ZDO_MGMT_LEAVE_REQ'));
});

test.serial('the meter closing its tunnel fails the link (disconnected); opening again builds a new tunnel', async (t) => {
  const link = new ZigbeeLink({ device: ESME_EUI, network: net });
  const seen = failures(link);
  await link.open();
  const first = link.tunnelId;
  node.closeTunnel(true);
  t.true(await until(() => link.state === 'failed'));
  t.is(seen.at(-1)?.error?.kind, 'disconnected');
  t.regex(seen.at(-1)?.error?.message ?? '', /closed tunnel/);
  await link.open();
  t.not(link.tunnelId, first);
  await link.close();
});

test.serial('a Transfer Data Error from the meter (no such tunnel) fails the link', async (t) => {
  const link = new ZigbeeLink({ device: ESME_EUI, network: net });
  const seen = failures(link);
  await link.open();
  node.closeTunnel(false);
  await link.send(Buffer.of(0xdf, 1, 2, 3));
  t.true(await until(() => link.state === 'failed'));
  t.is(seen.at(-1)?.error?.kind, 'disconnected');
  t.regex(seen.at(-1)?.error?.message ?? '', /Transfer Data Error \(no such tunnel\)/);
  await link.close();
});

test.serial('a malformed Transfer Data from the meter (a GET-RESPONSE without its count) is counted and ignored: the link carries on', async (t) => {
  const link = new ZigbeeLink({ device: ESME_EUI, network: net });
  const transport = new Transport(link, { timeouts: { responseMs: 10_000 } });
  await transport.open();
  t.true(node.sendRawTransferData(Uint8Array.of(0x02)));
  t.true(await until(() => link.stats.ignored === 1));
  await node.openOwnTunnel();
  t.true(node.sendRawTransferData(Uint8Array.of(0x02)), 'and through the tunnel the meter opened');
  t.true(await until(() => link.stats.ignored === 2));
  node.closeOwnTunnel();
  t.true(await until(() => link.inboundTunnelId === null));
  t.is(link.state, 'open');
  const reply = await transport.request(build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { device: ESME_EUI, counter: 102n }));
  t.true(parseResponseContent(apduOf(reply.frame).content).ok);
  await transport.close();
});

test.serial('a network listener that throws is reported, not thrown into herdsman: the listeners after it still get the frame', async (t) => {
  const off = net.onZcl(() => {
    throw new Error('a broken listener (this test expects its report on stderr)');
  });
  try {
    const link = new ZigbeeLink({ device: ESME_EUI, network: net });
    const transport = new Transport(link, { timeouts: { responseMs: 10_000 } });
    await transport.open();
    const reply = await transport.request(build.command(ECS02, { variant: 'esme', change: { target: { mode: 'credit' }, execution: { kind: 'now' } } }, { device: ESME_EUI, counter: 103n }));
    t.true(parseResponseContent(apduOf(reply.frame).content).ok);
    await transport.close();
  } finally {
    off();
  }
});

test.serial('a link closed while the meter opens its tunnel stays closed: open() rejects (closed) and that tunnel is closed again', async (t) => {
  const link = new ZigbeeLink({ device: ESME_EUI, network: net });
  const seen = failures(link);
  let closing: Promise<void> | undefined;
  // Closed at the moment the meter has opened the tunnel, before its Request Tunnel Response reaches the link.
  nodeLog = (line) => {
    if (/tunnel \d+ opened/.test(line)) closing ??= link.close();
  };
  try {
    const e = await t.throwsAsync(link.open(), { instanceOf: LinkError });
    t.is(e?.kind, 'closed');
    await closing;
  } finally {
    nodeLog = null;
  }
  t.truthy(closing, 'closed while opening');
  t.is(link.state, 'closed');
  t.is(link.tunnelId, null);
  t.deepEqual(seen.map((s) => s.state), ['opening', 'closed']);
  t.true(await until(() => node.tunnelId === null), 'the link closed the tunnel the meter opened for it');
});

test.serial('the coordinator going away fails an open link (disconnected)', async (t) => {
  const link = new ZigbeeLink({ device: ESME_EUI, network: net });
  const seen = failures(link);
  await link.open();
  fake.dropConnection();
  t.true(await until(() => link.state === 'failed'));
  t.is(seen.at(-1)?.error?.kind, 'disconnected');
  t.regex(seen.at(-1)?.error?.message ?? '', /coordinator disconnected/);
});
