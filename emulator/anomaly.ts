/**
 * Anomaly detection. Each User's Authorised and Senior Responsible Officers (AROs, SROs) submit Anomaly
 * Detection Threshold (ADT) files: per SRV, a warning and a quarantine threshold on the number of requests in a
 * period. A request over the quarantine threshold is quarantined (not executed) and the DCC raises AD1.
 *
 * MP134B BR4: a SoLR Contingency party may address only devices of the supplier its ADT file names, so an ADT
 * file here can carry a `supplier` scope; for SC parties the scope is required.
 */
import { z } from 'zod';
import { type Eui } from '../protocol/smki/eui.ts';
import { euiSchema as eui } from './schemas.ts';
import { type Db } from './store.ts';

export const officerInput = z.strictObject({
  id: z.string().min(1).max(64),
  kind: z.enum(['ARO', 'SRO']),
  name: z.string().min(1).max(200),
});
export type OfficerInput = z.input<typeof officerInput>;

export const adtFileInput = z.strictObject({
  /** The ARO or SRO submitting the file: must be registered for the party. */
  submittedBy: z.string().min(1),
  /** The supplier whose devices this file covers (required for the SoLR Contingency role). */
  supplier: eui.optional(),
  thresholds: z
    .array(
      z
        .strictObject({
          srv: z.string().regex(/^\d+(\.\d+){1,2}$/),
          warning: z.number().int().min(0),
          quarantine: z.number().int().min(1),
          periodSeconds: z.number().int().min(1).max(366 * 86400),
        })
        .refine((t) => t.warning <= t.quarantine, { message: 'warning threshold above the quarantine threshold' }),
    )
    .min(1),
});
export type AdtFileInput = z.input<typeof adtFileInput>;
export type AdtThreshold = z.output<typeof adtFileInput>['thresholds'][number];

export interface AdtFile {
  id: number;
  party: Eui;
  submittedBy: string;
  submittedAt: Date;
  supplier: Eui | null;
  thresholds: AdtThreshold[];
}

export class AdtError extends Error {
  override readonly name = 'AdtError';
}

/** A threshold and the scope of the file it comes from (the supplier the file names, '' for an unscoped file). */
export type ScopedThreshold = AdtThreshold & { scope: string };

export type AnomalyVerdict = { kind: 'ok' } | { kind: 'warning'; count: number; threshold: AdtThreshold } | { kind: 'quarantine'; count: number; threshold: AdtThreshold };

export class AnomalyDetection {
  /** Each party's active files as last read (consulted on every request); a submission clears it. */
  private readonly filesMemo = new Map<Eui, readonly AdtFile[]>();

  constructor(private readonly db: Db) {}

  /** Drops what was read (the store's writes may have been rolled back). */
  forget(): void {
    this.filesMemo.clear();
  }

  addOfficer(party: Eui, input: OfficerInput): void {
    const o = officerInput.parse(input);
    this.db.prepare('INSERT INTO officers (party, id, kind, name) VALUES (?, ?, ?, ?) ON CONFLICT (party, id) DO UPDATE SET kind = excluded.kind, name = excluded.name').run(party, o.id, o.kind, o.name);
  }

  officers(party: Eui): { id: string; kind: 'ARO' | 'SRO'; name: string }[] {
    return this.db.prepare('SELECT id, kind, name FROM officers WHERE party = ? ORDER BY id').all(party) as { id: string; kind: 'ARO' | 'SRO'; name: string }[];
  }

  /** A new file replaces the party's previous one for the same supplier scope. */
  submit(party: Eui, input: AdtFileInput, now: Date): AdtFile {
    const v = adtFileInput.parse(input);
    const officer = this.db.prepare('SELECT kind FROM officers WHERE party = ? AND id = ?').get(party, v.submittedBy);
    if (!officer) throw new AdtError(`${v.submittedBy} is not a registered ARO or SRO of ${party}: only they may submit ADT files`);
    const srvs = new Set<string>();
    for (const t of v.thresholds) {
      if (srvs.has(t.srv)) throw new AdtError(`SRV ${t.srv} appears twice in the ADT file`);
      srvs.add(t.srv);
    }
    const supplier = v.supplier ?? null;
    this.filesMemo.delete(party);
    return this.db.transaction(() => {
      this.db.prepare('UPDATE adt_files SET active = 0 WHERE party = ? AND supplier IS ?').run(party, supplier);
      const info = this.db
        .prepare('INSERT INTO adt_files (party, submitted_by, submitted_at, supplier, body) VALUES (?, ?, ?, ?, ?)')
        .run(party, v.submittedBy, now.toISOString(), supplier, JSON.stringify(v.thresholds));
      return { id: Number(info.lastInsertRowid), party, submittedBy: v.submittedBy, submittedAt: now, supplier, thresholds: v.thresholds };
    })();
  }

  activeFiles(party: Eui): readonly AdtFile[] {
    const memo = this.filesMemo.get(party);
    if (memo) return memo;
    const rows = this.db.prepare('SELECT * FROM adt_files WHERE party = ? AND active = 1 ORDER BY id').all(party) as {
      id: number;
      party: string;
      submitted_by: string;
      submitted_at: string;
      supplier: string | null;
      body: string;
    }[];
    const files = Object.freeze(rows.map((r) => Object.freeze({ id: r.id, party: r.party as Eui, submittedBy: r.submitted_by, submittedAt: new Date(r.submitted_at), supplier: r.supplier as Eui | null, thresholds: JSON.parse(r.body) })));
    this.filesMemo.set(party, files);
    return files;
  }

  /**
   * The threshold that governs `party` sending `srv` to a device of `supplier`: the threshold for `srv` of a file
   * scoped to that supplier, else of the unscoped file (a scoped file lifts no limit it does not name). Requests
   * are counted per file scope, so each file's thresholds meet only the requests it governs.
   */
  threshold(party: Eui, srv: string, supplier: Eui | null): ScopedThreshold | undefined {
    const files = this.activeFiles(party);
    const forSrv = (scope: Eui | null) => files.find((f) => f.supplier === scope)?.thresholds.find((t) => t.srv === srv);
    const scoped = supplier ? forSrv(supplier) : undefined;
    if (scoped) return { ...scoped, scope: supplier! };
    const unscoped = forSrv(null);
    return unscoped && { ...unscoped, scope: '' };
  }

  /** Does a file from this party's officers name `supplier` with a threshold for `srv`? (BR4 for SC parties.) */
  covers(party: Eui, srv: string, supplier: Eui): boolean {
    return this.activeFiles(party).some((f) => f.supplier === supplier && f.thresholds.some((t) => t.srv === srv));
  }

  /** Counts one more request in the threshold's current window and says whether it breaches. Call inside the caller's transaction. */
  count(party: Eui, srv: string, threshold: ScopedThreshold | undefined, now: Date): AnomalyVerdict {
    if (!threshold) return { kind: 'ok' };
    const periodMs = threshold.periodSeconds * 1000;
    const windowStart = new Date(Math.floor(now.getTime() / periodMs) * periodMs).toISOString();
    const { count } = this.db
      .prepare('INSERT INTO adt_counts (party, scope, srv, window_start, count) VALUES (?, ?, ?, ?, 1) ON CONFLICT (party, scope, srv, window_start) DO UPDATE SET count = count + 1 RETURNING count')
      .get(party, threshold.scope, srv, windowStart) as { count: number };
    if (count > threshold.quarantine) return { kind: 'quarantine', count, threshold };
    if (count > threshold.warning) return { kind: 'warning', count, threshold };
    return { kind: 'ok' };
  }
}
