/**
 * SRV 7.1 Enable Supply, 7.2 Disable Supply, 7.3 Arm Supply.
 * - ESME (ECS42/43/44): ACTION execute (method 1) on the disconnect-control Script Table 0-0:10.0.106.255
 *   (class 9) with the script id: 51 enable, 52 disable, 54 arm.
 * - GSME (GCS32 disable, GCS39 arm): Change Supply (Metering cluster 0x0702, command 0x0B) with the proposed
 *   supply status (0 off, 1 armed) and "acknowledge required". A gas valve cannot be opened remotely: there is
 *   no GSME use case for 7.1.
 */
import { ByteReader, ByteWriter } from '../bytes.ts';
import type { Decoded } from '../errors.ts';
import {
  asLongUnsigned,
  type BuildContext,
  DEFAULT_ISSUER_EVENT_ID,
  decodeRequest,
  encodeRequest,
  invokeIdFor,
  parseByRebuilding,
  specData,
  type UseCaseCodec,
} from './command-codec.ts';
import { type Component, command, Fc, readFirstPayload, writeComponents } from './gbz-components.ts';

export type SupplyAction = 'enable' | 'disable' | 'arm';
/** Supply changes carry no parameters beyond which change the use case is (and, for a GSME, the ZCL Issuer Event ID). */
export interface SupplyChange {
  issuerEventId?: number;
}

const CLASS_SCRIPT_TABLE = 0x0009;
const DISCONNECT_SCRIPT_TABLE = '00000A006AFF';
const METHOD_EXECUTE = 1;
const SCRIPT_ID: Record<SupplyAction, number> = { enable: 51, disable: 52, arm: 54 };

function esmeSupplyCodec(name: string, code: number, srv: string, action: SupplyAction): UseCaseCodec<SupplyChange> & { action: SupplyAction } {
  const codec = {
    name,
    code,
    srv,
    family: 'esme' as const,
    critical: true,
    responseDateTime: false,
    action,
    build(_p: SupplyChange, ctx: BuildContext): Buffer {
      return encodeRequest({
        invokeId: invokeIdFor(ctx.counter),
        specs: [{ kind: 'action', target: { classId: CLASS_SCRIPT_TABLE, instance: DISCONNECT_SCRIPT_TABLE, index: METHOD_EXECUTE } }],
        data: [{ type: 'long-unsigned', value: SCRIPT_ID[action] }],
      });
    },
    parse(apdu: { content: Uint8Array; counter: bigint }): Decoded<SupplyChange> {
      return parseByRebuilding(
        name,
        apdu.content,
        () => {
          asLongUnsigned(specData(decodeRequest(apdu.content, name), 0, 'action', CLASS_SCRIPT_TABLE, DISCONNECT_SCRIPT_TABLE, METHOD_EXECUTE, name), 'script id');
          return {};
        },
        (p) => codec.build(p, { counter: apdu.counter }),
      );
    },
  };
  return codec;
}

export const ECS42 = esmeSupplyCodec('ECS42', 0x004f, '7.1', 'enable');
export const ECS43 = esmeSupplyCodec('ECS43', 0x0050, '7.2', 'disable');
export const ECS44 = esmeSupplyCodec('ECS44', 0x0051, '7.3', 'arm');

export const CLUSTER_METERING = 0x0702;
export const CMD_CHANGE_SUPPLY = 0x0b;
export const CMD_SUPPLY_STATUS_RESPONSE = 0x0c;
const SUPPLY_STATUS: Record<'disable' | 'arm', number> = { disable: 0, arm: 1 };
const ACKNOWLEDGE_REQUIRED = 0x01;

function gsmeSupplyCodec(name: string, code: number, srv: string, action: 'disable' | 'arm'): UseCaseCodec<SupplyChange> & { action: SupplyAction } {
  const codec = {
    name,
    code,
    srv,
    family: 'gsme' as const,
    critical: true,
    responseDateTime: false,
    action,
    build(p: SupplyChange, ctx: BuildContext): Buffer {
      const payload = new ByteWriter()
        .u32le(0) // provider id
        .u32le(p.issuerEventId ?? ctx.issuerEventId ?? DEFAULT_ISSUER_EVENT_ID)
        .u32le(0) // request date/time
        .u32le(0) // implementation date/time: now
        .u8(SUPPLY_STATUS[action])
        .u8(ACKNOWLEDGE_REQUIRED)
        .finish();
      return writeComponents([command(0, CLUSTER_METERING, CMD_CHANGE_SUPPLY, payload)]);
    },
    parse(apdu: { content: Uint8Array; counter: bigint }): Decoded<SupplyChange> {
      return parseByRebuilding(
        name,
        apdu.content,
        () =>
          readFirstPayload(apdu.content, name, 'Change Supply', (r) => {
            r.u32le('provider id');
            const issuerEventId = r.u32le('issuer event id');
            r.take(10, 'times, status and control');
            return { issuerEventId };
          }),
        (p) => codec.build(p, { counter: apdu.counter }),
      );
    },
  };
  return codec;
}

export const GCS32 = gsmeSupplyCodec('GCS32', 0x0081, '7.2', 'disable');
export const GCS39 = gsmeSupplyCodec('GCS39', 0x0085, '7.3', 'arm');

/** Supply Status Response: echoes provider id, issuer event id and implementation time, with the new status. */
export function supplyStatusResponse(command: Component, status: 'disable' | 'arm'): Component {
  const r = new ByteReader(command.payload);
  const provider = r.u32le('provider id');
  const issuer = r.u32le('issuer event id');
  r.u32le('request date/time');
  const implementation = r.u32le('implementation date/time');
  const payload = new ByteWriter().u32le(provider).u32le(issuer).u32le(implementation).u8(SUPPLY_STATUS[status]).finish();
  return { clusterId: CLUSTER_METERING, frameControl: Fc.clusterServerToClient, sequence: command.sequence, commandId: CMD_SUPPLY_STATUS_RESPONSE, payload };
}
