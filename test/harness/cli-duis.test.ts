import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { verifyRequest } from '../../protocol/duis/index.ts';
import { Keystore } from '../../protocol/smki/keystore.ts';
import { ESME, SUPPLIER } from '../protocol/duis/support.ts';
import { runCli } from '../helpers/cli.ts';
import { fixturePath, readFixture, zaz1KeystorePath } from '../helpers/fixtures.ts';

const keystore = Keystore.fromZaz1(readFixture('keystore', 'zaz1-keystore.json'));
const KEYS = ['--keystore', zaz1KeystorePath];
const XSD = fixturePath('duis', 'DUIS Schema V5.4.xsd');
const tmp = mkdtempSync(join(tmpdir(), 'smets-hil-duis-'));
const template = (name: string) => fixturePath('duis', name);

function file(name: string, content: string): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

test('duis sign prints the template signed by its RequestID User, counter kept; duis verify accepts it', async (t) => {
  const signed = await runCli(['duis', 'sign', template('GCS02_1.6_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML'), ...KEYS]);
  t.is(signed.code, 0, signed.stderr);
  const xml = signed.stdout.trimEnd();
  t.true(xml.includes(':1001</sr:RequestID>'));
  t.false(xml.includes('placeholder'));
  const v = verifyRequest(xml, keystore);
  t.true(v.ok, v.ok ? '' : v.error.toString());
  const verified = await runCli(['duis', 'verify', file('signed.xml', signed.stdout), ...KEYS]);
  t.is(verified.code, 0, verified.stderr);
  t.regex(verified.stdout, /^OK .*signed\.xml: request signed by xml-sign-90B3D51F30010000-ds \(CN=Z1,OU=07 serial 27572613927499351639968579586655397031\)/);
  // "-" is standard input, as the help says.
  const piped = await runCli(['duis', 'verify', '-', ...KEYS], { input: signed.stdout });
  t.is(piped.code, 0, piped.stderr);
  t.regex(piped.stdout, /^OK .*: request signed by xml-sign-90B3D51F30010000-ds/);
});

