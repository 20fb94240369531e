/**
 * SRV 2.5 Activate Emergency Credit.
 * - ECS09: ACTION invoke_credit (method 3) on the Emergency Credit object 0-0:19.10.1.255 (class 112), data
 *   integer 0.
 * - GCS06: Select Available Emergency Credit (Prepayment cluster 0x0705, command 0x00): command issue date-time
 *   (UTCTime, 0) and originating device (0).
 */
import { ByteWriter } from '../bytes.ts';
import { fail } from '../errors.ts';
import { CLUSTER_PREPAYMENT } from './payment-mode.ts';
import { decodeRequest, encodeRequest, int, invokeIdFor, parseByRebuilding, specData, type UseCaseCodec } from './command-codec.ts';
import { command, readComponents, writeComponents } from './gbz-components.ts';

const CLASS_CREDIT = 0x0070;
const EMERGENCY_CREDIT = '0000130A01FF';
const METHOD_INVOKE_CREDIT = 3;
export const CMD_SELECT_EMERGENCY_CREDIT = 0x00;

/** Activation carries no parameters. */
export type ActivateEmergencyCredit = Record<string, never>;

export const ECS09: UseCaseCodec<ActivateEmergencyCredit> = {
  name: 'ECS09',
  code: 0x0020,
  srv: '2.5',
  family: 'esme',
  critical: true,
  responseDateTime: false,
  build(_p, ctx) {
    return encodeRequest({
      invokeId: invokeIdFor(ctx.counter),
      specs: [{ kind: 'action', target: { classId: CLASS_CREDIT, instance: EMERGENCY_CREDIT, index: METHOD_INVOKE_CREDIT } }],
      data: [int(0)],
    });
  },
  parse(apdu) {
    return parseByRebuilding(
      'ECS09',
      apdu.content,
      () => {
        specData(decodeRequest(apdu.content, 'ECS09'), 0, 'action', CLASS_CREDIT, EMERGENCY_CREDIT, METHOD_INVOKE_CREDIT, 'ECS09');
        return {};
      },
      (p) => ECS09.build(p, { counter: apdu.counter }),
    );
  },
};

export const GCS06: UseCaseCodec<ActivateEmergencyCredit> = {
  name: 'GCS06',
  code: 0x0070,
  srv: '2.5',
  family: 'gsme',
  critical: true,
  responseDateTime: false,
  build() {
    const payload = new ByteWriter().u32le(0).u8(0).finish();
    return writeComponents([command(0, CLUSTER_PREPAYMENT, CMD_SELECT_EMERGENCY_CREDIT, payload)]);
  },
  parse(apdu) {
    return parseByRebuilding(
      'GCS06',
      apdu.content,
      () => {
        if (readComponents(apdu.content, 'GCS06').length !== 1) fail('bad-value', 'GCS06: expected one component', 0);
        return {};
      },
      (p) => GCS06.build(p, { counter: apdu.counter }),
    );
  },
};
