/**
 * The content of a SMETS2+ meter's responses: an ESME's ACCESS.response, a GSME's ZCL responses (one per
 * command component), and the error answers to commands that failed authentication or could not be read.
 */
import { ByteReader } from '../../protocol/gbcs/bytes.ts';
import { type AccessRequest, gbcsInvokeId, readAccessRequest } from '../../protocol/gbcs/dlms.ts';
import { decodeResult } from '../../protocol/gbcs/errors.ts';
import { encodeChangePaymentModeResponse } from '../../protocol/gbcs/usecases/payment-mode.ts';
import { DataAccessResult, encodeAccessResponse, esmeAccessResponse, ZclStatus } from '../../protocol/gbcs/usecases/responses.ts';
import { type Component, defaultResponseFor, notAttemptedResponseFor, readComponents, writeComponents } from '../../protocol/gbcs/usecases/gbz-components.ts';
import { CMD_CHANGE_PAYMENT_MODE_RESPONSE, CLUSTER_PREPAYMENT } from '../../protocol/gbcs/usecases/payment-mode.ts';
import { esmeImportRegistersData, esmePrepayValuesData, readAttributesResponse, requestedAttributes, type AttributeRecord, ZCL_UNSUPPORTED_ATTRIBUTE, ZclType } from '../../protocol/gbcs/usecases/reads.ts';
import { supplyStatusResponse } from '../../protocol/gbcs/usecases/supply.ts';
import { consumerTopUpResponse, readUtrn } from '../../protocol/gbcs/usecases/top-up.ts';
import { CLUSTER_METERING } from '../../protocol/gbcs/usecases/supply.ts';
import { Fc } from '../../protocol/gbcs/usecases/gbz-components.ts';
import { type ReadResult } from '../../protocol/s1sp/operations.ts';
import { type OperationOutcome } from '../meter.ts';

/** Why a command is answered with an error, which decides the result code. */
export type Rejection = 'not-authorised' | 'malformed' | 'unknown-use-case';

const ESME_RESULT: Record<Rejection, number> = {
  'not-authorised': DataAccessResult.readWriteDenied,
  malformed: DataAccessResult.typeUnmatched,
  'unknown-use-case': DataAccessResult.objectUndefined,
};
const GSME_STATUS: Record<Rejection, number> = {
  'not-authorised': ZclStatus.notAuthorized,
  malformed: ZclStatus.malformedCommand,
  'unknown-use-case': 0x81, // UNSUP_CLUSTER_COMMAND
};

function tryRequest(content: Uint8Array): AccessRequest | null {
  const d = decodeResult(() => {
    const r = new ByteReader(content);
    const req = readAccessRequest(r);
    r.expectEnd('ACCESS.request');
    return req;
  });
  return d.ok ? d.value : null;
}

function tryComponents(content: Uint8Array): Component[] | null {
  const d = decodeResult(() => readComponents(content, 'command'));
  return d.ok ? d.value : null;
}

/**
 * ESME error answer: break-on-error shape with the first specification failing (later ones "not attempted"); a
 * request that cannot be read gets one SET result.
 */
export function esmeRejection(content: Uint8Array, counter: bigint, why: Rejection): Buffer {
  const req = tryRequest(content);
  const failure = ESME_RESULT[why];
  if (req) return encodeAccessResponse(esmeAccessResponse(req, { failedAt: 0, failure }));
  return encodeAccessResponse({ invokeId: gbcsInvokeId(counter), data: [{ type: 'null' }], results: [{ kind: 'set', result: failure }] });
}

/** GSME error answer: a Default Response to the first command (others "not attempted"); unreadable content gets one on the Basic cluster. */
export function gsmeRejection(content: Uint8Array, why: Rejection): Buffer {
  const cs = tryComponents(content);
  const status = GSME_STATUS[why];
  if (!cs || cs.length === 0) return writeComponents([{ clusterId: 0x0000, frameControl: Fc.profileServerToClient, sequence: 0, commandId: 0x0b, payload: Uint8Array.of(0xff, status) }]);
  return writeComponents(cs.map((c, i) => (i === 0 ? defaultResponseFor(c, status) : notAttemptedResponseFor(c))));
}

