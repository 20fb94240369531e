/**
 * SRV 2.2 Top Up Device: a non-critical command (no User signature; the ACB's MAC authenticates it).
 * - CS01a (ESME): ACTION enter (method 1) on the Token Gateway 0-0:19.40.0.255 (class 115) with the UTRN as a
 *   20-octet string of ASCII digits.
 * - CS01b (GSME): Consumer Top Up (Prepayment cluster 0x0705, command 0x04): originating device, then the UTRN
 *   as a ZCL octet string. The GSME answers with Consumer Top Up Response (command 0x03).
 *
 * [model] A real UTRN carries a MAC under the Supplier's top-up key (GBCS 14.4). This project's UTRN is
 * 20 digits: an 8-digit amount in the meter's balance units, then a 12-digit UTRN counter that a meter accepts
 * only when it exceeds the last one it accepted (so a UTRN cannot be used twice).
 */
import { ByteReader, ByteWriter } from '../bytes.ts';
import { type Decoded, fail } from '../errors.ts';
import { CLUSTER_PREPAYMENT } from './payment-mode.ts';
import { asOctets, decodeRequest, encodeRequest, invokeIdFor, parseByRebuilding, specData, type UseCaseCodec } from './command-codec.ts';
import { type Component, command, Fc, readFirstPayload, writeComponents } from './gbz-components.ts';

export interface TopUp {
  /** 20 decimal digits. */
  utrn: string;
}

const UTRN = /^[0-9]{20}$/;
const CLASS_TOKEN_GATEWAY = 0x0073;
const TOKEN_GATEWAY = '0000132800FF';
const METHOD_ENTER = 1;
export const CMD_CONSUMER_TOP_UP = 0x04;
export const CMD_CONSUMER_TOP_UP_RESPONSE = 0x03;

function checkUtrn(utrn: string): void {
  if (!UTRN.test(utrn)) throw new RangeError('a UTRN is 20 decimal digits');
}

function utrnFrom(bytes: Uint8Array): string {
  const s = Buffer.from(bytes).toString('latin1');
  if (!UTRN.test(s)) fail('bad-value', 'UTRN must be 20 ASCII digits', 0);
  return s;
}

export const CS01a: UseCaseCodec<TopUp> = {
  name: 'CS01a',
  code: 0x0007,
  srv: '2.2',
  family: 'esme',
  critical: false,
  responseDateTime: true,
  build(p, ctx) {
    checkUtrn(p.utrn);
    return encodeRequest({
      invokeId: invokeIdFor(ctx.counter),
      specs: [{ kind: 'action', target: { classId: CLASS_TOKEN_GATEWAY, instance: TOKEN_GATEWAY, index: METHOD_ENTER } }],
      data: [{ type: 'octet-string', value: Buffer.from(p.utrn, 'latin1') }],
    });
  },
  parse(apdu) {
    return parseByRebuilding(
      'CS01a',
      apdu.content,
      () => ({ utrn: utrnFrom(asOctets(specData(decodeRequest(apdu.content, 'CS01a'), 0, 'action', CLASS_TOKEN_GATEWAY, TOKEN_GATEWAY, METHOD_ENTER, 'CS01a'), 'UTRN')) }),
      (p) => CS01a.build(p, { counter: apdu.counter }),
    );
  },
};

export const CS01b: UseCaseCodec<TopUp> = {
  name: 'CS01b',
  code: 0x0097,
  srv: '2.2',
  family: 'gsme',
  critical: false,
  responseDateTime: true,
  build(p) {
    checkUtrn(p.utrn);
    const payload = new ByteWriter().u8(0).u8(20).bytes(Buffer.from(p.utrn, 'latin1')).finish();
    return writeComponents([command(0, CLUSTER_PREPAYMENT, CMD_CONSUMER_TOP_UP, payload)]);
  },
  parse(apdu) {
    return parseByRebuilding(
      'CS01b',
      apdu.content,
      () =>
        readFirstPayload(apdu.content, 'CS01b', 'Consumer Top Up', (r) => {
          r.u8('originating device');
          return { utrn: utrnFrom(r.lengthPrefixed('UTRN')) };
        }),
      (p) => CS01b.build(p, { counter: apdu.counter }),
    );
  },
};

/** [model] UTRN = 8-digit amount then 12-digit UTRN counter. */
export function readUtrn(utrn: string): { amount: number; counter: bigint } {
  checkUtrn(utrn);
  return { amount: Number(utrn.slice(0, 8)), counter: BigInt(utrn.slice(8)) };
}

export function makeUtrn(amount: number, counter: bigint): string {
  if (!Number.isInteger(amount) || amount < 0 || amount > 99_999_999) throw new RangeError('UTRN amount is 0-99999999');
  if (counter < 0n || counter > 999_999_999_999n) throw new RangeError('UTRN counter is 0-999999999999');
  return String(amount).padStart(8, '0') + String(counter).padStart(12, '0');
}

export interface ConsumerTopUpResponse {
  /** 0 accepted; 1 rejected (invalid UTRN), 2 rejected (duplicate UTRN), ... (ZSE Result Type). */
  result: number;
  topUpValue: number;
  /** Credit remaining after the top up. */
  creditRemaining: number;
}

export function consumerTopUpResponse(c: Component, r: ConsumerTopUpResponse): Component {
  const payload = new ByteWriter().u8(r.result).u32le(r.topUpValue >>> 0).u8(0).u32le(r.creditRemaining >>> 0).finish();
  return { clusterId: CLUSTER_PREPAYMENT, frameControl: Fc.clusterServerToClient, sequence: c.sequence, commandId: CMD_CONSUMER_TOP_UP_RESPONSE, payload };
}

export function decodeConsumerTopUpResponse(payload: Uint8Array): Decoded<ConsumerTopUpResponse> {
  return parseByRebuilding(
    'Consumer Top Up Response',
    payload,
    () => {
      const r = new ByteReader(payload);
      const out = { result: r.u8('result type'), topUpValue: r.u32le('top up value') | 0 };
      r.u8('source of top up');
      return { ...out, creditRemaining: r.u32le('credit remaining') | 0 };
    },
    (p) => Buffer.from(consumerTopUpResponse({ clusterId: CLUSTER_PREPAYMENT, frameControl: 0, sequence: 0, commandId: 0, payload: new Uint8Array() }, p).payload),
  );
}
