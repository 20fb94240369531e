/**
 * ZigBee links for a rig session (`RigSessionOptions.zigbee`): the rig devices with `transport: { kind: zigbee }`
 * reached through the ZigBee transport (devices/transports/zigbee), the harness as their Communications Hub.
 *
 * A device's transport parameters (all but `coordinator` optional):
 *
 *   coordinator   serial path of the coordinator ("/dev/ttyACM0") or "tcp://host:port"
 *   adapter       herdsman adapter: zstack (default; the only one that carries frames over 230 octets), ember,
 *                 deconz, zboss, zigate
 *   baud, rtscts  the coordinator's serial line
 *   channel       11-26; panId (1-0xFFFE); extendedPanId (16 hex digits); networkKey (32 hex digits)
 *   dataDir       herdsman's database and coordinator backup, relative to the rig file (default: a temporary
 *                 directory per run, so a new network each time; keep one for a real meter)
 *   installCode   the meter's install code in hex (with or without its CRC); the meter may join only with it
 *   joinTimeout   how long to wait for the meter to be on the HAN (joining if it must), default 60s
 *
 * One ZigbeeNetwork per coordinator, started when the first of its devices is reached and shared by all of them
 * (with every install code of its devices); a link per device. herdsman keeps its models per process, so a run
 * has one network: a device on a second coordinator is passed over with that reason (run it on its own). When
 * zigbee-herdsman (an optional dependency) is missing, ZigBee devices are passed over with that reason and the
 * rest of the run goes on. Both are RigUnavailableErrors, which the session takes as "this run cannot reach the
 * device" rather than as a failed health check. A meter that does not come on the HAN in time is a LinkError: a
 * health-check failure.
 */
import type { Link } from '../transports/link.ts';
import { LinkError } from '../transports/link.ts';
import { HerdsmanUnavailableError, loadHerdsman } from '../transports/zigbee/herdsman.ts';
import { ZigbeeLink } from '../transports/zigbee/link.ts';
import { ZigbeeNetwork, type ZigbeeLogLevel, type ZigbeeNetworkConfig, type ZigbeeNetworkOptions } from '../transports/zigbee/network.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { durationMs, type Rig, type RigDevice, rigPath } from './inventory.ts';
import { RigUnavailableError } from './session.ts';
import { NETWORK_KEYS, type ZigbeeRigParams } from './zigbee-params.ts';

const DEFAULT_JOIN_MS = 60_000;

function octets(hex: string): number[] {
  return [...Buffer.from(hex, 'hex')];
}

export interface ZigbeeRigLinksOptions {
  /** herdsman's log lines (all levels), tagged with the coordinator. */
  log?: (level: ZigbeeLogLevel, message: string) => void;
  /** After a coordinator failed to start, devices on it are passed over for this long before it is tried again (default 60 s). */
  retryAfterMs?: number;
  /** Test seams: how herdsman is loaded and a network started. */
  loadHerdsman?: () => Promise<unknown>;
  startNetwork?: (o: ZigbeeNetworkOptions) => Promise<ZigbeeNetwork>;
}

interface Coordinator {
  coordinator: string;
  /** The devices of the rig on it, with their parameters. */
  devices: { device: RigDevice; params: ZigbeeRigParams }[];
  starting: Promise<ZigbeeNetwork> | null;
  network: ZigbeeNetwork | null;
  /** The coordinator went away: the next device reached starts the network again. */
  down: boolean;
  failed: { at: number; reason: string } | null;
}

/**
 * The ZigBee link factory of a rig run. `link` is what RigSessionOptions.zigbee takes; `close` stops the network
 * (after the session closed its links).
 */
export class ZigbeeRigLinks {
  private readonly coordinators = new Map<string, Coordinator>();
  private readonly links = new Map<string, ZigbeeLink>();
  /** The coordinator whose network this run started: the only one it can have (one herdsman per process). */
  private owner: Coordinator | null = null;
  private closed = false;
  private starts = 0;

  constructor(
    readonly rig: Rig,
    private readonly o: ZigbeeRigLinksOptions = {},
  ) {
    // loadRig has checked the parameters (zigbee-params.ts), so they are read as they are.
    for (const device of rig.devices) {
      if (device.transport.kind !== 'zigbee') continue;
      const params = device.transport;
      const c = this.coordinators.get(params.coordinator) ?? { coordinator: params.coordinator, devices: [], starting: null, network: null, down: false, failed: null };
      c.devices.push({ device, params });
      this.coordinators.set(c.coordinator, c);
    }
  }

  /** How many networks this factory started (one, unless a coordinator went away and came back). */
  get started(): number {
    return this.starts;
  }

  /** The running network, if any (tests, logs). */
  get network(): ZigbeeNetwork | null {
    return this.owner?.network ?? null;
  }

  /** RigSessionOptions.zigbee: a link to the device, its network started (or shared) and the meter on the HAN. */
  readonly link = async (p: ZigbeeRigParams, device: RigDevice): Promise<Link> => {
    if (this.closed) throw new RigUnavailableError(`${device.id}: the run's ZigBee links are closed`);
    try {
      await (this.o.loadHerdsman ?? loadHerdsman)();
    } catch (e) {
      if (e instanceof HerdsmanUnavailableError) throw new RigUnavailableError(`${device.id} is on ZigBee, and ${e.message}`);
      throw e;
    }
    const net = await this.networkFor(p.coordinator, device);
    const eui = parseEui(device.eui);
    const joinMs = p.joinTimeout ? durationMs(p.joinTimeout) : DEFAULT_JOIN_MS;
    // Waiting for the meter here, not in the link's open: a real meter may take longer to join than the session
    // gives a link to open. A meter that does not come is the device's failure (a LinkError).
    await net.awaitDevice(eui, { timeoutMs: joinMs });
    const previous = this.links.get(device.id);
    if (previous) await previous.close().catch(() => undefined);
    const link = new ZigbeeLink({ device: eui, network: net, openTimeoutMs: joinMs });
    this.links.set(device.id, link);
    return link;
  };

