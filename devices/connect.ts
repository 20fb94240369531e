/**
 * The usual wiring for emulated devices: a memory Link pair, a device host on one end serving the meters and a
 * Transport on the other for the DCC side. Real links (serial, ZigBee) plug the same host and Transport into
 * their own Link ends.
 */
import { DeviceHost, type DeviceHostOptions, type HostedDevice } from './host.ts';
import { createMemoryLinkPair, type MemoryLinkPair, type MemoryLinkPairOptions } from './transports/memory-link.ts';
import { Transport, type TransportOptions } from './transports/transport.ts';

export interface Connection {
  transport: Transport;
  host: DeviceHost;
  pair: MemoryLinkPair;
  close(): Promise<void>;
}

export async function connectInMemory(devices: readonly HostedDevice[], o: { link?: MemoryLinkPairOptions; transport?: TransportOptions; host?: DeviceHostOptions } = {}): Promise<Connection> {
  const pair = createMemoryLinkPair(o.link);
  const host = new DeviceHost(pair.device, o.host);
  for (const d of devices) host.add(d);
  await host.start();
  const transport = new Transport(pair.dcc, o.transport);
  await transport.open();
  return {
    transport,
    host,
    pair,
    async close() {
      await transport.close();
      await host.stop();
    },
  };
}
