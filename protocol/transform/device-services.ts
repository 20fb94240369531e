/**
 * The DCC's transform of the other device services its meters implement, from the DUIS request body (kept as an
 * element tree by the DUIS layer) to the GBCS command for one device: supply enable/disable/arm (7.1-7.3),
 * meter balance adjustment (1.5), emergency credit (2.5) and top-up (2.2, non-critical).
 *
 * Each transform reads exactly the body elements it needs and refuses anything else with a TransformError.
 */
import type { DuisRequest } from '../duis/index.ts';
import { DuisFailure } from '../duis/errors.ts';
import { ChildReader, emptyElement, noAttributes, simpleText } from '../duis/model-reader.ts';
import { readInt } from '../duis/simple-types.ts';
import type { XmlElement } from '../duis/xml-tree.ts';
import type { GeneralSigning } from '../gbcs/apdu.ts';
import { zigbeeUtcTime } from '../gbcs/datetime.ts';
import { buildCommandApdu, type UseCaseCodec } from '../gbcs/usecases/command-codec.ts';
import { ECS09, GCS06 } from '../gbcs/usecases/emergency-credit.ts';
import { ECS04a, GCS40a } from '../gbcs/usecases/meter-balance.ts';
import { ECS42, ECS43, ECS44, GCS32, GCS39 } from '../gbcs/usecases/supply.ts';
import { CS01a, CS01b } from '../gbcs/usecases/top-up.ts';
import type { Eui } from '../smki/eui.ts';
import { TransformError } from './payment-mode.ts';

export type Family = 'esme' | 'gsme';

/**
 * Reads a body as the DUIS schema has it, with the model reader the DUIS layer uses for typed bodies: children in
 * the sr namespace, in order, each choice one of its options, nothing else and nothing left over. Its refusals
 * become the transform's (E11): a lenient reader here acted on bodies the schema forbids, and differently from
 * any reader that follows the schema (the first of two amounts, an element in another namespace).
 */
function readBody<T>(body: XmlElement, read: (r: ChildReader) => T): T {
  try {
    noAttributes(body);
    const r = new ChildReader(body);
    const value = read(r);
    r.end();
    return value;
  } catch (e) {
    if (e instanceof DuisFailure) throw new TransformError(`${body.local}: ${e.message}`);
    throw e;
  }
}

interface Service {
  element: string;
  /** The use case and its parameters for a device family, from the body element. */
  plan(body: XmlElement, family: Family, dccTime: Date): { codec: UseCaseCodec<never>; params: unknown };
}

const noParams = (esme: UseCaseCodec<never> | null, gsme: UseCaseCodec<never> | null, srv: string): Service['plan'] => {
  return (_body, family, dccTime) => {
    const codec = family === 'esme' ? esme : gsme;
    if (!codec) throw new TransformError(`SRV ${srv} has no ${family === 'gsme' ? 'gas' : 'electricity'} meter use case`);
    return { codec, params: family === 'gsme' ? { issuerEventId: zigbeeUtcTime(dccTime) } : {} };
  };
};

const SERVICES: Record<string, Service> = {
  '7.1': { element: 'EnableSupply', plan: noParams(ECS42 as never, null, '7.1') },
  '7.2': { element: 'DisableSupply', plan: noParams(ECS43 as never, GCS32 as never, '7.2') },
  '7.3': { element: 'ArmSupply', plan: noParams(ECS44 as never, GCS39 as never, '7.3') },
  '2.5': { element: 'ActivateEmergencyCredit', plan: noParams(ECS09 as never, GCS06 as never, '2.5') },
  '1.5': {
    element: 'UpdateMeterBalance',
    plan(body, family, dccTime) {
      const { mode, change, amount } = readBody(body, (r) => {
        const mode = r.choice(['PrepaymentMode', 'CreditMode']);
        noAttributes(mode);
        const m = new ChildReader(mode);
        const change = m.choice(['AdjustMeterBalance', 'ResetMeterBalance']);
        m.end();
        const amount = change.local === 'AdjustMeterBalance' ? readInt(simpleText(change), change) : (emptyElement(change), null);
        return { mode: mode.local, change: change.local, amount };
      });
      if (mode !== 'PrepaymentMode' || amount === null) throw new TransformError(`UpdateMeterBalance: ${mode}/${change} is not transformed by this DCC (PrepaymentMode/AdjustMeterBalance is)`);
      return family === 'esme' ? { codec: ECS04a as never, params: { amount } } : { codec: GCS40a as never, params: { amount, issuerEventId: zigbeeUtcTime(dccTime) } };
    },
  },
  '2.2': {
    element: 'TopUpDevice',
    plan(body, family) {
      const utrn = readBody(body, (r) => r.text('UTRN'));
      if (!/^[0-9]{20}$/.test(utrn)) throw new TransformError(`UTRN ${JSON.stringify(utrn)} is not 20 digits`);
      return { codec: (family === 'esme' ? CS01a : CS01b) as never, params: { utrn } };
    },
  },
};

/** SRVs this module transforms. */
export const DEVICE_SERVICE_SRVS: readonly string[] = Object.keys(SERVICES);

/** The command (a Pre-Command for critical use cases) for a request to a device of `family`. */
export function commandForRequest(request: DuisRequest, family: Family, originator: Eui, dccTime: Date): { apdu: GeneralSigning; critical: boolean } {
  const srv = request.header.serviceReferenceVariant;
  const service = SERVICES[srv];
  if (!service) throw new TransformError(`SRV ${srv} is not transformed by this DCC`);
  const body = request.body;
  if (body.kind !== 'opaque' || body.name !== service.element) throw new TransformError(`SRV ${srv} needs a ${service.element} body`);
  const { codec, params } = service.plan(body.element, family, dccTime);
  try {
    const apdu = buildCommandApdu(codec, params as never, { counter: request.header.requestId.counter, originator, recipient: request.header.requestId.target });
    return { apdu, critical: codec.critical };
  } catch (e) {
    if (e instanceof RangeError) throw new TransformError(`SRV ${srv}: ${e.message}`);
    throw e;
  }
}