  private async networkFor(coordinator: string, device: RigDevice): Promise<ZigbeeNetwork> {
    const c = this.coordinators.get(coordinator);
    // A device the inventory does not list this way (parameters changed under us): nothing to share it with.
    if (!c) throw new RigUnavailableError(`${device.id}: coordinator ${coordinator} is not in rig ${this.rig.name}`);
    if (this.owner && this.owner !== c) {
      const others = this.owner.devices.map((d) => d.device.id).join(', ');
      throw new RigUnavailableError(
        `${device.id} is on ZigBee coordinator ${coordinator}, but this run's ZigBee network is on ${this.owner.coordinator} (${others}): herdsman runs one network per process, so a run reaches one coordinator; run the devices of ${coordinator} in a run of their own (a rig file naming only that coordinator)`,
      );
    }
    if (c.network && !c.down) return c.network;
    if (c.starting) return this.awaitStart(c, device);
    const retryMs = this.o.retryAfterMs ?? 60_000;
    if (c.failed && Date.now() - c.failed.at < retryMs) {
      throw new RigUnavailableError(`${device.id} is on ZigBee coordinator ${coordinator}, which did not start: ${c.failed.reason} (not tried again for ${Math.round(retryMs / 1000)} s)`);
    }
    const old = c.network;
    c.network = null;
    c.down = false;
    c.starting = (async () => {
      if (old) await old.stop().catch(() => undefined);
      return (this.o.startNetwork ?? ((o) => ZigbeeNetwork.start(o)))(this.networkOptions(c));
    })();
    this.owner = c;
    return this.awaitStart(c, device);
  }

  private async awaitStart(c: Coordinator, device: RigDevice): Promise<ZigbeeNetwork> {
    const starting = c.starting!;
    let net: ZigbeeNetwork;
    try {
      net = await starting;
    } catch (e) {
      const reason = (e as Error).message.replace(/^zigbee:.*?: coordinator did not start: /, '');
      if (c.starting === starting) {
        c.starting = null;
        c.failed = { at: Date.now(), reason };
        if (this.owner === c) this.owner = null;
      }
      if (e instanceof HerdsmanUnavailableError || (e instanceof LinkError && /zigbee-herdsman/.test(reason))) {
        throw new RigUnavailableError(`${device.id} is on ZigBee, and ${reason}`);
      }
      throw new RigUnavailableError(`${device.id} is on ZigBee coordinator ${c.coordinator}, which did not start: ${reason}`);
    }
    if (c.starting === starting) {
      c.starting = null;
      c.failed = null;
      c.network = net;
      this.starts++;
      net.onDown(() => (c.down = true));
      if (this.closed) {
        await net.stop().catch(() => undefined);
        throw new RigUnavailableError(`${device.id}: the run's ZigBee links are closed`);
      }
    }
    return net;
  }

  private networkOptions(c: Coordinator): ZigbeeNetworkOptions {
    const given = <K extends (typeof NETWORK_KEYS)[number]>(key: K): ZigbeeRigParams[K] | undefined => c.devices.find((d) => d.params[key] !== undefined)?.params[key];
    const network: Partial<ZigbeeNetworkConfig> = {};
    const channel = given('channel');
    const panId = given('panId');
    const extendedPanId = given('extendedPanId');
    const networkKey = given('networkKey');
    if (channel !== undefined) network.channel = channel;
    if (panId !== undefined) network.panId = panId;
    if (extendedPanId !== undefined) network.extendedPanId = octets(extendedPanId);
    if (networkKey !== undefined) network.networkKey = octets(networkKey);
    const adapter = given('adapter');
    const baud = given('baud');
    const rtscts = given('rtscts');
    const dataDir = given('dataDir');
    const installCodes = c.devices.filter((d) => d.params.installCode).map((d) => `${d.device.eui.toUpperCase()}|${d.params.installCode}`);
    const log = this.o.log;
    return {
      port: c.coordinator,
      network,
      ...(adapter ? { adapter } : {}),
      ...(baud !== undefined ? { baudRate: baud } : {}),
      ...(rtscts !== undefined ? { rtscts } : {}),
      ...(dataDir ? { dataDir: rigPath(this.rig, dataDir) } : {}),
      ...(installCodes.length ? { installCodes } : {}),
      ...(log ? { log: (level: ZigbeeLogLevel, m: string) => log(level, `${c.coordinator}: ${m}`) } : {}),
    };
  }

  /** Closes what links are left and stops the network (waiting for one still starting). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.links.values()].map((l) => l.close().catch(() => undefined)));
    this.links.clear();
    for (const c of this.coordinators.values()) {
      const net = c.network ?? (await c.starting?.catch(() => null)) ?? null;
      c.network = null;
      c.starting = null;
      await net?.stop();
    }
    this.owner = null;
  }
}
