/**
 * One shard of a fleet run: a DCC of its own (createDcc: SQLite store, SMKI, identity, outbox) serving the
 * meters of one EUI range, the SoLR Contingency User that talks to it, and the meters. A worker thread runs one
 * shard; so would one machine (README: fleet runs across machines).
 *
 * What every shard shares, because it derives it from the fleet options: the fleet itself (plan.ts), the meters'
 * keys, the parties' EUIs, the RequestID counter scheme (base + job * shards + shard: strictly increasing on each
 * shard's DCC, unique across shards, and above anything the failed supplier sent, whose counters are
 * time-based below the base). Each shard's SMKI issues its own parties' certificates.
 */
import type { KeyObject } from 'node:crypto';
import { TrustAnchors } from '../../devices/smets2/trust-anchors.ts';
import type { DeviceTrustAnchors } from '../../emulator/admin.ts';
import { createDcc, type RunningDcc } from '../../emulator/bootstrap.ts';
import type { DeviceInput } from '../../emulator/registry.ts';
import type { Defect } from '../../emulator/service.ts';
import { cryptoTally } from '../../protocol/smki/crypto-tally.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { deriveKeyPair, publicKeyFromPoint } from '../../protocol/smki/keys.ts';
import { dccResolver } from '../agents/dcc-verifier.ts';
import { EMULATED_S1SP } from '../pools/emulated.ts';
import { FleetDevices } from './devices.ts';
import { checkInvariant, type InvariantResult } from './invariant.ts';
import { buildKeyFeed, DeviceKeyDirectory, keyFeedSigner } from './key-directory.ts';
import { FleetPlan, type FleetOptions, JOB_KINDS, type JobList, type ShardRange, shardJobs } from './plan.ts';
import { FleetUser, type Outcome } from './user.ts';

export const FLEET_PARTIES = {
  failed: parseEui('90B3D51F30010001'),
  healthy: parseEui('90B3D51F30010002'),
  /** The failed supplier's Shared Resource Provider, instructed as the SoLR Contingency party. */
  srp: parseEui('90B3D51F30050001'),
};
const SRP_ENDPOINT = 'http://srp.fleet.invalid/smartdcc/duis';

export interface CryptoOps {
  sign: number;
  verify: number;
  ecdh: number;
}

/** The counted operations and the seconds spent in them. */
export interface CryptoWork {
  ops: CryptoOps;
  seconds: number;
}

/** What a batch of jobs came to. */
export interface Tally {
  switches: number;
  executed: number;
  adversarial: number;
  refused: number;
  /** Adversarial requests the DCC let through: each one a failure of the run. */
  accepted: number;
  failed: number;
  codes: Record<string, number>;
  problems: string[];
}

export function emptyTally(): Tally {
  return { switches: 0, executed: 0, adversarial: 0, refused: 0, accepted: 0, failed: 0, codes: {}, problems: [] };
}

export function addTally(into: Tally, t: Tally): Tally {
  for (const k of ['switches', 'executed', 'adversarial', 'refused', 'accepted', 'failed'] as const) into[k] += t[k];
  for (const [c, n] of Object.entries(t.codes)) into.codes[c] = (into.codes[c] ?? 0) + n;
  for (const p of t.problems) if (into.problems.length < 20) into.problems.push(p);
  return into;
}

/** This thread's ECDSA and ECDH work so far (protocol/smki/crypto-tally.ts: counted and timed where it happens). */
export function cryptoWork(): CryptoWork {
  const { sign, verify, ecdh, ms } = cryptoTally;
  return { ops: { sign, verify, ecdh }, seconds: ms / 1000 };
}

export interface ShardOptions {
  fleet: FleetOptions;
  shard: number;
  stateDir: string;
  /** Jobs in flight at once (they overlap only where they wait: the link and the outbox). */
  concurrency?: number;
  /** Seeded DCC defects (negative controls: the run must then fail). */
  defects?: readonly Defect[];
}

export class FleetShard {
  readonly range: ShardRange;
  readonly jobs: JobList;
  private counterBase = 0n;
  private cryptoAtStart: CryptoWork = cryptoWork();
  /** Batches in the order queued; each hands out its jobs in order, so counters reach the DCC in order. */
  private readonly queue: { next: number; to: number; tally: Tally; left: number; done: (t: Tally) => void }[] = [];
  private running = 0;

  private constructor(
    readonly plan: FleetPlan,
    private readonly options: ShardOptions,
    readonly dcc: RunningDcc,
    readonly devices: FleetDevices,
    readonly user: FleetUser,
    private readonly anchors: { failed: TrustAnchors; healthy: TrustAnchors },
    /** Deliveries to endpoints other than the party's (none are expected). */
    private readonly strays: { other: number },
  ) {
    this.range = plan.shard(options.shard);
    this.jobs = shardJobs(plan, this.range);
  }

