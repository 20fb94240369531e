import test from 'ava';
import {
  decodeTunnelCommand,
  encodeTunnelCommand,
  GBCS_MAX_TRANSFER_SIZE,
  GBCS_PROTOCOL_ID,
  MANUFACTURER_CODE_NOT_USED,
  parseTunnelData,
  type TunnelCommand,
  unwrapFrame,
  wrapFrame,
} from '../../../../devices/transports/zigbee/tunnel.ts';
import {
  decodeReadAttributesResponse,
  decodeZcl,
  encodeReadAttributesResponse,
  encodeZcl,
  ZclError,
  ZclStatus,
  ZclType,
} from '../../../../devices/transports/zigbee/zcl.ts';
import { GBCS_CREDIT_CONFIGURATION, PREPAYMENT_CLUSTER, paymentControlConfiguration, paymentModeOf } from '../../../../devices/transports/zigbee/prepayment.ts';

test('Request Tunnel for GBCS: protocol 6, no manufacturer code, no flow control, 1500 octets', (t) => {
  const zcl = encodeTunnelCommand({ name: 'request-tunnel', protocolId: GBCS_PROTOCOL_ID, manufacturerCode: MANUFACTURER_CODE_NOT_USED, flowControl: false, maxIncomingTransferSize: GBCS_MAX_TRANSFER_SIZE }, { tsn: 0x32 });
  // frame control 0x11: cluster-specific, client to server, default response disabled; TSN; command 0x00.
  t.deepEqual(zcl, Buffer.from('113200' + '06' + 'ffff' + '00' + 'dc05', 'hex'));
});

test('Transfer Data both ways, Transfer Data Error, Request Tunnel Response and Tunnel Closure round-trip', (t) => {
  const commands: TunnelCommand[] = [
    { name: 'request-tunnel', protocolId: 6, manufacturerCode: 0xffff, flowControl: true, maxIncomingTransferSize: 1500 },
    { name: 'close-tunnel', tunnelId: 7 },
    { name: 'request-tunnel-response', tunnelId: 0x0102, status: 0, maxIncomingTransferSize: 1500 },
    { name: 'transfer-data', direction: 'client-to-server', tunnelId: 0x0102, data: Buffer.alloc(1500, 0xdf) },
    { name: 'transfer-data', direction: 'server-to-client', tunnelId: 9, data: Buffer.of(0xdd, 1, 2) },
    { name: 'transfer-data-error', direction: 'server-to-client', tunnelId: 9, status: 0 },
    { name: 'transfer-data-error', direction: 'client-to-server', tunnelId: 9, status: 2 },
    { name: 'tunnel-closure-notification', tunnelId: 9 },
  ];
  for (const c of commands) {
    const d = decodeTunnelCommand(encodeTunnelCommand(c, { tsn: 5 }));
    t.deepEqual(d?.command, c, c.name);
    t.is(d?.tsn, 5);
  }
  // Transfer Data is command 0x02 client to server, 0x01 server to client; the tunnel id is little-endian.
  t.deepEqual(encodeTunnelCommand({ name: 'transfer-data', direction: 'server-to-client', tunnelId: 0x0102, data: Buffer.of(0xdf) }, { tsn: 1 }), Buffer.from('190101' + '0201' + 'df', 'hex'));
  t.deepEqual(encodeTunnelCommand({ name: 'transfer-data', direction: 'client-to-server', tunnelId: 0x0102, data: Buffer.of(0xdf) }, { tsn: 1 }), Buffer.from('110102' + '0201' + 'df', 'hex'));
});

test('tunneling frames this codec does not handle decode to null; short ones are errors', (t) => {
  t.is(decodeTunnelCommand(Buffer.from('190104' + '0100' + '0000', 'hex')), null); // Ready Data
  t.is(decodeTunnelCommand(encodeZcl({ specific: false, direction: 'client-to-server', disableDefaultResponse: false, tsn: 1, command: 0 }, Buffer.of(0, 0))), null);
  t.throws(() => decodeTunnelCommand(Buffer.from('110100', 'hex')), { instanceOf: ZclError, message: /Request Tunnel/ });
  t.throws(() => decodeZcl(Buffer.of(0x11, 1)), { instanceOf: ZclError });
});

