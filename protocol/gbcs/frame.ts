/**
 * One entry point for any GBCS frame on the wire: a Command (General-Ciphering around a signed Pre-Command) or
 * a General-Signing APDU (Pre-Command, signed Pre-Command, response, alert), with what SRV 1.6 tooling wants
 * to know about it.
 */
import { type Cra, decodeGeneralCiphering, decodeGeneralSigning, type GeneralCiphering, type GeneralSigning, GENERAL_CIPHERING_TAG } from './apdu.ts';
import { executionToJSON } from './datetime.ts';
import { type Decoded, decodeResult, fail, unwrap } from './errors.ts';
import { AlertMessageCode, useCaseByCode } from './message-codes.ts';
import { parseFutureDatedAlert } from './usecases/alerts.ts';
import { type PaymentMode, paymentModeUseCaseByCode, parsePaymentModeCommand } from './usecases/payment-mode.ts';

export type FrameKind = 'pre-command' | 'signed-pre-command' | 'command' | 'response' | 'alert';

export interface Frame {
  kind: FrameKind;
  /** The General-Signing APDU (for a Command, the one inside the wrapper). */
  apdu: GeneralSigning;
  /** The MACed wrapper: the ACB's around a Command, or a device's around a non-critical response or alert. */
  ciphering: GeneralCiphering | null;
}

export function decodeFrame(bytes: Uint8Array): Decoded<Frame> {
  return decodeResult(() => {
    if (bytes[0] === GENERAL_CIPHERING_TAG) {
      const ciphering = unwrap(decodeGeneralCiphering(bytes));
      const inner = decodeGeneralSigning(ciphering.payload);
      if (!inner.ok) fail(inner.error.code, `inside the Command: ${inner.error.message}`, inner.error.offset + (bytes.length - ciphering.payload.length - ciphering.mac.length));
      // A Command from the ACB, or a device's MACed (non-critical) response or alert.
      return { kind: inner.value.cra, apdu: inner.value, ciphering };
    }
    const apdu = unwrap(decodeGeneralSigning(bytes));
    const kinds: Record<Cra, FrameKind> = { command: apdu.signature ? 'signed-pre-command' : 'pre-command', response: 'response', alert: 'alert' };
    return { kind: kinds[apdu.cra], apdu, ciphering: null };
  });
}

export interface FrameSummary {
  useCase: string | null;
  paymentMode: PaymentMode | null;
  /** 'now' | 'never' | ISO-8601 UTC | null */
  execution: string | null;
  /** For an 8F66 alert: the command it reports on. */
  alert?: { code: string; messageCode: number; counter: bigint; executedAt: string };
  /** Set when the content does not parse as the use case its message code names. */
  contentError?: string;
}

const PAYMENT_MODE_BY_USE_CASE: Record<string, PaymentMode> = { ECS02: 'credit', GCS02: 'credit', ECS03: 'prepayment', GCS03: 'prepayment' };

/** Use case, payment mode and execution time, as far as the frame's content tells them. */
export function summarizeFrame(frame: Frame): FrameSummary {
  const { apdu } = frame;
  if (apdu.cra === 'alert') {
    if (apdu.messageCode !== AlertMessageCode.futureDatedEsme && apdu.messageCode !== AlertMessageCode.futureDatedGsme) {
      return { useCase: null, paymentMode: null, execution: null };
    }
    const a = parseFutureDatedAlert(apdu);
    if (!a.ok) return { useCase: null, paymentMode: null, execution: null, contentError: a.error.toString() };
    const reported = paymentModeUseCaseByCode(a.value.messageCode);
    return {
      useCase: null,
      paymentMode: reported ? PAYMENT_MODE_BY_USE_CASE[reported]! : null,
      execution: a.value.executedAt.toISOString(),
      alert: { code: '0x8F66', messageCode: a.value.messageCode, counter: a.value.counter, executedAt: a.value.executedAt.toISOString() },
    };
  }
  const useCase = useCaseByCode(apdu.messageCode)?.name ?? null;
  const mode = useCase ? (PAYMENT_MODE_BY_USE_CASE[useCase] ?? null) : null;
  if (apdu.cra === 'response' || !mode) return { useCase, paymentMode: mode, execution: null };
  const parsed = parsePaymentModeCommand(apdu);
  if (!parsed.ok) return { useCase, paymentMode: null, execution: null, contentError: parsed.error.toString() };
  return { useCase, paymentMode: parsed.value.change.target.mode, execution: executionToJSON(parsed.value.change.execution) };
}
