/**
 * The ECDSA and ECDH operations this thread has done, counted and timed where they happen. The fleet reports the
 * counts; its benchmark sets the time against node:crypto's raw rates, to show what the same operations cost
 * between a switch's other work (more than in a loop of their own: the P-256 tables leave the caches).
 */
export type CryptoOp = 'sign' | 'verify' | 'ecdh';

export interface CryptoTally {
  sign: number;
  verify: number;
  ecdh: number;
  /** Milliseconds spent inside those operations. */
  ms: number;
}

/** Per thread, from its start. */
export const cryptoTally: CryptoTally = { sign: 0, verify: 0, ecdh: 0, ms: 0 };

/** Runs one operation, counting it (also when it throws) and its time. */
export function timedCrypto<T>(op: CryptoOp, run: () => T): T {
  const since = performance.now();
  try {
    return run();
  } finally {
    cryptoTally[op]++;
    cryptoTally.ms += performance.now() - since;
  }
}
