/**
 * Raw node:crypto P-256 rates on this machine, measured on N threads at once (as the fleet runs): ECDSA
 * sign and verify (SHA-256, raw r||s) on KeyObjects, and ECDH the fastest way node:crypto offers (an ECDH
 * object on a raw peer point, as the product does it), in short alternating rounds so that load
 * from elsewhere falls on all three alike. Each rate comes two ways: per second of wall time (what the fleet's
 * limit is stated in) and per second of this process's CPU time (insensitive to other processes on the machine).
 */
import { Worker } from 'node:worker_threads';

export interface CryptoRates {
  sign: number;
  verify: number;
  ecdh: number;
}

export interface MeasuredRates {
  /** Operations per wall second, summed over the threads. */
  wall: CryptoRates;
  /** Operations per second of process CPU time. */
  cpu: CryptoRates;
}

type Op = keyof CryptoRates;
const OPS: readonly Op[] = ['sign', 'verify', 'ecdh'];

/** Plain JavaScript run in each thread (no loader needed): runs one operation for the time asked, reports the count. */
const PROBE = `
const { parentPort } = require('node:worker_threads');
const { createECDH, generateKeyPairSync, sign, verify } = require('node:crypto');
const a = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const data = Buffer.alloc(600, 7);
const key = { key: a.privateKey, dsaEncoding: 'ieee-p1363' };
const pub = { key: a.publicKey, dsaEncoding: 'ieee-p1363' };
const sig = sign('sha256', data, key);
const own = createECDH('prime256v1');
own.generateKeys();
const peer = createECDH('prime256v1');
const peerPoint = peer.generateKeys();
const ops = {
  sign: () => sign('sha256', data, key),
  verify: () => verify('sha256', data, pub, sig),
  ecdh: () => own.computeSecret(peerPoint),
};
parentPort.on('message', (m) => {
  if (m === 'stop') return process.exit(0);
  const t = performance.now();
  let n = 0;
  while (performance.now() - t < m.ms) { ops[m.op](); n++; }
  parentPort.postMessage({ n, ms: performance.now() - t });
});
parentPort.postMessage('ready');
`;

/** Rates over `threads` threads measuring at once, about `seconds` in all, in rounds of 100 ms per operation. */
export async function measureCryptoRates(threads: number, seconds = 3): Promise<MeasuredRates> {
  const workers = Array.from({ length: threads }, () => new Worker(PROBE, { eval: true }));
  const next = (w: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      const fail = (e: Error) => (w.off('message', done), reject(e));
      const done = (m: unknown) => (w.off('error', fail), resolve(m));
      w.once('message', done).once('error', fail);
    });
  try {
    await Promise.all(workers.map(next));
    const count = { sign: 0, verify: 0, ecdh: 0 };
    const wallRate = { sign: 0, verify: 0, ecdh: 0 };
    const cpuMs = { sign: 0, verify: 0, ecdh: 0 };
    const rounds = Math.max(1, Math.round((seconds * 1000) / 300));
    for (let r = 0; r < rounds; r++) {
      for (const op of OPS) {
        const cpu0 = process.cpuUsage();
        const replies = (await Promise.all(workers.map((w) => (w.postMessage({ op, ms: 100 }), next(w))))) as { n: number; ms: number }[];
        const cpu = process.cpuUsage(cpu0);
        cpuMs[op] += (cpu.user + cpu.system) / 1000;
        for (const x of replies) {
          count[op] += x.n;
          wallRate[op] += (x.n / x.ms) * 1000;
        }
      }
    }
    const per = (f: (op: Op) => number): CryptoRates => ({ sign: f('sign'), verify: f('verify'), ecdh: f('ecdh') });
    return { wall: per((op) => wallRate[op] / rounds), cpu: per((op) => (count[op] / cpuMs[op]) * 1000) };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export const PER_SWITCH = { sign: 6, verify: 6, ecdh: 2 } as const;

/** Switches per second if nothing but 6 signs, 6 verifies and 2 ECDH per switch took any time. */
export function cryptoBoundLimit(r: CryptoRates, perSwitch: CryptoRates = PER_SWITCH): number {
  return 1 / (perSwitch.sign / r.sign + perSwitch.verify / r.verify + perSwitch.ecdh / r.ecdh);
}
