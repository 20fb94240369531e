/**
 * Device alerts (CRA 03). The one SRV 1.6 needs is 8F66, "future-dated command executed": an ESME sends it as a
 * DLMS DataNotification (message code 0x00CC), one per activation-time attribute that fired; a GSME sends it
 * as a GBZ alert (0x00CD), one per executed ZCL command. Alerts carry no header date-time: the time is in the
 * body. The originator counter is the device's own alert counter.
 */
import { type Eui } from '../../smki/eui.ts';
import { type GeneralSigning } from '../apdu.ts';
import { ByteReader, ByteWriter, hex4 } from '../bytes.ts';
import { decodeDlmsDateTime, dlmsDateTime, fromZigbeeUtcTime, zigbeeUtcTime } from '../datetime.ts';
import { type CosemDescriptor } from '../dlms.ts';
import { type Decoded, decodeResult, fail } from '../errors.ts';
import { GBZ_PROFILE_ID } from '../gbz.ts';
import { AlertCode, AlertMessageCode } from '../message-codes.ts';

const DATA_NOTIFICATION_TAG = 0x0f;

export interface FutureDatedAlert {
  device: Eui;
  recipient: Eui;
  alertCounter: bigint;
  executedAt: Date;
  /** The executed command's message code and originator counter. */
  messageCode: number;
  counter: bigint;
  /** ESME: the activation-time attribute that fired. */
  attribute?: CosemDescriptor;
  /** GSME: the executed ZCL command. */
  zcl?: { clusterId: number; frameControl: number; commandId: number };
}

export function buildFutureDatedAlert(a: FutureDatedAlert): GeneralSigning {
  let messageCode: number;
  let content: Buffer;
  if (a.attribute) {
    messageCode = AlertMessageCode.futureDatedEsme;
    const payload = new ByteWriter().u16(a.messageCode).u64(a.counter).u16(a.attribute.classId).bytes(Buffer.from(a.attribute.instance, 'hex')).u8(a.attribute.index).finish();
    content = new ByteWriter()
      .u8(DATA_NOTIFICATION_TAG)
      .u32(((0x20 << 24) >>> 0) + Number(a.alertCounter & 0xffffffn))
      .u8(0) // no date-time
      .u8(0x02)
      .u8(3) // structure of 3
      .u8(0x12)
      .u16(AlertCode.futureDatedExecuted)
      .u8(0x09)
      .lengthPrefixed(dlmsDateTime(a.executedAt))
      .u8(0x09)
      .lengthPrefixed(payload)
      .finish();
  } else if (a.zcl) {
    messageCode = AlertMessageCode.futureDatedGsme;
    const payload = new ByteWriter().u16(a.messageCode).u64(a.counter).u16(a.zcl.clusterId).u8(a.zcl.frameControl).u8(a.zcl.commandId).finish();
    content = new ByteWriter()
      .u16(GBZ_PROFILE_ID)
      .u8(1)
      .u16(AlertCode.futureDatedExecuted)
      .u32(zigbeeUtcTime(a.executedAt)) // big-endian in the GBZ alert header
      .lengthPrefixed(payload)
      .finish();
  } else {
    throw new Error('a future-dated alert names the ESME attribute or the GSME ZCL command that was executed');
  }
  return {
    cra: 'alert',
    counter: a.alertCounter,
    originator: a.device,
    recipient: a.recipient,
    dateTime: null,
    messageCode,
    supplementary: new Uint8Array(0),
    content,
    signature: null,
  };
}

export function parseFutureDatedAlert(apdu: GeneralSigning): Decoded<FutureDatedAlert> {
  return decodeResult(() => {
    const r = new ByteReader(apdu.content);
    const base = { device: apdu.originator, recipient: apdu.recipient, alertCounter: apdu.counter };
    if (apdu.messageCode === AlertMessageCode.futureDatedEsme) {
      r.expect(DATA_NOTIFICATION_TAG, 'DataNotification tag');
      r.u32('long-invoke-id-and-priority');
      r.expect(0, 'DataNotification date-time (absent)');
      r.expect(0x02, 'structure');
      r.expect(3, 'structure of 3');
      r.expect(0x12, 'long-unsigned');
      const codeAt = r.offset;
      const code = r.u16('alert code');
      if (code !== AlertCode.futureDatedExecuted) fail('bad-value', `alert code 0x${hex4(code)} is not 8F66`, codeAt);
      r.expect(0x09, 'octet-string');
      const tAt = r.offset;
      const t = r.lengthPrefixed('execution date-time');
      const executedAt = decodeDlmsDateTime(t, tAt);
      r.expect(0x09, 'octet-string');
      const p = new ByteReader(r.lengthPrefixed('future-dated alert payload'));
      r.expectEnd('8F66 alert');
      const messageCode = p.u16('message code');
      const counter = p.u64('originator counter');
      const classId = p.u16('class id');
      const instance = Buffer.from(p.take(6, 'instance')).toString('hex').toUpperCase();
      const index = p.u8('attribute');
      p.expectEnd('future-dated alert payload');
      return { ...base, executedAt, messageCode, counter, attribute: { classId, instance, index } };
    }
    if (apdu.messageCode === AlertMessageCode.futureDatedGsme) {
      const at = r.offset;
      if (r.u16('GBZ profile id') !== GBZ_PROFILE_ID) fail('bad-value', 'GBZ profile id is not 0x0109', at);
      r.u8('component count');
      const codeAt = r.offset;
      const code = r.u16('alert code');
      if (code !== AlertCode.futureDatedExecuted) fail('bad-value', `alert code 0x${hex4(code)} is not 8F66`, codeAt);
      const executedAt = fromZigbeeUtcTime(r.u32('alert time stamp'));
      const p = new ByteReader(r.lengthPrefixed('future-dated alert payload'));
      r.expectEnd('8F66 alert');
      const messageCode = p.u16('message code');
      const counter = p.u64('originator counter');
      const zcl = { clusterId: p.u16('cluster id'), frameControl: p.u8('frame control'), commandId: p.u8('command id') };
      p.expectEnd('future-dated alert payload');
      return { ...base, executedAt, messageCode, counter, zcl };
    }
    return fail('bad-value', `message code 0x${hex4(apdu.messageCode)} is not a future-dated execution alert`, 0);
  });
}

