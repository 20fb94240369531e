/**
 * A scenario's world, brought up for real: a mock DCC on a loopback socket, one HTTP endpoint per party, the
 * parties registered with their certificates from the DCC's SMKI, the devices planned in the device pool and
 * registered (and provisioned) through the admin API, and a User agent per party.
 */
import { createDcc, type RunningDcc } from '../../emulator/bootstrap.ts';
import type { Defect } from '../../emulator/service.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { DccAdminClient } from '../admin-client.ts';
import { dccResolver } from '../agents/dcc-verifier.ts';
import { UserEndpoint } from '../agents/endpoint.ts';
import { CounterSource, UserAgent } from '../agents/user-agent.ts';
import type { TrafficRecord } from '../results.ts';
import type { World } from '../scenarios/schema.ts';
import { worldEui } from '../scenarios/world-euis.ts';
import type { DevicePlan, DevicePool } from './device-pool.ts';
import { InfrastructureError } from './failures.ts';
import { recordingPort } from './device-traffic.ts';

export interface PartyHandle {
  alias: string;
  eui: Eui;
  roles: readonly string[];
  agent: UserAgent;
  endpoint: UserEndpoint;
  /** Organisation Digital Signing private key (GBCS), for roles that may hold one. */
  gbcsDs: KeyObject | null;
  /** Organisation Key Agreement private key: meters MAC their answers to this party's non-critical commands with it. */
  gbcsKa: KeyObject | null;
  /** Serials of the party's certificates by product, for revocation steps. */
  certificates: Map<string, { serial: string; issuer: string }>;
}

export interface DeviceHandle {
  alias: string;
  eui: Eui;
  plan: DevicePlan;
  supplier: string;
}

/** Where each step's traffic goes; the engine swaps the sink per step. */
export class TrafficLog {
  private sink: TrafficRecord[] = [];

  take(): TrafficRecord[] {
    const out = this.sink;
    this.sink = [];
    return out;
  }

  add(r: Omit<TrafficRecord, 'at'>): void {
    this.sink.push({ at: new Date().toISOString(), ...r });
  }
}

export class SettleTimeout extends InfrastructureError {}

/** How often a live world's emulated device clocks catch up with its DCC's: the most they lag behind it. */
const FOLLOW_EVERY_MS = 100;

export interface WorldOptions {
  pool: DevicePool;
  defects?: readonly Defect[];
  scAllowedSrvs?: readonly string[];
  deviceTimeoutMs?: number;
  stateDir?: string | null;
}

export class WorldInstance {
  readonly parties = new Map<string, PartyHandle>();
  /** Every endpoint listening, kept from the moment it listens: a party whose set-up fails still has one to close. */
  private readonly endpoints: UserEndpoint[] = [];
  readonly counters = new CounterSource();
  private follower: NodeJS.Timeout | null = null;
  /** What went wrong moving the device clocks in the background: reported at the next settle. */
  private followFailure: Error | null = null;

  private constructor(
    readonly spec: World,
    readonly dcc: RunningDcc,
    readonly url: string,
    readonly admin: DccAdminClient,
    readonly pool: DevicePool,
    readonly traffic: TrafficLog,
    readonly devices: Map<string, DeviceHandle>,
  ) {}

