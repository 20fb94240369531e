/**
 * Every use case the emulated meters understand, by message code: the SRV 1.6 payment-mode use cases and the
 * neighbours a role that should not change them must be caught trying (tariff, balance, prepayment settings,
 * top up, debt, emergency credit, supply) plus the instantaneous reads.
 */
import { type Decoded, decodeResult, unwrap } from '../errors.ts';
import { type BuildContext, type UseCaseCodec } from './command-codec.ts';
import { CS01a, CS01b } from './top-up.ts';
import { ECS07, GCS04 } from './debt.ts';
import { ECS08, GCS05 } from './prepayment-config.ts';
import { ECS09, GCS06 } from './emergency-credit.ts';
import { ECS01a, GCS01a } from './tariff.ts';
import { ECS04a, ECS04b, GCS40a, GCS40b, GCS40c, GCS40d } from './meter-balance.ts';
import { ECS17b, ECS19, GCS13a, GCS14 } from './reads.ts';
import { ECS42, ECS43, ECS44, GCS32, GCS39 } from './supply.ts';
import { buildPaymentModeContent, type MeterVariant, PAYMENT_MODE_CODES, type PaymentModeChange, parsePaymentModeCommand, type PaymentModeUseCase } from './payment-mode.ts';

export interface PaymentModeParams {
  /** ESME single or twin element (decides the credit/charge entries), or GSME. */
  variant: MeterVariant;
  change: PaymentModeChange;
  /** GSME only: the ZCL Issuer Event ID. */
  issuerEventId?: number;
}

function paymentModeCodec(name: PaymentModeUseCase): UseCaseCodec<PaymentModeParams> {
  const gsme = name.startsWith('G');
  return {
    name,
    code: PAYMENT_MODE_CODES[name],
    srv: '1.6',
    family: gsme ? 'gsme' : 'esme',
    critical: true,
    responseDateTime: true,
    build(p: PaymentModeParams, ctx: BuildContext) {
      const issuerEventId = p.issuerEventId ?? ctx.issuerEventId;
      const built = buildPaymentModeContent({ variant: p.variant, change: p.change, counter: ctx.counter, ...(issuerEventId === undefined ? {} : { issuerEventId }) });
      if (built.useCase !== name) throw new RangeError(`${name} cannot carry a ${built.useCase} change`);
      return built.content;
    },
    parse(apdu): Decoded<PaymentModeParams> {
      return decodeResult(() => {
        const parsed = unwrap(parsePaymentModeCommand({ messageCode: PAYMENT_MODE_CODES[name], content: apdu.content, counter: apdu.counter }));
        return { variant: parsed.variant, change: parsed.change, ...(parsed.issuerEventId === undefined ? {} : { issuerEventId: parsed.issuerEventId }) };
      });
    },
  };
}

export const ECS02 = paymentModeCodec('ECS02');
export const ECS03 = paymentModeCodec('ECS03');
export const GCS02 = paymentModeCodec('GCS02');
export const GCS03 = paymentModeCodec('GCS03');

/** Loosely typed on purpose: callers pick a codec by message code and hand it its own parameters. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCodec = UseCaseCodec<any>;

export const USE_CASE_CODECS: readonly AnyCodec[] = [
  ECS01a, GCS01a,
  ECS04a, ECS04b, GCS40a, GCS40b, GCS40c, GCS40d,
  ECS02, ECS03, GCS02, GCS03,
  ECS08, GCS05,
  CS01a, CS01b,
  ECS07, GCS04,
  ECS09, GCS06,
  ECS17b, GCS13a, ECS19, GCS14,
  ECS42, ECS43, ECS44, GCS32, GCS39,
];

const BY_CODE = new Map(USE_CASE_CODECS.map((c) => [c.code, c]));
const BY_NAME = new Map(USE_CASE_CODECS.map((c) => [c.name, c]));

export function codecByCode(code: number): AnyCodec | undefined {
  return BY_CODE.get(code);
}

export function codecByName(name: string): AnyCodec | undefined {
  return BY_NAME.get(name);
}
