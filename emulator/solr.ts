/**
 * Supplier of Last Resort events: the Authority's instruction that a supplier has failed and that a named
 * SoLR Contingency party may act on its devices, from a start time until an optional end (MP134B BR6).
 */
import { z } from 'zod';
import { type Eui } from '../protocol/smki/eui.ts';
import { euiSchema as eui } from './schemas.ts';
import { type Db } from './store.ts';

export const solrInstructionInput = z
  .strictObject({
    failedSupplier: eui,
    /** The party (in the SC role) the Authority instructs to act: in practice the failed supplier's SRP. */
    contingencyParty: eui,
    /** Every device registered to the failed supplier, or only these. */
    devices: z.array(eui).min(1).optional(),
    startsAt: z.iso.datetime({ offset: true }),
    endsAt: z.iso.datetime({ offset: true }).optional(),
    reference: z.string().max(200).optional(),
  })
  .refine((v) => !v.endsAt || Date.parse(v.endsAt) > Date.parse(v.startsAt), { message: 'endsAt must be after startsAt', path: ['endsAt'] });
export type SolrInstructionInput = z.input<typeof solrInstructionInput>;

export interface SolrEvent {
  id: number;
  failedSupplier: Eui;
  contingencyParty: Eui;
  devices: Eui[] | null;
  startsAt: Date;
  endsAt: Date | null;
  instructedAt: Date;
  reference: string | null;
}

interface SolrRow {
  id: number;
  failed_supplier: string;
  contingency_party: string;
  scope: string;
  starts_at: string;
  ends_at: string | null;
  instructed_at: string;
  reference: string | null;
}

export class SolrEvents {
  /** Every event as last read (a few per run, consulted several times per request); every write clears it. */
  private memo: readonly SolrEvent[] | null = null;
  /** A scoped event's devices as a set: looked up per request, and a scope may list thousands. */
  private readonly scopes = new WeakMap<SolrEvent, ReadonlySet<Eui>>();

  /** `changed` runs after each instruction or end is written (what depends on who has failed looks again). */
  constructor(
    private readonly db: Db,
    private readonly changed: () => void = () => {},
  ) {}

  /** Drops what was read (the store's writes may have been rolled back). */
  forget(): void {
    this.memo = null;
  }

  instruct(input: SolrInstructionInput, now: Date): SolrEvent {
    const v = solrInstructionInput.parse(input);
    this.memo = null;
    const info = this.db
      .prepare('INSERT INTO solr_events (failed_supplier, contingency_party, scope, starts_at, ends_at, instructed_at, reference) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(v.failedSupplier, v.contingencyParty, JSON.stringify(v.devices ?? null), new Date(v.startsAt).toISOString(), v.endsAt ? new Date(v.endsAt).toISOString() : null, now.toISOString(), v.reference ?? null);
    this.changed();
    return this.get(Number(info.lastInsertRowid))!;
  }

  /** Ends an event early (the Authority withdraws its instruction); one that has not started yet ends as it starts. */
  end(id: number, requested: Date): SolrEvent | undefined {
    const startsAt = this.get(id)?.startsAt;
    const at = startsAt && requested < startsAt ? startsAt : requested;
    this.memo = null;
    this.db.prepare('UPDATE solr_events SET ends_at = ? WHERE id = ? AND (ends_at IS NULL OR ends_at > ?)').run(at.toISOString(), id, at.toISOString());
    this.changed();
    return this.get(id);
  }

  get(id: number): SolrEvent | undefined {
    const row = this.db.prepare('SELECT * FROM solr_events WHERE id = ?').get(id) as SolrRow | undefined;
    return row && fromRow(row);
  }

  all(): readonly SolrEvent[] {
    this.memo ??= Object.freeze((this.db.prepare('SELECT * FROM solr_events ORDER BY id').all() as SolrRow[]).map((r) => Object.freeze(fromRow(r))));
    return this.memo;
  }

  /** Events in force at `at` for which `party` is the instructed contingency party. */
  activeFor(party: Eui, at: Date): SolrEvent[] {
    return this.all().filter((e) => e.contingencyParty === party && inForce(e, at));
  }

  /** Has this supplier been declared failed by `at` (an instruction for it has taken effect)? */
  hasFailed(supplier: Eui, at: Date): boolean {
    return this.all().some((e) => e.failedSupplier === supplier && tookEffect(e, at));
  }

  /**
   * Where the failed supplier's alerts from `device` go when it names no SRP (BR7): the contingency party of the
   * latest instruction for `supplier` covering the device that is in force at `at`, else (all have ended) of the
   * latest that took effect, as an ended instruction leaves its supplier failed. An instruction the Authority ended
   * so does not keep the alerts from one still in force. A device not known (an alert queued by a DCC that did not
   * record it) is covered only by an instruction for all the supplier's devices.
   */
  contingencyFor(supplier: Eui, device: Eui | null, at: Date): Eui | undefined {
    const covering = this.all().filter((e) => e.failedSupplier === supplier && tookEffect(e, at) && (device === null ? e.devices === null : this.covers(e, device)));
    return (covering.filter((e) => inForce(e, at)).at(-1) ?? covering.at(-1))?.contingencyParty;
  }

  /** The event that lets `party` act on a device of `supplier` at `at`, if any. */
  authorising(party: Eui, supplier: Eui, device: Eui, at: Date): SolrEvent | undefined {
    return this.allAuthorising(party, supplier, device, at)[0];
  }

  /**
   * Until when `party` may act on the device, by the instructions in force at `at` that let it: the latest end
   * among them (the Authority extends a contingency by a new instruction), null if one is open-ended, undefined
   * if none lets it act.
   */
  authorisedUntil(party: Eui, supplier: Eui, device: Eui, at: Date): Date | null | undefined {
    const events = this.allAuthorising(party, supplier, device, at);
    if (events.length === 0) return undefined;
    if (events.some((e) => e.endsAt === null)) return null;
    return new Date(Math.max(...events.map((e) => e.endsAt!.getTime())));
  }

  private allAuthorising(party: Eui, supplier: Eui, device: Eui, at: Date): SolrEvent[] {
    return this.activeFor(party, at).filter((e) => e.failedSupplier === supplier && this.covers(e, device));
  }

  /** Does the event cover this device (all the supplier's, or the device is in its list)? */
  private covers(e: SolrEvent, device: Eui): boolean {
    if (e.devices === null) return true;
    let scope = this.scopes.get(e);
    if (!scope) this.scopes.set(e, (scope = new Set(e.devices)));
    return scope.has(device);
  }
}

/**
 * Has the instruction taken effect by `at` (it has started)? One withdrawn before its start (it ends as it starts)
 * never took effect; one that ran and ended leaves its supplier failed.
 */
function tookEffect(e: SolrEvent, at: Date): boolean {
  return e.startsAt <= at && (e.endsAt === null || e.startsAt < e.endsAt);
}

export function inForce(e: SolrEvent, at: Date): boolean {
  return e.startsAt <= at && (e.endsAt === null || at < e.endsAt);
}

function fromRow(r: SolrRow): SolrEvent {
  return {
    id: r.id,
    failedSupplier: r.failed_supplier as Eui,
    contingencyParty: r.contingency_party as Eui,
    devices: JSON.parse(r.scope) as Eui[] | null,
    startsAt: new Date(r.starts_at),
    endsAt: r.ends_at ? new Date(r.ends_at) : null,
    instructedAt: new Date(r.instructed_at),
    reference: r.reference,
  };
}
