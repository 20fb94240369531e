/**
 * Which snapshot fields a successful command may change, per use case: what a harness allows when it asserts
 * "this command changed only what it should". Paths cover everything under them ("debt" covers "debt.timeDebt1").
 *
 * A switch to Credit (ECS02, GCS02, or a SMETS1 payment-mode instruction with a credit target) touches exactly:
 *   - when it is received: `counters.<source>` (the sender's highest counter), `eventLog`, and
 *       immediate:   `paymentMode`, `pending.paymentMode` (an immediate change replaces a pending one);
 *       future-dated or cancellation: `pending.paymentMode` only;
 *   - when a future-dated one executes (the clock reaches it): `clock`, `paymentMode`, `pending.paymentMode`,
 *     `alertCounter` (the 8F66 alerts) and `eventLog`.
 * It never touches the prepayment settings (suspend-debt flags, disablement threshold): they are dormant in
 * credit mode and only a switch to Prepayment writes them. Nothing legitimate touches `securityLog`.
 */
import { type OperationName } from '../protocol/s1sp/operations.ts';

export type ExecutionKind = 'now' | 'future' | 'cancel';

export interface ExpectedChangeOptions {
  /** The EUI whose counter the command advances: the remote party (SMETS2+) or the S1SP (SMETS1). */
  source: string;
  /** For use cases with an execution time (payment mode, tariff, prepayment configuration); default now. */
  execution?: ExecutionKind;
  /** 'command' (default): the command was received; 'execution': a future-dated one has just executed. */
  phase?: 'command' | 'execution';
  /** For payment mode: the target mode (a switch to Prepayment also writes the prepayment settings). */
  target?: 'credit' | 'prepayment';
}

const GBCS_OPERATION: Record<string, OperationName> = {
  ECS02: 'payment-mode',
  ECS03: 'payment-mode',
  GCS02: 'payment-mode',
  GCS03: 'payment-mode',
  ECS04a: 'adjust-balance',
  GCS40a: 'adjust-balance',
  GCS40c: 'adjust-balance',
  GCS40b: 'set-balance',
  GCS40d: 'set-balance',
  ECS04b: 'reset-balances',
  ECS08: 'prepayment-configuration',
  GCS05: 'prepayment-configuration',
  CS01a: 'top-up',
  CS01b: 'top-up',
  ECS07: 'update-debt',
  GCS04: 'update-debt',
  ECS09: 'activate-emergency-credit',
  GCS06: 'activate-emergency-credit',
  ECS01a: 'tariff',
  GCS01a: 'tariff',
  ECS42: 'supply',
  ECS43: 'supply',
  ECS44: 'supply',
  GCS32: 'supply',
  GCS39: 'supply',
  ECS17b: 'read',
  GCS13a: 'read',
  ECS19: 'read',
  GCS14: 'read',
};

/** State each operation writes when it executes. */
const WRITES: Record<OperationName, string[]> = {
  'payment-mode': ['paymentMode'],
  'adjust-balance': ['meterBalance'],
  'set-balance': ['meterBalance'],
  'reset-balances': ['meterBalance', 'emergencyCredit.active', 'emergencyCredit.balance', 'debt.accumulatedDebt'],
  'prepayment-configuration': ['prepaymentConfiguration', 'emergencyCredit.limit', 'emergencyCredit.threshold'],
  'top-up': ['meterBalance', 'utrnCounter'],
  'update-debt': ['debt.timeDebt1', 'debt.timeDebt2', 'debt.paymentDebt', 'debt.recovery'],
  'activate-emergency-credit': ['emergencyCredit.active', 'emergencyCredit.balance'],
  tariff: ['tariff'],
  supply: ['supply'],
  read: [],
};

const PENDING: Partial<Record<OperationName, string>> = {
  'payment-mode': 'pending.paymentMode',
  'prepayment-configuration': 'pending.prepaymentConfiguration',
  tariff: 'pending.tariff',
};

/** The operation a GBCS use case name (ECS02, GCS40a, ...) or an operation name stands for. */
export function operationOf(useCase: string): OperationName {
  const op = GBCS_OPERATION[useCase] ?? (Object.keys(WRITES).includes(useCase) ? (useCase as OperationName) : undefined);
  if (!op) throw new Error(`unknown use case ${useCase}`);
  return op;
}

/** The snapshot paths a successful `useCase` may change (see the module comment for a switch to Credit). */
export function expectedChanges(useCase: string, o: ExpectedChangeOptions): string[] {
  const op = operationOf(useCase);
  const writes = [...WRITES[op]];
  if (op === 'payment-mode' && (o.target === 'prepayment' || useCase === 'ECS03' || useCase === 'GCS03')) writes.push('prepaymentSettings');
  const pending = PENDING[op];
  if (o.phase === 'execution') {
    if (!pending) throw new Error(`${useCase} is never future-dated`);
    return [...writes, pending, 'alertCounter', 'clock', 'eventLog'].sort();
  }
  const counter = `counters.${o.source}`;
  if (op === 'read') return [counter];
  const execution = pending ? (o.execution ?? 'now') : 'now';
  const out = execution === 'now' ? [...writes, counter, 'eventLog'] : [counter, 'eventLog'];
  if (pending) out.push(pending);
  return out.sort();
}