test('a GBCS APDU travels as is; a frame that could be read as a tunnel command gets a PUT header', (t) => {
  const gbcs = Buffer.of(0xdd, 0, 0, 0);
  t.deepEqual(wrapFrame(gbcs), gbcs);
  for (const first of [0x01, 0x02, 0x03]) {
    const f = Buffer.of(first, 9, 9);
    t.deepEqual(wrapFrame(f), Buffer.concat([Buffer.of(0x03), f]));
    t.deepEqual(unwrapFrame(wrapFrame(f)), f);
  }
  t.deepEqual(parseTunnelData(Buffer.of(0x02, 4, 0xdf, 1)), { kind: 'get-response', remaining: 4, frame: Buffer.of(0xdf, 1) });
  t.deepEqual(parseTunnelData(Buffer.of(0x01)), { kind: 'get' });
  t.is(unwrapFrame(Buffer.of(0x01)), null);
  t.deepEqual(unwrapFrame(Buffer.of(0x03, 0xdf, 2)), Buffer.of(0xdf, 2));
});

test('ZCL header: manufacturer-specific frames carry the code before the TSN', (t) => {
  const zcl = encodeZcl({ specific: true, direction: 'server-to-client', disableDefaultResponse: false, manufacturerCode: 0x1234, tsn: 7, command: 3 }, Buffer.of(1));
  t.deepEqual(zcl, Buffer.from('0d3412070301', 'hex'));
  t.deepEqual(decodeZcl(zcl).header, { specific: true, direction: 'server-to-client', disableDefaultResponse: false, manufacturerCode: 0x1234, tsn: 7, command: 3 });
});

test('Read Attributes Response records round-trip, including unsupported attributes', (t) => {
  const records = [
    { id: 0x0000, status: ZclStatus.SUCCESS, type: ZclType.BITMAP16, value: 0x0c94 },
    { id: 0x0001, status: ZclStatus.SUCCESS, type: ZclType.INT32, value: -5 },
    { id: 0x0005, status: ZclStatus.SUCCESS, type: ZclType.CHAR_STR, value: 'ESME' },
    { id: 0x0099, status: ZclStatus.UNSUPPORTED_ATTRIBUTE },
  ];
  const b = encodeReadAttributesResponse(records);
  t.deepEqual(b.subarray(0, 6), Buffer.from('000000' + '19' + '940c', 'hex'));
  t.deepEqual(decodeReadAttributesResponse(b), records);
});

test('Prepayment: the Payment Control Configuration GBCS writes, and the mode read back from it', (t) => {
  t.is(PREPAYMENT_CLUSTER.ID, 0x0705);
  t.is(PREPAYMENT_CLUSTER.attributes.paymentControlConfiguration.type, 0x19);
  t.is(PREPAYMENT_CLUSTER.commands.changePaymentMode.ID, 0x06);
  t.is(paymentControlConfiguration({ paymentMode: 'credit' }), GBCS_CREDIT_CONFIGURATION);
  t.is(paymentControlConfiguration({ paymentMode: 'prepayment', prepaymentSettings: { suspendDebtDisabled: false, suspendDebtEmergency: true } }), 0x0097);
  t.is(paymentControlConfiguration({ paymentMode: 'prepayment', prepaymentSettings: { suspendDebtDisabled: false, suspendDebtEmergency: false } }), 0x0897);
  t.is(paymentControlConfiguration({ paymentMode: 'prepayment', prepaymentSettings: { suspendDebtDisabled: true, suspendDebtEmergency: false } }), 0x0c97);
  t.is(paymentModeOf(0x0c94), 'credit');
  t.is(paymentModeOf(0x0097), 'prepayment');
});
