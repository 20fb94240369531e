/**
 * Raw node:crypto P-256 rates on this machine, measured on N threads at once (as the fleet runs): ECDSA
 * sign and verify (SHA-256, raw r||s) and ECDH, all on KeyObjects, each for short alternating rounds so that
 * load from elsewhere falls on all three alike. The fleet's crypto-bound limit is derived from these.
 */
import { Worker } from 'node:worker_threads';

export interface CryptoRates {
  sign: number;
  verify: number;
  ecdh: number;
}

/** Plain JavaScript run in each thread (no loader needed). */
const PROBE = `
const { parentPort, workerData } = require('node:worker_threads');
const { generateKeyPairSync, sign, verify, diffieHellman } = require('node:crypto');
const a = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const b = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const data = Buffer.alloc(600, 7);
const key = { key: a.privateKey, dsaEncoding: 'ieee-p1363' };
const pub = { key: a.publicKey, dsaEncoding: 'ieee-p1363' };
const sig = sign('sha256', data, key);
const ops = {
  sign: () => sign('sha256', data, key),
  verify: () => verify('sha256', data, pub, sig),
  ecdh: () => diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey }),
};
const done = { sign: 0, verify: 0, ecdh: 0 };
const time = { sign: 0, verify: 0, ecdh: 0 };
const deadline = Date.now() + workerData.ms;
while (Date.now() < deadline) {
  for (const name of ['sign', 'verify', 'ecdh']) {
    const t = performance.now();
    let n = 0;
    while (performance.now() - t < workerData.roundMs) { ops[name](); n++; }
    done[name] += n;
    time[name] += performance.now() - t;
  }
}
parentPort.postMessage({ sign: done.sign / time.sign * 1000, verify: done.verify / time.verify * 1000, ecdh: done.ecdh / time.ecdh * 1000 });
`;

/** Rates summed over `threads` threads measuring at the same time, per second. */
export async function measureCryptoRates(threads: number, seconds = 3): Promise<CryptoRates> {
  const results = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<CryptoRates>((resolve, reject) => {
          const w = new Worker(PROBE, { eval: true, workerData: { ms: seconds * 1000, roundMs: 50 } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  return results.reduce((a, r) => ({ sign: a.sign + r.sign, verify: a.verify + r.verify, ecdh: a.ecdh + r.ecdh }), { sign: 0, verify: 0, ecdh: 0 });
}

/** Switches per second if nothing but 6 signs, 6 verifies and 2 ECDH per switch took any time. */
export function cryptoBoundLimit(r: CryptoRates, perSwitch = { sign: 6, verify: 6, ecdh: 2 }): number {
  return 1 / (perSwitch.sign / r.sign + perSwitch.verify / r.verify + perSwitch.ecdh / r.ecdh);
}
