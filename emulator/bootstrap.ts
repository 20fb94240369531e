/**
 * Brings a mock DCC up from its state directory: the store, SMKI (CAs derived from a seed in the store, issued
 * certificates and revocations reloaded), the DCC's own identity (XML Signing 137 and ACB DS/KA certificates from
 * its SMKI, or with a ZAZ1 keystore the DCC Boxed ones), the service, the admin functions and the HTTP server.
 */
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { xmlSignerFromEntry } from '../protocol/duis/index.ts';
import { DCC_EUI, type Eui } from '../protocol/smki/eui.ts';
import { ISSUING_POLICY } from '../protocol/smki/issuing-policy.ts';
import { RemotePartyRole } from '../protocol/smki/roles.ts';
import type { SmkiService } from '../protocol/smki/smki-service.ts';
import { DccAdmin, type DeviceProvisioner } from './admin.ts';
import { EligibilityTable } from './access/srv-matrix.ts';
import { AdjustableClock } from './clock.ts';
import { createHttpServer, type HttpOptions } from './http.ts';
import type { OutboxOptions } from './outbox.ts';
import type { DevicePort } from './ports.ts';
import { type DccKeys, type DccOptions, type Defect, DccService } from './service.ts';
import { openSmki, persistCertificate } from './smki-store.ts';
import { lockStateDir } from './state-lock.ts';
import { type Db, getMeta, openStore } from './store.ts';

export interface DccConfig {
  /** Where the SQLite store lives; null keeps everything in memory (tests). */
  stateDir: string | null;
  devices: DevicePort;
  provisioner?: DeviceProvisioner | null;
  /** ZAZ1 keystore JSON text: stand in for DCC Boxed with its test PKI. */
  zaz1?: string;
  callback?: string;
  scAllowedSrvs?: readonly string[];
  deviceTimeoutMs?: number;
  outbox?: OutboxOptions;
  http?: HttpOptions;
  defects?: readonly Defect[];
  validateSchema?: (xml: string) => Promise<string | null>;
  /** Device KA public keys vouched for in bulk (see DccOptions). */
  deviceKeyDirectory?: DccOptions['deviceKeyDirectory'];
  /** Sets the DCC's clock (it runs on from there); without it the clock resumes where the store left it. */
  start?: Date;
  /** Holds the clock still (at `start`): it then moves only through the admin API. */
  freezeClock?: boolean;
}

