/**
 * The SoLR invariant over every meter of a shard: each prepayment meter of the failed supplier is now in Credit,
 * having changed only what a switch to Credit changes; every other meter is exactly as it started.
 *
 * A meter no frame ever reached (the device host records that) cannot have changed: for those the check is that
 * the meter is not one that should have been switched, and that its payment mode is still its starting one.
 * Every meter a frame reached is compared in full: its snapshot against that of a fresh meter built from the same
 * spec, every changed field within what the switch may change. `deep` compares every meter in full.
 */
import type { Meter } from '../../devices/meter.ts';
import { diffSnapshots, type Json, unexpectedChanges } from '../../devices/snapshot.ts';
import { expectedChanges } from '../../devices/expected-changes.ts';
import type { MeterSpec } from './plan.ts';

export interface InvariantResult {
  checked: number;
  /** Meters compared field by field. */
  compared: number;
  violations: number;
  /** Payment-mode changes the meters executed (from their event logs). */
  applied: number;
  /** The first few violations, for the report. */
  examples: string[];
}

export interface InvariantSubject {
  size: number;
  spec(local: number): MeterSpec;
  meterAt(local: number): Meter;
  addressed: Uint8Array;
  /** A meter as it started. */
  pristine(spec: MeterSpec): Meter;
  /** Whose counter a switch advances: the failed supplier (SMETS2+) or the S1SP (SMETS1). */
  source(spec: MeterSpec): string;
}

const PAYMENT_MODE_USE_CASES = new Set(['ECS02', 'ECS03', 'GCS02', 'GCS03', 'payment-mode']);

export function checkInvariant(s: InvariantSubject, o: { deep?: boolean } = {}): InvariantResult {
  const r: InvariantResult = { checked: 0, compared: 0, violations: 0, applied: 0, examples: [] };
  const allowedCache = new Map<string, string[]>();
  const violation = (spec: MeterSpec, why: string) => {
    r.violations++;
    if (r.examples.length < 10) r.examples.push(`${spec.eui} (${spec.type}${spec.failedSupplier ? ', failed supplier' : ', healthy supplier'}, ${spec.prepay ? 'prepayment' : 'credit'}): ${why}`);
  };
  for (let local = 0; local < s.size; local++) {
    r.checked++;
    const spec = s.spec(local);
    const meter = s.meterAt(local);
    const mustSwitch = spec.failedSupplier && spec.prepay;
    if (!s.addressed[local] && !o.deep) {
      if (mustSwitch) violation(spec, 'never received its switch to Credit');
      else if (meter.paymentMode !== (spec.prepay ? 'prepayment' : 'credit')) violation(spec, `payment mode changed to ${meter.paymentMode} without any frame`);
      continue;
    }
    r.compared++;
    const after = meter.snapshot() as unknown as { paymentMode: string; pending: { paymentMode: unknown }; eventLog: { event: string; useCase?: string }[] };
    const before = s.pristine(spec).snapshot();
    r.applied += after.eventLog.filter((e) => e.event === 'executed' && e.useCase !== undefined && PAYMENT_MODE_USE_CASES.has(e.useCase)).length;
    // The shared clock moves for every meter alike: it is not a change the command made.
    let allowed = ['clock'];
    if (mustSwitch) {
      const source = s.source(spec);
      allowed = allowedCache.get(source) ?? ['clock', ...expectedChanges('payment-mode', { source, execution: 'now', target: 'credit' })];
      allowedCache.set(source, allowed);
      if (after.paymentMode !== 'credit') {
        violation(spec, `still in ${after.paymentMode} mode`);
        continue;
      }
      // The fleet's switches are immediate: one leaves nothing pending, and a change left pending could undo it.
      if (after.pending.paymentMode !== null) {
        violation(spec, `in credit, with a payment-mode change still pending: ${JSON.stringify(after.pending.paymentMode)}`);
        continue;
      }
    }
    const unexpected = unexpectedChanges(diffSnapshots(before as unknown as Json, after as unknown as Json), allowed);
    if (unexpected.length) violation(spec, `unexpected changes: ${unexpected.map((c) => c.path).join(', ')}`);
  }
  return r;
}
