/**
 * The DCC's use of a device's SMKI Device certificates: the ACB wraps a Command for the device's Key Agreement
 * key only while SMKI counts that key's certificate as valid.
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import type { DeviceProvisioner } from '../../emulator/admin.ts';
import type { DeviceReply } from '../../emulator/ports.ts';
import { formatRequestId, type RequestBody } from '../../protocol/duis/index.ts';
import { parseEui } from '../../protocol/smki/eui.ts';
import { startTestDcc, unreachableDevices } from '../helpers/dcc.ts';

const SUPPLIER = parseEui('90B3D51F30010001');
const ESME = parseEui('00DB0000000000D1');
const credit: RequestBody = { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } };

test("a device whose Key Agreement certificate is revoked gets no Command: E5 at Send Command, nothing leaves the DCC, and the key directory does not stand in", async (t) => {
  const ds = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ka = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const provisioner: DeviceProvisioner = { provision: async () => ({ ds: ds.publicKey, ka: ka.publicKey }) };
  const sent: Uint8Array[] = [];
  const devices = { ...unreachableDevices(), sendCommand: async (_d: unknown, command: Uint8Array): Promise<DeviceReply> => (sent.push(command), { kind: 'comms-failure', reason: 'no radio in this test' }) };
  // A directory that knows the device too: it must not be used once SMKI holds a certificate for the device.
  const d = await startTestDcc(devices, { provisioner, extra: { deviceKeyDirectory: () => ka.publicKey } });
  t.teardown(() => d.close());
  await d.admin.party({ eui: SUPPLIER, name: 'Supplier', roles: ['IS', 'GS'], endpoint: d.endpoint.url });
  await d.admin.device({ eui: ESME, type: 'ESME', supplier: SUPPLIER });
  const supplier = d.agent(SUPPLIER, 'supplier', await d.admin.xmlSigner(SUPPLIER), (await d.admin.gbcsSigner(SUPPLIER)).privateKey);

  const before = await supplier.critical({ target: ESME, srv: '1.6', body: credit });
  t.is(before.send?.response?.header.responseCode, 'I99', 'while the certificate is valid the Command goes out');
  await d.dcc.service.settled();
  t.is(sent.length, 1);

  const [cert] = d.dcc.service.options.smki.find({ eui: ESME, usage: 'keyAgreement' });
  t.truthy(cert, 'provisioning issued the device its Key Agreement certificate');
  await d.admin.revoke(cert!.certificate.serial, { issuer: cert!.certificate.issuer });

  const after = await supplier.critical({ target: ESME, srv: '1.6', body: credit });
  t.is(after.transform.response?.header.responseCode, 'I0', 'the Pre-Command is still issued (it needs no device key)');
  t.is(after.send?.response?.header.responseCode, 'E5');
  const row = d.dcc.service.requests({ requestId: formatRequestId(after.requestId) }).find((r) => r.responseCode === 'E5');
  t.regex(row?.reason ?? '', new RegExp(`device ${ESME} has no Key Agreement certificate SMKI counts as valid \\(${cert!.certificate.serial} revoked\\)`));
  await d.dcc.service.settled();
  t.is(sent.length, 1, 'no Command left the DCC for the revoked key');
});
