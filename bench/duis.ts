/**
 * DUIS XMLDSig throughput on one core: sign and verify of a signed SRV 1.6 request, next to node:crypto's raw
 * ECDSA P-256 verify (and sign) measured in the same run. Target: verify at >= 30 % of raw ECDSA verify.
 *
 *   npm run bench:duis [-- --seconds 10]
 */
import { sign as ecdsaSign, verify as ecdsaVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildRequest,
  canonicalizeExclusive,
  type DuisRequest,
  keystoreResolver,
  parseXml,
  signRequest,
  signXml,
  verifyRequest,
  xmlSignerFromEntry,
} from '../protocol/duis/index.ts';
import { parseEui } from '../protocol/smki/eui.ts';
import { Keystore } from '../protocol/smki/keystore.ts';
import { BenchOptions } from './options.ts';

const fixtures = process.env.SMETS_HIL_FIXTURES ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures');
const seconds = new BenchOptions('usage: npm run bench:duis [-- --seconds 10]', ['seconds']).seconds('seconds', 10);

const keystore = Keystore.fromZaz1(readFileSync(resolve(fixtures, 'keystore/zaz1-keystore.json'), 'utf8'));
const user = parseEui('90B3D51F30010000');
const entry = keystore.xmlSigningKey(user);
const signer = xmlSignerFromEntry(entry);
const resolver = keystoreResolver(keystore);

const request: DuisRequest = {
  schemaVersion: '5.4',
  header: {
    requestId: { user, target: parseEui('00DB1234567890A0'), counter: 1010n },
    commandVariant: 4,
    serviceReference: '1.6',
    serviceReferenceVariant: '1.6',
  },
  body: {
    kind: 'UpdatePaymentMode',
    paymentMode: { mode: 'Prepayment', suspendDebtDisabled: true, suspendDebtEmergency: true, disablementThreshold: 556677 },
  },
};
const unsigned = buildRequest(request);
const signed = signRequest(request, signer);
if (!verifyRequest(signed, resolver).ok) throw new Error('the benchmark document does not verify');

// Raw ECDSA on exactly the bytes a verification checks: the canonical SignedInfo of the signed request.
const parsed = parseXml(signed);
if (!parsed.ok) throw new Error(parsed.error.toString());
const signedInfoElement = parsed.value.signatures[0]!.children.find((c) => typeof c !== 'string');
if (!signedInfoElement || typeof signedInfoElement === 'string') throw new Error('no SignedInfo');
const signedInfo = Buffer.from(canonicalizeExclusive(signedInfoElement), 'utf8');
const signatureValue = Buffer.from(/<ds:SignatureValue>([^<]*)</.exec(signed)![1]!, 'base64');
const pub = { key: entry.publicKey, dsaEncoding: 'ieee-p1363' as const };
const priv = { key: entry.privateKey!, dsaEncoding: 'ieee-p1363' as const };

/** Operations per second of `op`, run in batches of 50 for `ms` milliseconds. */
function rate(op: () => unknown, ms: number): number {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    for (let i = 0; i < 50; i++) op();
    n += 50;
  }
  return (n * 1000) / (performance.now() - start);
}

const cases = {
  rawVerify: () => ecdsaVerify('sha256', signedInfo, pub, signatureValue),
  verify: () => {
    if (!verifyRequest(signed, resolver).ok) throw new Error('verification failed');
  },
  rawSign: () => ecdsaSign('sha256', signedInfo, priv),
  signXml: () => {
    if (!signXml(unsigned, signer).ok) throw new Error('signing failed');
  },
  signModel: () => signRequest(request, signer),
};
type Case = keyof typeof cases;

// Rounds alternate the cases so that a change in machine load hits raw and XML rates alike; each ratio is
// taken within a round and the median round is reported.
const rounds = 7;
const perRound = (seconds * 1000) / rounds / Object.keys(cases).length;
for (const op of Object.values(cases)) rate(op, 100);
const samples: Record<Case, number[]> = { rawVerify: [], verify: [], rawSign: [], signXml: [], signModel: [] };
for (let r = 0; r < rounds; r++) for (const name of Object.keys(cases) as Case[]) samples[name].push(rate(cases[name], perRound));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratio = (a: Case, b: Case) => median(samples[a].map((x, i) => x / samples[b][i]!));
const r = Object.fromEntries((Object.keys(cases) as Case[]).map((k) => [k, median(samples[k])])) as Record<Case, number>;

const fmt = (n: number) => `${Math.round(n).toLocaleString('en-GB').padStart(7)} /s`;
const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)} %`;
console.log(`DUIS XMLDSig on one core: SRV 1.6 Prepayment request, ${Buffer.byteLength(signed)} bytes signed; node ${process.version}; ${rounds} rounds, medians`);
console.log(`  ${'raw ECDSA P-256 verify (node:crypto)'.padEnd(50)}${fmt(r.rawVerify)}`);
console.log(`  ${'verifyRequest (parse, checks, c14n, ECDSA, model)'.padEnd(50)}${fmt(r.verify)}  ${pct(ratio('verify', 'rawVerify'))} of raw verify`);
console.log(`  ${'raw ECDSA P-256 sign (node:crypto)'.padEnd(50)}${fmt(r.rawSign)}`);
console.log(`  ${'signXml (parse, c14n, digest, ECDSA)'.padEnd(50)}${fmt(r.signXml)}  ${pct(ratio('signXml', 'rawSign'))} of raw sign`);
console.log(`  ${'signRequest (model to signed XML)'.padEnd(50)}${fmt(r.signModel)}  ${pct(ratio('signModel', 'rawSign'))} of raw sign`);
const verifyRatio = ratio('verify', 'rawVerify');
console.log(`verify / raw ECDSA verify = ${verifyRatio.toFixed(3)} (target >= 0.30: ${verifyRatio >= 0.3 ? 'met' : 'NOT met'})`);