  static async create(spec: World, options: WorldOptions): Promise<WorldInstance> {
    const live = spec.start === 'now';
    const start = live ? new Date() : new Date(spec.start);
    const traffic = new TrafficLog();
    const devices = new Map<string, DeviceHandle>();
    const aliasOf = (eui: Eui) => [...devices.values()].find((d) => d.eui === eui)?.alias ?? eui;
    const dcc = await createDcc({
      stateDir: options.stateDir ?? null,
      devices: recordingPort(options.pool.port, (r) => traffic.add(r), aliasOf),
      provisioner: options.pool.provisioner,
      deviceTimeoutMs: options.deviceTimeoutMs ?? 10_000,
      outbox: { initialBackoffMs: 20, maxBackoffMs: 500 },
      ...(options.defects ? { defects: options.defects } : {}),
      ...(options.scAllowedSrvs ? { scAllowedSrvs: options.scAllowedSrvs } : {}),
    });
    let world: WorldInstance | undefined;
    try {
      // A live world's DCC keeps real time (its clock may have a stored offset: drop it); any other stops at its start.
      if (live) dcc.clock.set(start);
      else dcc.clock.freeze(start);
      const url = await dcc.listen(0);
      world = new WorldInstance(spec, dcc, url, new DccAdminClient(url), options.pool, traffic, devices);
      await world.populate(start);
      if (live) world.keepDeviceClocksInStep();
      return world;
    } catch (e) {
      if (world) await world.close();
      else await dcc.close();
      throw e;
    }
  }

  private async populate(start: Date): Promise<void> {
    const admin = this.admin;
    const identity = await admin.identity();
    const verifier = dccResolver([identity.xmlSigningCertificate!]);
    const euiOf = (alias: string) => worldEui(alias, 'party', this.spec.parties[alias]?.eui);
    const withSrp: Parameters<DccAdminClient['party']>[0][] = [];
    for (const [alias, p] of Object.entries(this.spec.parties)) {
      const endpoint = new UserEndpoint(verifier);
      await endpoint.listen();
      this.endpoints.push(endpoint);
      endpoint.onDelivery = (d) =>
        this.traffic.add({
          direction: 'dcc->endpoint',
          party: alias,
          kind: 'duis',
          summary: `delivered to ${alias}: ${describeDelivery(d.response) ?? d.problem ?? 'unreadable'}`,
          payload: d.xml,
        });
      const eui = euiOf(alias);
      // Every field named: on a DCC that outlives the run, the party may be registered from an earlier world.
      // The SRP is named once every party is registered (the DCC refuses an SRP it does not know).
      const registration = { eui, name: p.name ?? alias, roles: p.roles, endpoint: endpoint.url, srp: null, status: p.status };
      await admin.party(registration);
      if (p.srp) withSrp.push({ ...registration, srp: euiOf(p.srp) });
      const certificates = new Map<string, { serial: string; issuer: string }>();
      const xml = await admin.certificate(eui, 'xml-signing');
      certificates.set('xml-signing', { serial: xml.serial, issuer: xml.issuer });
      let gbcsDs: KeyObject | null = null;
      let gbcsKa: KeyObject | null = null;
      if (p.roles.some((r) => r === 'IS' || r === 'GS' || r === 'ED' || r === 'GT')) {
        const ds = await admin.gbcsSigner(eui);
        gbcsDs = ds.privateKey;
        certificates.set('organisation-ds', { serial: ds.certificate.serial, issuer: ds.certificate.issuer });
        const ka = await admin.certificate(eui, 'organisation-ka');
        certificates.set('organisation-ka', { serial: ka.serial, issuer: ka.issuer });
        gbcsKa = ka.privateKey ? createPrivateKey(ka.privateKey) : null;
      }
      const agent = new UserAgent(
        { eui, name: alias, xml: { privateKey: createPrivateKey(xml.privateKey!), issuer: xml.issuer, serial: xml.serial }, ...(gbcsDs ? { gbcsSigner: gbcsDs } : {}) },
        {
          dccUrl: this.url,
          counters: this.counters,
          dccVerifier: verifier,
          onTraffic: (e) =>
            this.traffic.add({
              direction: e.direction,
              party: alias,
              kind: 'duis',
              summary: e.direction === 'user->dcc' ? `${alias} -> ${e.url}` : `${e.url} -> ${alias}: HTTP ${e.status}`,
              payload: e.payload,
            }),
        },
      );
      this.parties.set(alias, { alias, eui, roles: p.roles, agent, endpoint, gbcsDs, gbcsKa, certificates });
    }
    for (const registration of withSrp) await admin.party(registration);
    const plans: DevicePlan[] = Object.entries(this.spec.devices).map(([alias, d]) => ({
      alias,
      eui: worldEui(alias, 'device', d.eui),
      type: d.type,
      twin: d.twin,
      fuel: d.fuel,
      initial: d.state,
      requires: d.requires,
    }));
    await this.pool.plan(plans, start);
    for (const plan of plans) {
      const d = this.spec.devices[plan.alias]!;
      await admin.device({
        eui: plan.eui,
        type: d.type,
        twin: d.twin,
        fuel: d.fuel,
        supplier: this.party(d.supplier).eui,
        networkOperator: d.network ? this.party(d.network).eui : null,
        smiStatus: d.smiStatus,
      });
      this.devices.set(plan.alias, { alias: plan.alias, eui: plan.eui, plan, supplier: d.supplier });
    }
  }