  static async create(options: ShardOptions): Promise<FleetShard> {
    const plan = new FleetPlan(options.fleet);
    const range = plan.shard(options.shard);
    const seed = options.fleet.seed;
    const s1sp = deriveKeyPair(seed, 'smets-hil/s1sp');
    const devices = new FleetDevices({ plan, range, start: new Date(), s1sp: { eui: EMULATED_S1SP, key: s1sp.privateKey, publicKey: s1sp.publicKey } });
    const feedSigner = keyFeedSigner(seed);
    const directory = new DeviceKeyDirectory(feedSigner.publicKey);
    // The switched meters' Digital Signing keys, for the SoLR Contingency party to verify their responses.
    const signingKeys = new DeviceKeyDirectory(feedSigner.publicKey, 'ds');
    let user: FleetUser | null = null;
    const strays = { other: 0 };
    const dcc = await createDcc({
      stateDir: options.stateDir,
      devices: devices.port,
      outbox: { post: async (url, body) => (url === SRP_ENDPOINT && user ? user.receive(body) : ((strays.other += 1), 200)) },
      deviceTimeoutMs: 60_000,
      deviceKeyDirectory: (device) => directory.point(device.eui),
      ...(options.defects?.length ? { defects: options.defects } : {}),
    });
    try {
      const { service, admin } = dcc;
      const { failed, healthy, srp } = FLEET_PARTIES;
      service.registry.putParty({ eui: srp, name: 'Shared Resources Ltd (SoLR Contingency)', roles: ['SC'], endpoint: SRP_ENDPOINT });
      service.registry.putParty({ eui: failed, name: 'Failing Energy Ltd', roles: ['IS', 'GS'], endpoint: 'http://failed.fleet.invalid/smartdcc/duis', srp });
      service.registry.putParty({ eui: healthy, name: 'Healthy Energy plc', roles: ['IS', 'GS'], endpoint: 'http://healthy.fleet.invalid/smartdcc/duis' });
      const xml = await admin.issuePartyCertificate(srp, 'xml-signing', 'SC');
      const failedDs = await admin.issuePartyCertificate(failed, 'organisation-ds', 'IS');
      for (const [eui, product] of [[failed, 'organisation-ka'], [healthy, 'organisation-ds'], [healthy, 'organisation-ka']] as const) await admin.issuePartyCertificate(eui, product, 'IS');

      // The inventory feed: every meter of both ranges registered in one transaction each.
      const inventory = function* (from: number, to: number): Generator<DeviceInput> {
        for (let i = from; i < to; i++) {
          const m = plan.meter(i);
          yield { eui: m.eui, type: m.type, twin: m.twin, fuel: m.fuel, supplier: m.failedSupplier ? failed : healthy, networkOperator: null, smiStatus: 'commissioned' };
        }
      };
      service.registry.putDevices(inventory(...range.failed));
      service.registry.putDevices(inventory(...range.healthy));
      directory.load(buildKeyFeed(plan, ...range.failed, feedSigner.privateKey));
      directory.load(buildKeyFeed(plan, ...range.healthy, feedSigner.privateKey));
      signingKeys.load(buildKeyFeed(plan, ...range.failed, feedSigner.privateKey, 'ds', (m) => m.prepay));

      const anchorsOf = (supplier: Eui) => trustAnchors(admin.trustAnchors({ eui: supplier, type: 'ESME', twin: false, fuel: 'electricity', supplier, networkOperator: null, smiStatus: 'commissioned' }));
      const anchors = { failed: anchorsOf(failed), healthy: anchorsOf(healthy) };
      devices.populate(anchors);
      await devices.connect();
      const identity = admin.identity();
      user = new FleetUser(
        service,
        { eui: srp, xml: { privateKey: xml.privateKey!, issuer: xml.certificate.issuer, serial: xml.certificate.serial }, failedSupplierDs: failedDs.privateKey!, failedSupplier: failed },
        dccResolver([identity.xmlSigningCertificate!]),
        (eui) => {
          const point = signingKeys.point(eui);
          return point && publicKeyFromPoint(point);
        },
      );
      return new FleetShard(plan, options, dcc, devices, user, anchors, strays);
    } catch (e) {
      await dcc.close();
      throw e;
    }
  }

