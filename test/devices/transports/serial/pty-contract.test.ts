/**
 * The Link contract over a real pty pair from socat: both ends are SerialLinks on real file descriptors (in a
 * link host process: serialport's binding cannot run in ava's worker threads), the device end serving the
 * contract's emulated meters. Then the contract's fault tests, with faults injected above the serial link at
 * the DCC's end (FaultLink), as a rig pool does for scenario link faults.
 */
import test from 'ava';
import { FaultLink } from '../../../../devices/rig/fault-link.ts';
import { linkContract } from '../../../../devices/transports/contract.ts';
import { openPtyPair } from '../../../../devices/transports/serial/pty-pair.ts';
import { LinkHost } from '../../../../devices/transports/serial/remote-link.ts';
import { requireSocat } from './support.ts';

requireSocat();
let host: Promise<LinkHost> | null = null;
const links = () => (host ??= LinkHost.start());
test.after.always(async () => (await host)?.close());

linkContract(test, {
  name: 'serial link over a pty pair',
  async create() {
    const [h, pty] = await Promise.all([links(), openPtyPair()]);
    return { dcc: h.link({ path: pty.a }), device: h.link({ path: pty.b }), dispose: () => pty.close() };
  },
  shortTimeoutMs: 300,
});

linkContract(test, {
  name: 'serial link over a pty pair, faults above it',
  async create() {
    const [h, pty] = await Promise.all([links(), openPtyPair()]);
    const dcc = new FaultLink(h.link({ path: pty.a }));
    return { dcc, device: h.link({ path: pty.b }), faults: dcc.faults, dispose: () => pty.close() };
  },
  faults: true,
  shortTimeoutMs: 300,
});