export interface RunningDcc {
  service: DccService;
  admin: DccAdmin;
  smki: SmkiService;
  clock: AdjustableClock;
  http: FastifyInstance;
  db: Db;
  /** Listens on host:port (0 picks a free port); resolves with the base URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export const ZAZ1 = {
  supplier: '90B3D51F30010000' as Eui,
  networkOperator: '90B3D51F30020000' as Eui,
  acb: '90B3D51F30000002' as Eui,
  esme: '00DB1234567890A0' as Eui,
  gsme: '00DB1234567890A1' as Eui,
};

type Identity = DccKeys & { acbEui: Eui };

function zaz1Identity(smki: SmkiService): Identity {
  const xml = smki.find({ eui: DCC_EUI, role: RemotePartyRole.dccXmlSigning, withPrivateKey: true })[0];
  const acbKa = smki
    .find({ eui: ZAZ1.acb, role: RemotePartyRole.accessControlBroker, usage: 'keyAgreement', withPrivateKey: true })
    .sort((a, b) => a.certificate.notBefore.getTime() - b.certificate.notBefore.getTime())[0];
  if (!xml || !acbKa) throw new Error('the ZAZ1 keystore lacks dsp-xml-sign or the ACB Key Agreement key');
  return { xmlSigner: xmlSignerFromEntry(smki.keystore().byName(xml.name)!), dccEui: DCC_EUI, acbKaPrivate: acbKa.privateKey!, acbEui: ZAZ1.acb };
}

/** The DCC's own certificates from its SMKI, issued on first start and reloaded after. */
async function ownIdentity(db: Db, smki: SmkiService): Promise<Identity> {
  const ensure = async (role: number, product: 'xml-signing' | 'organisation-ds' | 'organisation-ka') => {
    const have = smki.find({ eui: DCC_EUI, role, product, withPrivateKey: true })[0];
    if (have) return have;
    const issued = await smki.issue({
      requester: { eui: DCC_EUI, role: 'DCC' },
      product,
      ...(product === 'xml-signing' ? {} : { remotePartyRole: role }),
      name: `dcc-${product}-${role}`,
    });
    persistCertificate(db, issued, { eui: DCC_EUI, role: 'DCC' });
    return issued.entry;
  };
  const xml = await ensure(RemotePartyRole.dccXmlSigning, 'xml-signing');
  await ensure(RemotePartyRole.accessControlBroker, 'organisation-ds');
  const acbKa = await ensure(RemotePartyRole.accessControlBroker, 'organisation-ka');
  return {
    xmlSigner: { privateKey: xml.privateKey!, issuer: xml.certificate.issuer, serial: xml.certificate.serial },
    dccEui: DCC_EUI,
    acbKaPrivate: acbKa.privateKey!,
    acbEui: DCC_EUI,
  };
}

export async function createDcc(config: DccConfig): Promise<RunningDcc> {
  const unlock = config.stateDir ? lockStateDir(config.stateDir) : () => {};
  try {
    return await startDcc(config, unlock);
  } catch (e) {
    unlock();
    throw e;
  }
}

async function startDcc(config: DccConfig, unlock: () => void): Promise<RunningDcc> {
  const db = openStore(config.stateDir ? join(config.stateDir, 'dcc.sqlite') : null);
  // The clock resumes where the store left it: a held clock at the instant it was held at, not moved by the downtime.
  const clock = new AdjustableClock(Number(getMeta(db, 'clock-offset-ms') ?? 0));
  const heldAt = getMeta(db, 'clock-frozen-at');
  if (heldAt) clock.set(new Date(heldAt));
  const resumedAt = clock.now();
  // As on the admin API: the meters this store's DCC hosts have followed its clock forward and never go back.
  if (config.start && config.provisioner && config.start.getTime() < resumedAt.getTime() && db.prepare('SELECT 1 FROM devices LIMIT 1').get()) {
    db.close();
    throw new Error(
      `its devices' clocks never go back, and the start time ${config.start.toISOString()} is before the time this store's DCC has reached (${resumedAt.toISOString()}); start on a fresh state directory to begin earlier`,
    );
  }
  if (config.start) clock.set(config.start);
  // Held at the stored instant itself: now() has run on since set(), a millisecond may have passed.
  if (config.freezeClock) clock.freeze(config.start ?? (heldAt ? new Date(heldAt) : clock.now()));
  // Seeded defect: SMKI's policy lets the SC role hold every Organisation certificate (BR2 undone).
  const policy = config.defects?.includes('sc-issued-digital-signing') ? { ...ISSUING_POLICY, SC: ISSUING_POLICY.IS } : undefined;
  const smki = await openSmki(db, () => clock.now(), policy);
  if (config.zaz1) smki.importZaz1(config.zaz1);
  const identity = config.zaz1 ? zaz1Identity(smki) : await ownIdentity(db, smki);
  const service = new DccService({
    db,
    clock,
    smki,
    eligibility: EligibilityTable.load(config.scAllowedSrvs ? { scAllowedSrvs: config.scAllowedSrvs } : {}),
    keys: identity,
    devices: config.devices,
    ...(config.callback ? { callback: config.callback } : {}),
    ...(config.deviceTimeoutMs ? { deviceTimeoutMs: config.deviceTimeoutMs } : {}),
    ...(config.outbox ? { outbox: config.outbox } : {}),
    ...(config.defects ? { defects: config.defects } : {}),
    ...(config.validateSchema ? { validateSchema: config.validateSchema } : {}),
    ...(config.deviceKeyDirectory ? { deviceKeyDirectory: config.deviceKeyDirectory } : {}),
  });
  const admin = new DccAdmin(service, smki, identity.acbEui, config.provisioner ?? null);
  if (config.start || config.freezeClock || heldAt) admin.persistClock();
  if (config.zaz1) registerZaz1(service, config.callback);
  await admin.restoreDevices();
  service.start();
  const http = createHttpServer(service, admin, config.http);

  return {
    service,
    admin,
    smki,
    clock,
    http,
    db,
    async listen(port, host = '127.0.0.1') {
      await http.listen({ port, host });
      const address = http.server.address();
      return listenUrl(host, typeof address === 'object' && address ? address.port : port);
    },
    async close() {
      await http.close();
      await service.stop();
      db.close();
      unlock();
    },
  };
}

/** The URL of a server listening on `host`: an IPv6 literal goes in brackets, or the URL does not parse. */
export function listenUrl(host: string, port: number): string {
  return `http://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/**
 * DCC Boxed drop-in: the ZAZ1 supplier as IS and GS, its network operator as ED and GT, and the RTDS devices
 * (ESME 00DB1234567890A0, GSME 00DB1234567890A1) registered to the supplier. Every User's responses go to the
 * callback.
 */
function registerZaz1(service: DccService, callback: string | undefined): void {
  const r = service.registry;
  if (!r.party(ZAZ1.supplier)) r.putParty({ eui: ZAZ1.supplier, name: 'ZAZ1 supplier', roles: ['IS', 'GS'], endpoint: callback ?? null });
  if (!r.party(ZAZ1.networkOperator)) r.putParty({ eui: ZAZ1.networkOperator, name: 'ZAZ1 network operator', roles: ['ED', 'GT'], endpoint: callback ?? null });
  for (const [eui, type] of [
    [ZAZ1.esme, 'ESME'],
    [ZAZ1.gsme, 'GSME'],
  ] as const) {
    if (!r.device(eui)) r.putDevice({ eui, type, supplier: ZAZ1.supplier, networkOperator: ZAZ1.networkOperator });
  }
}
