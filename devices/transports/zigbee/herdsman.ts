/**
 * The one place that loads zigbee-herdsman, on demand. It is an optional dependency (and pulls in the
 * GPL-3.0 zigbee-on-host), so nothing else in the project may import it: the module specifier is a variable,
 * which keeps TypeScript and bundlers from resolving it at build time, and the import runs only when a
 * ZigBee network is started.
 *
 * The types below are the slice of herdsman 10.9.5 this transport touches, written out structurally so the
 * project type-checks without the package installed.
 */

export interface HerdsmanLogger {
  debug(message: string | (() => string), namespace: string): void;
  info(message: string | (() => string), namespace: string): void;
  warning(message: string | (() => string), namespace: string): void;
  error(message: string, namespace: string): void;
}

export interface HerdsmanEndpoint {
  readonly ID: number;
  readonly inputClusters: number[];
  readonly outputClusters: number[];
  profileID?: number;
  read(cluster: string | number, attributes: (string | number)[], options?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export interface HerdsmanDevice {
  readonly ieeeAddr: string;
  readonly networkAddress: number;
  readonly endpoints: HerdsmanEndpoint[];
  readonly interviewState: string;
  readonly isDeleted: boolean;
  readonly modelID?: string;
  readonly manufacturerName?: string;
  readonly customClusters: Record<string, unknown>;
  getEndpoint(id: number): HerdsmanEndpoint | undefined;
  addCustomCluster(name: string, cluster: unknown): void;
}

export interface HerdsmanMessage {
  type: string;
  device: HerdsmanDevice;
  endpoint: HerdsmanEndpoint;
  cluster: string | number;
  data: unknown;
  meta: { rawData: Buffer; zclTransactionSequenceNumber?: number };
}

export interface HerdsmanZnp {
  request(subsystem: number, command: string, payload: Record<string, unknown>, waiterID?: number, timeout?: number): Promise<{ payload: Record<string, unknown> } | undefined>;
  waitFor(type: number, subsystem: number, command: string, target?: unknown, transid?: number, state?: number, timeout?: number): { ID: number; start(): { promise: Promise<{ payload: Record<string, unknown> }> } };
}

export interface HerdsmanAdapter {
  sendZclFrameToEndpoint(ieeeAddr: string, networkAddress: number, endpoint: number, zclFrame: unknown, timeout: number, disableResponse: boolean, disableRecovery: boolean, sourceEndpoint?: number, profileId?: number): Promise<unknown>;
  /** Z-Stack adapter internals used for frames over the MT size limit. */
  znp?: HerdsmanZnp;
  queue?: { execute<T>(fn: () => Promise<T>, key?: number | string): Promise<T> };
  nextTransactionID?(): number;
}

export interface HerdsmanController {
  start(): Promise<string>;
  stop(): Promise<void>;
  permitJoin(seconds: number): Promise<void>;
  getDeviceByIeeeAddr(ieeeAddr: string): HerdsmanDevice | undefined;
  getDevicesIterator(): Iterable<HerdsmanDevice>;
  addInstallCode(installCode: string): Promise<void>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  /** Not in herdsman's public typings; used for raw ZCL frames. */
  readonly adapter: HerdsmanAdapter;
}

export interface HerdsmanZcl {
  Header: { fromBuffer(buffer: Buffer): unknown };
  Frame: { fromBuffer(clusterId: number, header: unknown, buffer: Buffer, customClusters: Record<string, unknown>): unknown };
}

export interface HerdsmanModule {
  Controller: new (options: Record<string, unknown>) => HerdsmanController;
  Zcl: HerdsmanZcl;
  setLogger(logger: HerdsmanLogger): void;
}

/** Thrown when the optional dependency is missing or is not the version this transport was written for. */
export class HerdsmanUnavailableError extends Error {
  override readonly name = 'HerdsmanUnavailableError';
}

export const HERDSMAN_VERSION = '10.9.5';
const SPECIFIER = 'zigbee-herdsman';

let loading: Promise<HerdsmanModule> | null = null;

/** Loads herdsman once per process (its device and group models are process-wide, so is the module). */
export function loadHerdsman(): Promise<HerdsmanModule> {
  loading ??= (async () => {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(SPECIFIER)) as Record<string, unknown>;
    } catch (e) {
      loading = null;
      throw new HerdsmanUnavailableError(
        `the ZigBee transport needs the optional dependency zigbee-herdsman ${HERDSMAN_VERSION} (npm install --save-exact --save-optional zigbee-herdsman@${HERDSMAN_VERSION}): ${(e as Error).message}`,
      );
    }
    // CommonJS seen through ESM: the named exports may sit on `default`.
    const m = (mod.Controller ? mod : (mod.default as Record<string, unknown>)) as unknown as HerdsmanModule;
    if (typeof m?.Controller !== 'function' || typeof m.setLogger !== 'function' || !m.Zcl) {
      loading = null;
      throw new HerdsmanUnavailableError('zigbee-herdsman loaded but does not export Controller, Zcl and setLogger');
    }
    return m;
  })();
  return loading;
}
