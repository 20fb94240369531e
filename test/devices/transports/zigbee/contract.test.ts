/**
 * The shared Link contract over the real ZigBee path: zigbee-herdsman's Controller on the fake Z-Stack
 * coordinator (TCP), the emulated meter node behind it, GBCS through a Smart Energy tunnel. herdsman starts
 * once for the file (seconds); every contract test then gets a fresh tunnel and fresh fault rules.
 */
import test from 'ava';
import { parseEui } from '../../../../protocol/smki/eui.ts';
import { linkContract } from '../../../../devices/transports/contract.ts';
import { FakeZStackCoordinator } from '../../../../devices/transports/zigbee/fake/coordinator.ts';
import { EmulatedMeterNode } from '../../../../devices/transports/zigbee/fake/node.ts';
import { ZigbeeLink } from '../../../../devices/transports/zigbee/link.ts';
import { ZigbeeNetwork } from '../../../../devices/transports/zigbee/network.ts';

// The contract's ESME; its GSME and SMETS1 meter ride the same node's tunnel.
const node = new EmulatedMeterNode({ eui: parseEui('00DB1234567890A0') });
let fake: FakeZStackCoordinator;
let net: ZigbeeNetwork;
let startRequests: string[] = [];

test.before(async () => {
  fake = await FakeZStackCoordinator.start({ nodes: [node] });
  net = await ZigbeeNetwork.start({ port: fake.path });
  startRequests = fake.requests.map((r) => r.name);
  // Let the meter join and be interviewed once, so each test only opens a tunnel.
  await net.awaitDevice(node.eui, { timeoutMs: 60_000 });
});

test.after.always(async () => {
  await net?.stop();
  await fake?.close();
});

test.serial('herdsman commissions a network on the blank fake coordinator with only commands the fake implements', (t) => {
  t.is(net.startResult, 'reset');
  t.deepEqual(fake.unhandled, []);
  const distinct = [...new Set(startRequests)].sort();
  t.true(distinct.includes('APP_CNF_BDB_START_COMMISSIONING'));
  t.log(`herdsman start: ${Math.round(net.startMs)} ms, ${startRequests.length} MT requests, ${distinct.length} distinct: ${distinct.join(' ')}`);
});

// One emulated meter (one EUI on the HAN) serves every pair, so the tests take turns.
linkContract(test, {
  serial: true,
  name: 'zigbee link (herdsman + fake Z-Stack)',
  create: () => {
    if (node.severed) node.reconnect();
    const faults = node.resetFaults();
    return { dcc: new ZigbeeLink({ device: node.eui, network: net, openTimeoutMs: 30_000 }), device: node.link, faults };
  },
  faults: true,
  responseTimeoutMs: 10_000,
  shortTimeoutMs: 400,
});