export function esmeResponse(content: Uint8Array, outcome: OperationOutcome): Buffer {
  const req = tryRequest(content);
  if (!req) throw new Error('an accepted ESME command always holds an ACCESS.request');
  if (outcome.status === 'refused') return encodeAccessResponse(esmeAccessResponse(req, { failedAt: 0, failure: DataAccessResult.hardwareFault }));
  const read = outcome.read;
  if (read) return encodeAccessResponse(esmeAccessResponse(req, { data: [read.what === 'import-registers' ? esmeImportRegistersData(read) : esmePrepayValuesData(read)] }));
  return encodeAccessResponse(esmeAccessResponse(req));
}

export interface GsmeSettings {
  emergencyCreditLimit: number;
  emergencyCreditThreshold: number;
  meterBalance: number;
}

/** GBCS-defined friendly credit settings the emulated GSME reports (RTDS values). */
const FRIENDLY_CREDIT = { friendlyCredit: true, friendlyCreditCalendarId: 2 };
const GAS_UNIT_CUBIC_METRES = 0x01;
const GAS_DIVISOR = 1000;

function attributeRecords(c: Component, read: ReadResult): AttributeRecord[] {
  const values = new Map<string, { type: number; value: number }>();
  const put = (cluster: number, id: number, type: number, value: number) => values.set(`${cluster}/${id}`, { type, value });
  if (read.what === 'import-registers') {
    put(CLUSTER_METERING, 0x0000, ZclType.uint48, read.activeImportWh);
    put(CLUSTER_METERING, 0x0300, ZclType.enum8, GAS_UNIT_CUBIC_METRES);
    put(CLUSTER_METERING, 0x0301, ZclType.uint24, 1);
    put(CLUSTER_METERING, 0x0302, ZclType.uint24, GAS_DIVISOR);
  } else {
    put(CLUSTER_PREPAYMENT, 0x0001, ZclType.int32, read.meterBalance);
    put(CLUSTER_PREPAYMENT, 0x0002, ZclType.int32, read.emergencyCreditBalance);
    put(CLUSTER_PREPAYMENT, 0x0005, ZclType.int32, read.accumulatedDebt);
    put(CLUSTER_PREPAYMENT, 0x0211, ZclType.int32, read.timeDebt1);
    put(CLUSTER_PREPAYMENT, 0x0221, ZclType.int32, read.timeDebt2);
    put(CLUSTER_PREPAYMENT, 0x0231, ZclType.int32, read.paymentDebt);
  }
  return requestedAttributes(c).map((id) => {
    const v = values.get(`${c.clusterId}/${id}`);
    return v ? { id, status: 0 as const, ...v } : { id, status: ZCL_UNSUPPORTED_ATTRIBUTE };
  });
}

export function gsmeResponse(useCase: string, content: Uint8Array, outcome: OperationOutcome, s: GsmeSettings): Buffer {
  const cs = tryComponents(content);
  if (!cs) throw new Error('an accepted GSME command always holds GBZ components');
  const refused = outcome.status === 'refused';
  const out = cs.map((c, i): Component => {
    switch (useCase) {
      case 'GCS02':
      case 'GCS03':
        return {
          clusterId: CLUSTER_PREPAYMENT,
          frameControl: Fc.clusterServerToClientNoDefault,
          sequence: c.sequence,
          commandId: CMD_CHANGE_PAYMENT_MODE_RESPONSE,
          payload: encodeChangePaymentModeResponse({ ...FRIENDLY_CREDIT, emergencyCreditLimit: s.emergencyCreditLimit, emergencyCreditThreshold: s.emergencyCreditThreshold }),
        };
      case 'GCS32':
        return refused ? defaultResponseFor(c, ZclStatus.hardwareFailure) : supplyStatusResponse(c, 'disable');
      case 'GCS39':
        return refused ? defaultResponseFor(c, ZclStatus.hardwareFailure) : supplyStatusResponse(c, 'arm');
      case 'CS01b': {
        const amount = readUtrn(Buffer.from(c.payload.subarray(2)).toString('latin1')).amount;
        // The one top-up the meter refuses once its content is read is a UTRN already used: result type 2, duplicate.
        return consumerTopUpResponse(c, refused ? { result: 2, topUpValue: -1, creditRemaining: -1 } : { result: 0, topUpValue: amount, creditRemaining: s.meterBalance });
      }
      case 'GCS13a':
      case 'GCS14':
        return readAttributesResponse(c, attributeRecords(c, outcome.read!));
      default:
        if (!refused) return defaultResponseFor(c, ZclStatus.success);
        return i === 0 ? defaultResponseFor(c, ZclStatus.hardwareFailure) : notAttemptedResponseFor(c);
    }
  });
  return writeComponents(out);
}
