/**
 * The revocation register: which certificates are revoked, from when. A revocation is either immediate or,
 * when the SMKI PMA orders it (the MP134A practice after a supplier failure), delayed: it is recorded now and
 * takes effect later, and until then the certificate still counts as valid. The register never reads a clock:
 * callers say when a revocation was requested and at what time they ask about a certificate.
 */
import { issuerNameKey } from './certificate.ts';
import type { RevocationReason } from './crl.ts';

/** Certificates are identified by issuer (DUIS form) and decimal serial; a CertificateInfo fits. */
export interface CertificateRef {
  issuer: string;
  serial: string;
}

export interface RevocationRecord {
  issuer: string;
  serial: string;
  /** When the revocation was ordered. */
  requestedAt: Date;
  /** When it takes effect: equal to requestedAt for an immediate revocation. */
  effectiveAt: Date;
  reason: RevocationReason;
  /** Who ordered it, e.g. "PMA" for a delayed revocation. */
  orderedBy: string | null;
}

export type RevocationStatus =
  | { state: 'valid' }
  | { state: 'revocation-delayed-until'; until: Date; record: RevocationRecord }
  | { state: 'revoked'; since: Date; record: RevocationRecord };

export class RevocationError extends Error {
  override readonly name = 'RevocationError';
}

export interface RevokeOptions {
  requestedAt: Date;
  /** Later than requestedAt for a delayed revocation; default immediate. */
  effectiveAt?: Date;
  reason?: RevocationReason;
  orderedBy?: string;
}

const keyOf = (ref: CertificateRef) => `${issuerNameKey(ref.issuer)}#${ref.serial}`;

export class RevocationRegister {
  private readonly records = new Map<string, RevocationRecord>();

  /**
   * Records a revocation. A pending (not yet effective) revocation may be re-ordered to another time, as the PMA
   * may bring a delayed revocation forward or extend it; revoking a certificate already revoked is an error. An
   * order dated before the one on record (a DCC clock set back) moves the order back with it: a record never takes
   * effect before it was ordered, or it would read valid until the later order.
   */
  revoke(ref: CertificateRef, options: RevokeOptions): RevocationRecord {
    const { requestedAt } = options;
    const effectiveAt = options.effectiveAt ?? requestedAt;
    if (effectiveAt < requestedAt) throw new RevocationError(`cannot backdate a revocation: effective ${effectiveAt.toISOString()} is before ${requestedAt.toISOString()}`);
    const key = keyOf(ref);
    const existing = this.records.get(key);
    if (existing && existing.effectiveAt <= requestedAt) {
      throw new RevocationError(`certificate ${ref.serial} of "${ref.issuer}" is already revoked since ${existing.effectiveAt.toISOString()}`);
    }
    const record: RevocationRecord = {
      issuer: ref.issuer,
      serial: ref.serial,
      requestedAt: existing && existing.requestedAt < requestedAt ? existing.requestedAt : requestedAt,
      effectiveAt,
      reason: options.reason ?? existing?.reason ?? 'unspecified',
      orderedBy: options.orderedBy ?? existing?.orderedBy ?? null,
    };
    this.records.set(key, record);
    return record;
  }

  /**
   * Puts back a record as it was stored, without the checks of a new order: a store written before revoke()
   * kept its records consistent may hold one ordered after it took effect, read here as ordered then.
   */
  restore(record: RevocationRecord): void {
    const requestedAt = record.effectiveAt < record.requestedAt ? record.effectiveAt : record.requestedAt;
    this.records.set(keyOf(record), { ...record, requestedAt });
  }

  /** Forgets every revocation (a store that lost some replays those it kept). */
  clear(): void {
    this.records.clear();
  }

  record(ref: CertificateRef): RevocationRecord | undefined {
    return this.records.get(keyOf(ref));
  }

  /** Status at time `at`: before the order it was valid, between order and effect delayed, after it revoked. */
  status(ref: CertificateRef, at: Date): RevocationStatus {
    const record = this.records.get(keyOf(ref));
    if (!record || at < record.requestedAt) return { state: 'valid' };
    if (at < record.effectiveAt) return { state: 'revocation-delayed-until', until: record.effectiveAt, record };
    return { state: 'revoked', since: record.effectiveAt, record };
  }

  /** Revocations in effect at `at` for certificates of this issuer: what a CRL issued then lists. */
  effective(issuer: string, at: Date): RevocationRecord[] {
    const name = issuerNameKey(issuer);
    return [...this.records.values()].filter((r) => issuerNameKey(r.issuer) === name && r.effectiveAt <= at);
  }

  /** Revocations ordered but not yet in effect at `at`. */
  pending(at: Date): RevocationRecord[] {
    return [...this.records.values()].filter((r) => r.requestedAt <= at && at < r.effectiveAt);
  }

  all(): readonly RevocationRecord[] {
    return [...this.records.values()];
  }
}

/** A delayed revocation still lets the certificate be used; only an effective one stops it. */
export function countsAsValid(status: { state: string }): boolean {
  return status.state === 'valid' || status.state === 'revocation-delayed-until';
}