test('duis verify exits non-zero with the reason for a tampered request and for a placeholder signature', async (t) => {
  const signed = await runCli(['duis', 'sign', template('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML'), ...KEYS]);
  t.is(signed.code, 0, signed.stderr);
  const tampered = await runCli(['duis', 'verify', file('tampered.xml', signed.stdout.replace(':1002<', ':1003<')), ...KEYS]);
  t.is(tampered.code, 1);
  t.regex(tampered.stderr, /tampered\.xml: digest-mismatch: /);
  const placeholder = await runCli(['duis', 'verify', template('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML'), ...KEYS]);
  t.is(placeholder.code, 1);
  t.regex(placeholder.stderr, /INVALID .*: comment: /);
  const uncommented = readFixture('duis', 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML').replace(/<!--.*?-->/s, '');
  const fake = await runCli(['duis', 'verify', file('placeholder.xml', uncommented), ...KEYS]);
  t.is(fake.code, 1);
  t.regex(fake.stderr, /signature-shape: .*DigestValue is 32 bytes/);
});

test("duis verify refuses a Response signed by a User's key: responses come from the DCC", async (t) => {
  const { signResponse, xmlSignerFromEntry } = await import('../../protocol/duis/index.ts');
  const response = signResponse(
    {
      schemaVersion: '5.4',
      header: { requestId: { user: SUPPLIER, target: ESME, counter: 1002n }, responseCode: 'I0', responseDateTime: '2030-01-01T00:00:00.00Z' },
      body: { kind: 'ResponseMessage', serviceReference: '1.6', serviceReferenceVariant: '1.6', content: { kind: 'GBCSPayload', gbcsPayload: Buffer.of(0) } },
    },
    xmlSignerFromEntry(keystore.xmlSigningKey(SUPPLIER)),
  );
  const r = await runCli(['duis', 'verify', file('forged-response.xml', response), ...KEYS]);
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stderr, /INVALID .*forged-response\.xml: signer-refused: .*a Response must be signed by the DCC's XML Signing key/);
});

test('duis sign replaces an existing signature rather than adding one', async (t) => {
  const once = await runCli(['duis', 'sign', template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML'), ...KEYS]);
  const twice = await runCli(['duis', 'sign', file('once.xml', once.stdout), ...KEYS]);
  t.is(twice.code, 0, twice.stderr);
  t.is((twice.stdout.match(/<ds:Signature[ >]/g) ?? []).length, 1);
  t.true(verifyRequest(twice.stdout.trimEnd(), keystore).ok);
});

test('duis sign refuses a request whose User has no XML Signing key', async (t) => {
  const stranger = readFixture('duis', 'ECS42_7.1_SUCCESS_REQUEST_DUIS.XML').replace('90-B3-D5-1F-30-01-00-00:', '11-22-33-44-55-66-77-88:');
  const r = await runCli(['duis', 'sign', file('stranger.xml', stranger), ...KEYS]);
  t.is(r.code, 1);
  t.regex(r.stderr, /signer-unknown: no XML Signing private key for 1122334455667788/);
});

test('duis validate --xsd reports every file in one run and fails if any is invalid', async (t) => {
  const broken = file('broken.xml', readFixture('duis', 'ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML').replace('<sr:CommandVariant>4', '<sr:CommandVariant>10'));
  const dtd = file('dtd.xml', '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>');
  const good = [template('ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML'), template('CS01a_2.2_SUCCESS_REQUEST_DUIS.XML')];
  const r = await runCli(['duis', 'validate', '--xsd', XSD, ...good, broken, dtd]);
  t.is(r.code, 1);
  const lines = r.stdout.trimEnd().split('\n');
  t.deepEqual(lines.slice(0, 2), good.map((g) => `OK ${g}`));
  t.regex(lines[2]!, /^INVALID .*broken\.xml: schema: line \d+: Element '\{http:\/\/www\.dccinterface\.co\.uk\/ServiceUserGateway\}CommandVariant': \[facet 'enumeration'\] The value '10'/);
  t.regex(lines[3]!, /^INVALID .*dtd\.xml: dtd: /);
  t.is(lines.length, 4);
  const allGood = await runCli(['duis', 'validate', '--xsd', XSD, ...good]);
  t.is(allGood.code, 0, allGood.stderr);
});

test('duis validate without --xsd validates structurally', async (t) => {
  const bad = file('bad-order.xml', readFixture('duis', 'ECS42_7.1_SUCCESS_REQUEST_DUIS.XML').replace(/(<sr:CommandVariant>4<\/sr:CommandVariant>)\s*(<sr:ServiceReference>7.1<\/sr:ServiceReference>)/, '$2$1'));
  const r = await runCli(['duis', 'validate', template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML'), bad]);
  t.is(r.code, 1);
  t.regex(r.stdout, /^OK .*ECS42_7\.1_SUCCESS_REQUEST_DUIS\.XML\nINVALID .*bad-order\.xml: structure: \/Request\/Header\/ServiceReference: expected CommandVariant, found ServiceReference\n$/);
});

test('duis validate reads standard input once: - given twice is a usage error, not a valid document reported invalid', async (t) => {
  const r = await runCli(['duis', 'validate', '-', '-'], { input: readFixture('duis', 'ECS42_7.1_SUCCESS_REQUEST_DUIS.XML') });
  t.is(r.code, 2);
  t.regex(r.stderr, /standard input \(-\) is given more than once/);
  t.is(r.stdout, '');
});

test('usage errors exit 2', async (t) => {
  const noKeystore = await runCli(['duis', 'sign', template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML')]);
  t.is(noKeystore.code, 2);
  t.regex(noKeystore.stderr, /keystore/);
  const missing = await runCli(['duis', 'verify', join(tmp, 'missing.xml'), ...KEYS]);
  t.is(missing.code, 2);
  const notZaz1 = await runCli(['duis', 'sign', template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML'), '--keystore', file('not-a-keystore.json', '{"x":1}')]);
  t.is(notZaz1.code, 2);
  t.regex(notZaz1.stderr, /^keystore .*not-a-keystore\.json: /);
  t.is(notZaz1.stdout, '');
  const badXsd = await runCli(['duis', 'validate', '--xsd', join(tmp, 'missing.xsd'), template('ECS42_7.1_SUCCESS_REQUEST_DUIS.XML')]);
  t.is(badXsd.code, 2);
  t.regex(badXsd.stderr, /cannot read schema/);
});
