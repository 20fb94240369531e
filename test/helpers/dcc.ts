/**
 * A mock DCC on a real loopback socket for black-box tests, with a User endpoint, helpers to register parties
 * and make User agents, and a device port supplied by the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { XmlSigner } from '../../protocol/duis/index.ts';
import type { Eui } from '../../protocol/smki/eui.ts';
import type { DeviceProvisioner } from '../../emulator/admin.ts';
import { createDcc, type DccConfig, type RunningDcc } from '../../emulator/bootstrap.ts';
import type { DevicePort } from '../../emulator/ports.ts';
import { DccAdminClient } from '../../harness/admin-client.ts';
import { dccResolver } from '../../harness/agents/dcc-verifier.ts';
import { UserEndpoint } from '../../harness/agents/endpoint.ts';
import { CounterSource, UserAgent } from '../../harness/agents/user-agent.ts';

export interface TestDcc {
  dcc: RunningDcc;
  url: string;
  admin: DccAdminClient;
  endpoint: UserEndpoint;
  counters: CounterSource;
  stateDir: string;
  agent(eui: Eui, name: string, xml: XmlSigner, gbcs?: import('node:crypto').KeyObject): UserAgent;
  close(): Promise<void>;
}

export async function startTestDcc(
  devices: DevicePort,
  options: { provisioner?: DeviceProvisioner; persistent?: boolean; stateDir?: string; extra?: Partial<DccConfig> } = {},
): Promise<TestDcc> {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'smets-hil-dcc-'));
  const dcc = await createDcc({
    stateDir: options.persistent === false ? null : stateDir,
    devices,
    provisioner: options.provisioner ?? null,
    outbox: { initialBackoffMs: 20, maxBackoffMs: 200 },
    deviceTimeoutMs: 5_000,
    ...options.extra,
  });
  const url = await dcc.listen(0);
  const admin = new DccAdminClient(url);
  const identity = await admin.identity();
  const resolver = dccResolver([identity.xmlSigningCertificate!]);
  const endpoint = new UserEndpoint(resolver);
  await endpoint.listen();
  const counters = new CounterSource();
  return {
    dcc,
    url,
    admin,
    endpoint,
    counters,
    stateDir,
    agent: (eui, name, xml, gbcs) => new UserAgent({ eui, name, xml, ...(gbcs ? { gbcsSigner: gbcs } : {}) }, { dccUrl: url, counters, dccVerifier: resolver }),
    async close() {
      await dcc.close();
      await endpoint.close();
      if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A device port for tests that reach no device: every send is a communications failure. */
export function unreachableDevices(supported: readonly string[] = ['1.6']): DevicePort {
  const set = new Set(supported);
  return {
    sendCommand: async () => ({ kind: 'comms-failure', reason: 'no devices in this test' }),
    sendSmets1: async () => ({ kind: 'comms-failure', reason: 'no devices in this test' }),
    supportedSrvs: () => set,
    onAlert: () => () => {},
    state: () => undefined,
  };
}
