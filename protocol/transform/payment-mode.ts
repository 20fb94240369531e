/**
 * The DCC's transform of a DUIS SRV 1.6 Update Payment Mode request into the GBCS Pre-Command for one device.
 * Pure: the DCC's clock (GSME Issuer Event ID) and the device's variant are inputs.
 */
import { type UpdatePaymentModeBody, CANCEL_EXECUTION_DATE_TIME, dateTimeInstant, type DuisRequest } from '../duis/index.ts';
import { type GeneralSigning } from '../gbcs/apdu.ts';
import { type Execution, zigbeeUtcTime } from '../gbcs/datetime.ts';
import { buildPaymentModePreCommand, type MeterVariant, type PaymentModeChange, type PaymentModeTarget } from '../gbcs/usecases/payment-mode.ts';

export class TransformError extends Error {
  override readonly name = 'TransformError';
}

const CANCEL_INSTANT = dateTimeInstant(CANCEL_EXECUTION_DATE_TIME);

export function executionFromDuis(executionDateTime: string | undefined): Execution {
  if (executionDateTime === undefined) return { kind: 'now' };
  let at: number;
  try {
    at = dateTimeInstant(executionDateTime);
  } catch {
    throw new TransformError(`ExecutionDateTime ${JSON.stringify(executionDateTime)} is not a date-time`);
  }
  if (at === CANCEL_INSTANT) return { kind: 'never' };
  if (!Number.isFinite(new Date(at).getTime())) throw new TransformError(`ExecutionDateTime ${JSON.stringify(executionDateTime)} is beyond any meter's clock`);
  return { kind: 'at', at: new Date(at) };
}

export function paymentModeChangeFromDuis(body: UpdatePaymentModeBody): PaymentModeChange {
  const p = body.paymentMode;
  const target: PaymentModeTarget =
    p.mode === 'Credit'
      ? { mode: 'credit' }
      : { mode: 'prepayment', suspendDebtDisabled: p.suspendDebtDisabled, suspendDebtEmergency: p.suspendDebtEmergency, disablementThreshold: p.disablementThreshold };
  return { target, execution: executionFromDuis(body.executionDateTime) };
}

/**
 * SRV 1.6 request -> unsigned Pre-Command. `dccTime` is the transforming DCC's clock; it becomes the GSME's ZCL
 * Issuer Event ID (the DCC reference data used 2015-01-01T00:00:00Z).
 */
export function preCommandForRequest(request: DuisRequest, variant: MeterVariant, dccTime: Date): GeneralSigning {
  if (request.header.serviceReferenceVariant !== '1.6' || request.body.kind !== 'UpdatePaymentMode') {
    throw new TransformError(`expected an SRV 1.6 UpdatePaymentMode request, got SRV ${request.header.serviceReferenceVariant} (${request.body.kind === 'opaque' ? request.body.name : request.body.kind})`);
  }
  const change = paymentModeChangeFromDuis(request.body);
  // Only a GSME's command carries the DCC's time; an ESME's does not depend on it.
  let issuerEventId: number | undefined;
  if (variant === 'gsme') {
    try {
      issuerEventId = zigbeeUtcTime(dccTime);
    } catch (e) {
      throw new TransformError(`the DCC's clock cannot be the GSME's Issuer Event ID: ${(e as Error).message}`);
    }
  }
  try {
    return buildPaymentModePreCommand({
      variant,
      change,
      counter: request.header.requestId.counter,
      originator: request.header.requestId.user,
      recipient: request.header.requestId.target,
      ...(issuerEventId === undefined ? {} : { issuerEventId }),
    });
  } catch (e) {
    // The one value a request brings that a meter's date-time format may not hold (a GSME's ends in 2136).
    if (e instanceof RangeError && change.execution.kind === 'at') throw new TransformError(`ExecutionDateTime ${change.execution.at.toISOString()} does not fit the ${variant}'s date-time: ${e.message}`);
    throw e;
  }
}
