import test from 'ava';
import { readCrl, verifyCrl } from '../../../protocol/smki/crl.ts';
import { openssl, opensslCrlVerdict, T0, hierarchy, hoursAfter, tempFiles } from './support.ts';

const entries = [
  { serial: '105986833131214866166891566273223584671', revocationDate: T0, reason: 'keyCompromise' as const },
  { serial: '27572613927499351639968579586655397031', revocationDate: hoursAfter(T0, 1), reason: 'unspecified' as const },
  { serial: '1', revocationDate: hoursAfter(T0, 2), reason: 'privilegeWithdrawn' as const },
];

test('an OCA CRL reads back: issuer, number, dates, every entry with its reason', async (t) => {
  const { oca } = await hierarchy();
  const crl = await oca.issueCrl({ thisUpdate: hoursAfter(T0, 3), nextUpdate: hoursAfter(T0, 27), number: 7n, entries });
  const back = readCrl(crl.pem);
  t.is(back.issuer, 'CN=HIL-OCA,OU=07');
  t.is(back.number, 7n);
  t.deepEqual(back.thisUpdate, hoursAfter(T0, 3));
  t.deepEqual(back.nextUpdate, hoursAfter(T0, 27));
  t.deepEqual(back.authorityKeyId, oca.keyId);
  t.deepEqual(back.entries, entries);
  t.deepEqual(readCrl(crl.der).entries, entries);
});

test('a CRL verifies with the OCA key and not with another CA key; openssl verifies it with the OCA certificate', async (t) => {
  const { root, oca, dca } = await hierarchy();
  const crl = await oca.issueCrl({ thisUpdate: T0, nextUpdate: hoursAfter(T0, 24), number: 1n, entries });
  t.true(await verifyCrl(crl, oca.publicKey));
  t.false(await verifyCrl(crl, dca.publicKey));
  t.false(await verifyCrl(crl, root.publicKey));
  const p = tempFiles({ 'crl.pem': crl.pem, 'chain.pem': root.certificate.pem + oca.certificate.pem });
  const out = openssl(['crl', '-in', p['crl.pem']!, '-CAfile', p['chain.pem']!, '-noout', '-text']);
  t.regex(out, /Issuer: OU = 07, CN = HIL-OCA/);
  t.regex(out, /X509v3 CRL Number: \s*1\b/);
  t.regex(out, /Key Compromise/);
  t.regex(out, /Privilege Withdrawn/);
  t.is(opensslCrlVerdict(p['crl.pem']!, p['chain.pem']!), 'verify OK');
  // The same CRL with one octet of its signature changed: openssl, given the right chain, refuses it.
  const der = Buffer.from(crl.der);
  der[der.length - 2]! ^= 0x01;
  const pem = `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END X509 CRL-----\n`;
  const bad = tempFiles({ 'crl.pem': pem });
  t.is(opensslCrlVerdict(bad['crl.pem']!, p['chain.pem']!), 'verify failure');
  const rootOnly = tempFiles({ 'root.pem': root.certificate.pem });
  t.regex(opensslCrlVerdict(p['crl.pem']!, rootOnly['root.pem']!), /Error getting CRL issuer certificate/, 'openssl cannot verify it without the OCA');
});

test('a tampered CRL does not verify', async (t) => {
  const { oca } = await hierarchy();
  const crl = await oca.issueCrl({ thisUpdate: T0, nextUpdate: hoursAfter(T0, 24), number: 2n, entries });
  const der = Buffer.from(crl.der);
  const serial = der.indexOf(Buffer.from(BigInt(entries[0]!.serial).toString(16), 'hex'));
  t.true(serial > 0);
  der[serial + 15]! ^= 0x01; // a different certificate "revoked"
  t.false(await verifyCrl(der, oca.publicKey));
});

test('an empty CRL is well formed', async (t) => {
  const { root, oca } = await hierarchy();
  const crl = await oca.issueCrl({ thisUpdate: T0, nextUpdate: hoursAfter(T0, 24), number: 3n, entries: [] });
  t.deepEqual(crl.entries, []);
  t.true(await verifyCrl(crl, oca.publicKey));
  const p = tempFiles({ 'crl.pem': crl.pem, 'chain.pem': root.certificate.pem + oca.certificate.pem });
  t.regex(openssl(['crl', '-in', p['crl.pem']!, '-CAfile', p['chain.pem']!, '-noout', '-text']), /No Revoked Certificates/);
});

test('readCrl refuses what is not a CRL with a CrlError', (t) => {
  t.throws(() => readCrl(Buffer.from('300100', 'hex')), { name: 'CrlError' });
});

test('a CRL with a malformed extension is refused with a CrlError naming the part, not a library error', async (t) => {
  const { oca } = await hierarchy();
  const der = Buffer.from((await oca.issueCrl({ thisUpdate: hoursAfter(T0, 3), nextUpdate: hoursAfter(T0, 27), number: 7n, entries: [entries[0]!] })).der);
  const retagged = (extension: string, at: number, tag: number) => {
    const out = Buffer.from(der);
    out[der.indexOf(Buffer.from(extension, 'hex')) + at] = tag;
    return out;
  };
  t.throws(() => readCrl(retagged('0603551d1404', 7, 0x04)), { name: 'CrlError', message: /^its cRLNumber is malformed/ }); // INTEGER written as OCTET STRING
  t.throws(() => readCrl(retagged('0603551d1504', 7, 0x02)), { name: 'CrlError', message: /^its entry 1 is malformed/ }); // ENUMERATED reason written as INTEGER
});
