/**
 * SRV 1.5 Update Meter Balance.
 * - ECS04a: ACTION update_amount (method 1) on the Meter Balance credit object 0-0:19.10.0.255 (class 112).
 * - ECS04b: ACTION set_amount_to_value (method 2) with 0 on Meter Balance, Emergency Credit and the Accumulated
 *   Debt Register (0-0:19.10.0/1/2.255): a reset.
 * - GCS40a-d: Credit Adjustment (Prepayment cluster 0x0705, command 0x05) with an adjustment type that says
 *   whether the prepayment or the credit-mode balance is adjusted by, or set to, the value.
 * Amounts are DUIS values, unscaled (signed 32-bit).
 */
import { ByteWriter } from '../bytes.ts';
import type { Decoded } from '../errors.ts';
import { CLUSTER_PREPAYMENT } from './payment-mode.ts';
import {
  asDoubleLong,
  type BuildContext,
  checkInt32,
  DEFAULT_ISSUER_EVENT_ID,
  decodeRequest,
  encodeRequest,
  invokeIdFor,
  parseByRebuilding,
  specData,
  type UseCaseCodec,
} from './command-codec.ts';
import { command, readFirstPayload, writeComponents } from './gbz-components.ts';

const CLASS_CREDIT = 0x0070;
const METHOD_UPDATE_AMOUNT = 1;
const METHOD_SET_AMOUNT_TO_VALUE = 2;
const creditRegister = (x: number) => `0000130A0${x}FF`;
/** Meter Balance, Emergency Credit Balance, Accumulated Debt Register. */
export const METER_BALANCE_REGISTER = creditRegister(0);

export interface AdjustBalance {
  /** Signed amount added to the balance. */
  amount: number;
}

export const ECS04a: UseCaseCodec<AdjustBalance> = {
  name: 'ECS04a',
  code: 0x001c,
  srv: '1.5',
  family: 'esme',
  critical: true,
  responseDateTime: false,
  build(p, ctx) {
    checkInt32(p.amount, 'balance adjustment');
    return encodeRequest({
      invokeId: invokeIdFor(ctx.counter),
      specs: [{ kind: 'action', target: { classId: CLASS_CREDIT, instance: METER_BALANCE_REGISTER, index: METHOD_UPDATE_AMOUNT } }],
      data: [{ type: 'double-long', value: p.amount }],
    });
  },
  parse(apdu) {
    return parseByRebuilding(
      'ECS04a',
      apdu.content,
      () => {
        const req = decodeRequest(apdu.content, 'ECS04a');
        return { amount: asDoubleLong(specData(req, 0, 'action', CLASS_CREDIT, METER_BALANCE_REGISTER, METHOD_UPDATE_AMOUNT, 'ECS04a'), 'adjustment') };
      },
      (p) => ECS04a.build(p, { counter: apdu.counter }),
    );
  },
};

/** ECS04b takes no parameters: it zeroes the three credit registers. */
export type ResetBalance = Record<string, never>;

export const ECS04b: UseCaseCodec<ResetBalance> = {
  name: 'ECS04b',
  code: 0x00b3,
  srv: '1.5',
  family: 'esme',
  critical: true,
  responseDateTime: false,
  build(_p, ctx) {
    const specs = [0, 1, 2].map((x) => ({ kind: 'action' as const, target: { classId: CLASS_CREDIT, instance: creditRegister(x), index: METHOD_SET_AMOUNT_TO_VALUE } }));
    return encodeRequest({ invokeId: invokeIdFor(ctx.counter), specs, data: specs.map(() => ({ type: 'double-long' as const, value: 0 })) });
  },
  parse(apdu) {
    return parseByRebuilding(
      'ECS04b',
      apdu.content,
      () => {
        decodeRequest(apdu.content, 'ECS04b');
        return {};
      },
      (p) => ECS04b.build(p, { counter: apdu.counter }),
    );
  },
};

// ---------------------------------------------------------------- GSME

export const CMD_CREDIT_ADJUSTMENT = 0x05;

/** The four GSME variants differ only in the Credit Adjustment Type they send. */
export type GsmeBalanceUseCase = 'GCS40a' | 'GCS40b' | 'GCS40c' | 'GCS40d';
const GSME_ADJUSTMENT: Record<GsmeBalanceUseCase, { code: number; type: number; reset: boolean; balance: 'prepayment' | 'credit' }> = {
  GCS40a: { code: 0x0086, type: 0, reset: false, balance: 'prepayment' },
  GCS40b: { code: 0x00b4, type: 1, reset: true, balance: 'prepayment' },
  GCS40c: { code: 0x00c0, type: 3, reset: false, balance: 'credit' },
  GCS40d: { code: 0x00c2, type: 2, reset: true, balance: 'credit' },
};

export interface GsmeCreditAdjustment {
  /** Adjustments add `amount`; resets set the balance to it (DUIS resets always send 0). */
  amount: number;
  /** ZCL Issuer Event ID; defaults to the build context's, then the RTDS reference clock. */
  issuerEventId?: number;
}

function gsmeBalanceCodec(name: GsmeBalanceUseCase): UseCaseCodec<GsmeCreditAdjustment> & { adjusts: 'prepayment' | 'credit'; reset: boolean } {
  const v = GSME_ADJUSTMENT[name];
  const codec = {
    name,
    code: v.code,
    srv: '1.5',
    family: 'gsme' as const,
    critical: true,
    responseDateTime: false,
    adjusts: v.balance,
    reset: v.reset,
    build(p: GsmeCreditAdjustment, ctx: BuildContext): Buffer {
      checkInt32(p.amount, 'credit adjustment value');
      const payload = new ByteWriter()
        .u32le(p.issuerEventId ?? ctx.issuerEventId ?? DEFAULT_ISSUER_EVENT_ID)
        .u32le(0) // start date/time: now
        .u8(v.type)
        .u32le(p.amount >>> 0)
        .finish();
      return writeComponents([command(0, CLUSTER_PREPAYMENT, CMD_CREDIT_ADJUSTMENT, payload)]);
    },
    parse(apdu: { content: Uint8Array; counter: bigint }): Decoded<GsmeCreditAdjustment> {
      return parseByRebuilding(
        name,
        apdu.content,
        () =>
          readFirstPayload(apdu.content, name, 'Credit Adjustment', (r) => {
            const issuerEventId = r.u32le('issuer event id');
            r.u32le('start date/time');
            r.u8('credit adjustment type');
            return { amount: r.u32le('credit adjustment value') | 0, issuerEventId };
          }),
        (p) => codec.build(p, { counter: apdu.counter }),
      );
    },
  };
  return codec;
}

export const GCS40a = gsmeBalanceCodec('GCS40a');
export const GCS40b = gsmeBalanceCodec('GCS40b');
export const GCS40c = gsmeBalanceCodec('GCS40c');
export const GCS40d = gsmeBalanceCodec('GCS40d');
