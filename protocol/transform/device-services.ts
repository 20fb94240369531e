/**
 * The DCC's transform of the other device services its meters implement, from the DUIS request body (kept as an
 * element tree by the DUIS layer) to the GBCS command for one device: supply enable/disable/arm (7.1-7.3),
 * meter balance adjustment (1.5), emergency credit (2.5) and top-up (2.2, non-critical).
 *
 * Each transform reads exactly the body elements it needs and refuses anything else with a TransformError.
 */
import type { DuisRequest } from '../duis/index.ts';
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

function children(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

function text(el: XmlElement): string {
  return el.children.filter((c): c is string => typeof c === 'string').join('').trim();
}

/** The one element at `path` under the body element, or a TransformError naming what is missing. */
function at(body: XmlElement, path: readonly string[]): XmlElement {
  let el = body;
  for (const name of path) {
    const next = children(el).find((c) => c.local === name);
    if (!next) throw new TransformError(`${body.local}: no ${path.join('/')} element`);
    el = next;
  }
  return el;
}

function int32(el: XmlElement, what: string): number {
  const t = text(el);
  if (!/^[+-]?\d+$/.test(t)) throw new TransformError(`${what} ${JSON.stringify(t)} is not an integer`);
  const v = Number(t);
  if (v < -0x80000000 || v > 0x7fffffff) throw new TransformError(`${what} ${v} does not fit 32 bits`);
  return v;
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
      const amount = int32(at(body, ['PrepaymentMode', 'AdjustMeterBalance']), 'AdjustMeterBalance');
      return family === 'esme' ? { codec: ECS04a as never, params: { amount } } : { codec: GCS40a as never, params: { amount, issuerEventId: zigbeeUtcTime(dccTime) } };
    },
  },
  '2.2': {
    element: 'TopUpDevice',
    plan(body, family) {
      const utrn = text(at(body, ['UTRN']));
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
