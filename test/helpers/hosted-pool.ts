/** A test DCC hosting its meters in an emulated pool kept in a meter store, as `dcc serve --state-dir` does. */
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { EmulatedPool } from '../../harness/pools/emulated.ts';
import { MeterStore } from '../../harness/pools/meter-store.ts';
import { startTestDcc } from './dcc.ts';

/** The DCC on `stateDir` with its meters (prepayment unless registered otherwise); closed at teardown, or by `close`. */
export async function hostedPool(t: ExecutionContext, stateDir: string, extra: { start?: Date; freezeClock?: boolean } = {}) {
  const store = new MeterStore(join(stateDir, 'meters.sqlite'));
  const pool = new EmulatedPool({ store, defaultInitial: { paymentMode: 'prepayment' } });
  const dcc = await startTestDcc(pool.port, { stateDir, provisioner: pool.provisioner, extra: { deviceTimeoutMs: 2_000, ...extra } }).catch(async (e: Error) => {
    await pool.close();
    store.close();
    throw e;
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await dcc.close();
    await pool.close();
    store.close();
  };
  t.teardown(close);
  return { dcc, pool, store, close };
}