  party(alias: string): PartyHandle {
    const p = this.parties.get(alias);
    if (!p) throw new Error(`no party ${alias} in this world`);
    return p;
  }

  device(alias: string): DeviceHandle {
    const d = this.devices.get(alias);
    if (!d) throw new Error(`no device ${alias} in this world`);
    return d;
  }

  /** The world keeps real time (`start: now`): time passes during every step, not only in `advance`. */
  get live(): boolean {
    return this.spec.start === 'now';
  }

  /**
   * In a live world emulated devices keep real time too: their clocks follow the DCC's, so a future-dated
   * command falls due on an emulated meter as on a real one, and the same scenario runs on either.
   */
  private keepDeviceClocksInStep(): void {
    this.follower = setInterval(() => {
      try {
        this.pool.follow(this.dcc.clock.now());
      } catch (e) {
        this.followFailure ??= e as Error;
      }
    }, FOLLOW_EVERY_MS);
  }

  /** The DCC's current time. */
  now(): Date {
    return this.dcc.clock.now();
  }

  /**
   * Lets asynchronous work finish: frames in flight on device links, the DCC's dispatches and its outbox
   * (responses and alerts delivered to endpoints).
   */
  async settle(timeoutMs = 15_000): Promise<void> {
    if (this.followFailure) throw new InfrastructureError(`the device clocks could not follow the DCC's: ${this.followFailure.message}`);
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        this.dcc.service.settled().then(() => true),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      if (!settled) throw new SettleTimeout(`the DCC did not settle within ${timeoutMs} ms: ${this.dcc.service.outbox.pending()} deliveries still pending`);
    }
  }

  /** Moves the DCC's clock and every device clock together. */
  advance(ms: number): void {
    this.dcc.clock.advance(ms);
    this.pool.advance(ms);
  }

  /**
   * Closes the DCC and every party's endpoint, whatever happens to the DCC's close: one that has not finished
   * within `timeoutMs` (a dispatch still in hand) is left to finish by itself, so nothing of the world keeps the
   * process alive.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.follower) clearInterval(this.follower);
    const closing = this.dcc.close();
    // Every step has ended: a connection still open to the DCC is one its parties gave up on (a stopped step's
    // request, or one opened for it and never used), which would hold the close until the client dropped it.
    this.dcc.http.server.closeAllConnections();
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      closing.then(
        () => true,
        () => true,
      ),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    await Promise.all(this.endpoints.map((e) => e.close()));
    if (closed) await closing;
  }
}

function describeDelivery(r: import('../../protocol/duis/index.ts').DuisResponse | null): string | null {
  if (!r) return null;
  const b = r.body;
  if (b.kind === 'DeviceAlertMessage') return `device alert ${b.alertCode}`;
  if (b.kind === 'DCCAlertMessage') return `DCC alert ${b.dccAlertCode}`;
  return `response ${r.header.responseCode}${b.kind === 'ResponseMessage' ? ` SRV ${b.serviceReferenceVariant}` : ''}`;
}
