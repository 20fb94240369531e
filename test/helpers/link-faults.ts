/**
 * The memory link under an EmulatedPool, for fault tests that need more than the pool's injectFault (which
 * speaks the scenario language: drop, duplicate, corrupt, delay): a disconnect, a response replaced by garbage,
 * and the Transport's counters of ignored and unrecognised frames. Reaches into the pool's private connection
 * on purpose: this is test tooling, and the pool should not grow an API only tests use.
 */
import type { Connection } from '../../devices/connect.ts';
import type { FaultInjector } from '../../devices/transports/memory-link.ts';
import type { Transport } from '../../devices/transports/transport.ts';
import type { EmulatedPool } from '../../harness/pools/emulated.ts';

export function linkOf(pool: EmulatedPool): { faults: FaultInjector; transport: Transport } {
  const c = (pool as unknown as { connection: Connection | null }).connection;
  if (!c) throw new Error('the pool has no link yet (register a device first)');
  return { faults: c.pair.faults, transport: c.transport };
}

/** A frame of the same length as the original, but random bytes: nothing any Transport can match. */
export function garbage(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length);
  for (let i = 0; i < out.length; i++) out[i] = (i * 131 + 17) & 0xff;
  out[0] = 0x42;
  return out;
}