  /** The Authority's instruction, and the SRP's SRO submitting its ADT file for the failed supplier's devices. */
  instruct(counterBase: bigint): void {
    const { service } = this.dcc;
    const now = service.now();
    const { failed, srp } = FLEET_PARTIES;
    this.counterBase = counterBase;
    this.cryptoAtStart = cryptoWork();
    service.solr.instruct({ failedSupplier: failed, contingencyParty: srp, startsAt: now.toISOString(), reference: 'fleet SoLR event' }, now);
    service.anomaly.addOfficer(srp, { id: 'srp-sro', kind: 'SRO', name: 'SRP Senior Responsible Officer' });
    const quarantine = this.jobs.meter.length + 1;
    service.anomaly.submit(srp, { submittedBy: 'srp-sro', supplier: failed, thresholds: [{ srv: '1.6', warning: quarantine, quarantine, periodSeconds: 7 * 86_400 }] }, now);
  }

  /** Crypto work since the instruction. */
  cryptoSinceInstruction(): CryptoWork {
    const now = cryptoWork();
    const then = this.cryptoAtStart;
    return {
      ops: { sign: now.ops.sign - then.ops.sign, verify: now.ops.verify - then.ops.verify, ecdh: now.ops.ecdh - then.ops.ecdh },
      seconds: now.seconds - then.seconds,
    };
  }

  /** Queues jobs [from, to) of this shard's list; they run in list order after those queued before. */
  runBatch(from: number, to: number): Promise<Tally> {
    return new Promise((done) => {
      const tally = emptyTally();
      if (to <= from) return done(tally);
      this.queue.push({ next: from, to, tally, left: to - from, done });
      this.pump();
    });
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 32;
    while (this.running < limit) {
      const batch = this.queue.find((b) => b.next < b.to);
      if (!batch) return;
      const job = batch.next++;
      this.running++;
      void this.runJob(job).then((outcome) => {
        this.running--;
        this.count(batch.tally, job, outcome);
        if (--batch.left === 0) {
          this.queue.splice(this.queue.indexOf(batch), 1);
          batch.done(batch.tally);
        }
        this.pump();
      });
    }
  }

  private async runJob(job: number): Promise<Outcome> {
    const meter = this.plan.meter(this.jobs.meter[job]!);
    const kind = JOB_KINDS[this.jobs.kind[job]!]!;
    const counter = this.counterBase + BigInt(job) * BigInt(this.plan.options.workers) + BigInt(this.options.shard);
    this.devices.follow(this.dcc.service.now());
    try {
      return await this.user.run(kind, meter, counter, this.jobs.ordinal[job]!);
    } catch (e) {
      return { kind: 'failed', reason: (e as Error).stack ?? String(e) };
    }
  }

  private count(t: Tally, job: number, o: Outcome): void {
    const adversarial = this.jobs.kind[job] !== 0;
    const code = o.kind === 'failed' ? 'failed' : o.code;
    t.codes[code] = (t.codes[code] ?? 0) + 1;
    if (adversarial) {
      t.adversarial++;
      if (o.kind === 'refused') t.refused++;
      else if (o.kind === 'executed') t.accepted++;
      else t.failed++;
    } else {
      t.switches++;
      if (o.kind === 'executed') t.executed++;
      else t.failed++;
    }
    if (o.kind === 'failed' || (adversarial && o.kind === 'executed') || (!adversarial && o.kind === 'refused')) {
      if (t.problems.length < 5) {
        const m = this.plan.meter(this.jobs.meter[job]!);
        t.problems.push(`${JOB_KINDS[this.jobs.kind[job]!]} on ${m.eui} (${m.type}): ${o.kind === 'failed' ? o.reason : `${o.kind} ${o.code}`}`);
      }
    }
  }

  /** Deliveries that went astray: not for a waiting job, not verifiable, or to another endpoint. */
  get strayDeliveries(): number {
    return this.user.stray + this.strays.other;
  }

  /** Waits for the DCC to deliver everything, then checks every meter. */
  async check(o: { deep?: boolean } = {}): Promise<InvariantResult> {
    await this.dcc.service.settled();
    const d = this.devices;
    return checkInvariant({
      size: d.size,
      spec: (local) => d.spec(local),
      meterAt: (local) => d.meterAt(local),
      addressed: d.addressed,
      pristine: (spec) => d.create(spec, this.anchors),
      source: (spec) => (spec.type === 'SMETS1' ? EMULATED_S1SP : FLEET_PARTIES.failed),
    }, o);
  }

  async close(): Promise<void> {
    await this.devices.close();
    await this.dcc.close();
  }
}

function trustAnchors(a: DeviceTrustAnchors): TrustAnchors {
  const cell = (k: { eui: Eui; ds: KeyObject | null; ka: KeyObject | null }) => ({ eui: k.eui, ...(k.ds ? { ds: k.ds } : {}), ...(k.ka ? { ka: k.ka } : {}) });
  return new TrustAnchors({ supplier: cell(a.supplier), accessControlBroker: cell(a.acb) });
}
