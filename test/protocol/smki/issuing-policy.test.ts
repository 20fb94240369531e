import test from 'ava';
import { CERTIFICATE_PRODUCTS } from '../../../protocol/smki/certificate-products.ts';
import { ISSUING_POLICY, IssuingPolicyError, checkIssuingPolicy, issuingPolicyRows } from '../../../protocol/smki/issuing-policy.ts';
import { RemotePartyRole, USER_ROLES } from '../../../protocol/smki/roles.ts';

test('the policy table has a row for every DUIS User Role and the DCC', (t) => {
  t.deepEqual(Object.keys(ISSUING_POLICY).sort(), [...USER_ROLES, 'DCC'].sort());
  t.is(issuingPolicyRows().length, (USER_ROLES.length + 1) * CERTIFICATE_PRODUCTS.length);
});

test('SC is refused Digital Signing certificates with an error that names BR2', (t) => {
  const e = t.throws(() => checkIssuingPolicy({ requester: 'SC', product: 'organisation-ds' }), { instanceOf: IssuingPolicyError });
  t.is(e?.requirement, 'MP134B BR2');
  t.is(e?.requester, 'SC');
  t.is(e?.product, 'organisation-ds');
  t.regex(e?.message ?? '', /SoLR Contingency \(SC\)/);
  t.regex(e?.message ?? '', /BR2/);
  t.regex(e?.message ?? '', /not Digital Signing certificates for Critical Commands/);
});

test('SC is refused GBCS Key Agreement certificates too (our model of BR2), and Device certificates', (t) => {
  const ka = t.throws(() => checkIssuingPolicy({ requester: 'SC', product: 'organisation-ka' }), { instanceOf: IssuingPolicyError });
  t.is(ka?.requirement, 'MP134B BR2');
  for (const product of ['device-ds', 'device-ka'] as const) {
    const e = t.throws(() => checkIssuingPolicy({ requester: 'SC', product }), { instanceOf: IssuingPolicyError });
    t.is(e?.requirement, null);
  }
});

test('SC may be issued XML Signing certificates (role 135)', (t) => {
  t.deepEqual(checkIssuingPolicy({ requester: 'SC', product: 'xml-signing' }), { remotePartyRole: RemotePartyRole.xmlSigning });
});

test('an Import Supplier gets Supplier DS and KA certificates and XML Signing', (t) => {
  t.deepEqual(checkIssuingPolicy({ requester: 'IS', product: 'organisation-ds' }), { remotePartyRole: RemotePartyRole.supplier });
  t.deepEqual(checkIssuingPolicy({ requester: 'IS', product: 'organisation-ka' }), { remotePartyRole: RemotePartyRole.supplier });
  t.deepEqual(checkIssuingPolicy({ requester: 'IS', product: 'xml-signing' }), { remotePartyRole: 135 });
  t.deepEqual(checkIssuingPolicy({ requester: 'IS', product: 'device-ka' }), { remotePartyRole: null });
});

test('a role may only appear to devices in its own remote party role', (t) => {
  t.deepEqual(checkIssuingPolicy({ requester: 'ED', product: 'organisation-ds' }), { remotePartyRole: RemotePartyRole.networkOperator });
  t.deepEqual(checkIssuingPolicy({ requester: 'OU', product: 'organisation-ka' }), { remotePartyRole: RemotePartyRole.other });
  t.throws(() => checkIssuingPolicy({ requester: 'OU', product: 'organisation-ds', remotePartyRole: RemotePartyRole.supplier }), {
    message: /Other User \(OU\) party may not hold Organisation certificates in remote party role supplier \(2\)/,
  });
  t.throws(() => checkIssuingPolicy({ requester: 'IS', product: 'organisation-ds', remotePartyRole: RemotePartyRole.accessControlBroker }), {
    message: /Import Supplier \(IS\) party may not hold Organisation certificates in remote party role accessControlBroker \(4\); allowed: supplier \(2\)/,
  });
  t.deepEqual(checkIssuingPolicy({ requester: 'DCC', product: 'organisation-ka', remotePartyRole: RemotePartyRole.accessControlBroker }), {
    remotePartyRole: RemotePartyRole.accessControlBroker,
  });
});

test('XML Signing carries 135 for Users and 137 for the DCC, whatever else is asked', (t) => {
  t.deepEqual(checkIssuingPolicy({ requester: 'DCC', product: 'xml-signing' }), { remotePartyRole: RemotePartyRole.dccXmlSigning });
  t.throws(() => checkIssuingPolicy({ requester: 'GS', product: 'xml-signing', remotePartyRole: 137 }), { instanceOf: IssuingPolicyError });
});

test('the rows say why each refusal happens', (t) => {
  const sc = issuingPolicyRows().filter((r) => r.requester === 'SC');
  t.deepEqual(
    sc.map((r) => [r.product, r.decision]),
    [
      ['organisation-ds', 'refuse'],
      ['organisation-ka', 'refuse'],
      ['xml-signing', 'issue'],
      ['device-ds', 'refuse'],
      ['device-ka', 'refuse'],
    ],
  );
  t.regex(sc[0]!.why, /^MP134B BR2: /);
});
