/**
 * A fake Z-Stack coordinator with emulated meters behind it, for local runs of the ZigBee path without a
 * radio: point a ZigbeeLink (or check.ts) at the printed tcp:// path. From the command line it serves an
 * emulated ESME keyed with the test PKI of devices/testing/command-builder.ts (seed below), so commands built
 * with that PKI execute:
 *
 *   npx tsx devices/transports/zigbee/fake/serve.ts [--port 7070] [--meter 00DB1234567890A0] [--prepayment] \
 *     [--install-code HEX (the meter then joins only once the host adds it)]
 *
 * A caller that provisions meters its own way (trust anchors from a mock DCC) passes them in `meters`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Eui, parseEui } from '../../../../protocol/smki/eui.ts';
import { SimClock } from '../../../clock.ts';
import { DeviceHost, type HostedDevice } from '../../../host.ts';
import { SeededKeySource } from '../../../smets2/keys.ts';
import { Smets2Meter } from '../../../smets2/meter.ts';
import { makeTestPki } from '../../../testing/command-builder.ts';
import { type PrepaymentState } from '../prepayment.ts';
import { FakeZStackCoordinator, type FakeCoordinatorOptions } from './coordinator.ts';
import { EmulatedMeterNode } from './node.ts';

export const FAKE_SERVE_PKI_SEED = 'smets-hil zigbee fake';

export interface FakeZigbeeOptions extends Pick<FakeCoordinatorOptions, 'host' | 'port' | 'preformed' | 'log'> {
  /** The ZigBee node's EUI (the ESME's). */
  eui: Eui | string;
  /** The meters behind the node's tunnel (routed by EUI). */
  meters: HostedDevice[];
  /** What the node's Prepayment cluster reports (typically the ESME's snapshot). */
  prepayment?: () => PrepaymentState;
  /** The node joins only once the host adds this install code (without CRC) for its EUI. */
  installCode?: Uint8Array;
}

export interface FakeZigbee {
  fake: FakeZStackCoordinator;
  node: EmulatedMeterNode;
  host: DeviceHost;
  /** tcp://host:port for herdsman. */
  path: string;
  stop(): Promise<void>;
}

export async function serveFakeZigbee(o: FakeZigbeeOptions): Promise<FakeZigbee> {
  const node = new EmulatedMeterNode({ eui: o.eui, ...(o.prepayment ? { prepayment: o.prepayment } : {}), ...(o.installCode ? { installCode: o.installCode } : {}), ...(o.log ? { log: o.log } : {}) });
  const host = new DeviceHost(node.link);
  for (const m of o.meters) host.add(m);
  const fake = await FakeZStackCoordinator.start({ nodes: [node], ...(o.host ? { host: o.host } : {}), ...(o.port !== undefined ? { port: o.port } : {}), ...(o.preformed ? { preformed: o.preformed } : {}), ...(o.log ? { log: o.log } : {}) });
  await host.start();
  return {
    fake,
    node,
    host,
    path: fake.path,
    async stop() {
      await host.stop();
      await fake.close();
    },
  };
}

/**
 * An emulated ESME as the command line runs it: trust anchors from makeTestPki(FAKE_SERVE_PKI_SEED), its own
 * keys derived from the same seed (deriveDeviceKeys), so a harness can build commands for it and check answers.
 */
export function testEsme(eui: Eui, paymentMode: 'credit' | 'prepayment'): Smets2Meter {
  const pki = makeTestPki(FAKE_SERVE_PKI_SEED);
  return new Smets2Meter({ eui, variant: 'esme', keys: new SeededKeySource(FAKE_SERVE_PKI_SEED), trustAnchors: pki.anchors, clock: new SimClock(), initial: { paymentMode } });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { port: { type: 'string' }, meter: { type: 'string' }, prepayment: { type: 'boolean' }, 'install-code': { type: 'string' }, verbose: { type: 'boolean' } } });
  const eui = parseEui(values.meter ?? '00DB1234567890A0');
  const esme = testEsme(eui, values.prepayment ? 'prepayment' : 'credit');
  const installCode = values['install-code'] ? Buffer.from(values['install-code'], 'hex') : undefined;
  const served = await serveFakeZigbee({ eui, meters: [esme], prepayment: () => esme.snapshot(), port: Number(values.port ?? 0), ...(installCode ? { installCode } : {}), ...(values.verbose ? { log: (l: string) => console.error(l) } : {}) });
  console.log(`fake Z-Stack coordinator on ${served.path}; emulated ESME ${eui} (${esme.paymentMode}) joins when the host permits joining`);
  const stop = () => void served.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(`FAILED: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
