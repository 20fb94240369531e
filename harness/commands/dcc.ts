/**
 * `smets-hil dcc serve`: the mock DCC as a long-running service on the DCC Boxed URLs, hosting emulated meters
 * in this process (registered through the admin API or, with --zaz1, the RTDS ESME and GSME). With
 * --state-dir everything is durable: the DCC's store and every hosted meter's state survive a restart or a
 * kill -9. It logs "listening on http://HOST:PORT" when ready and stops cleanly on SIGINT/SIGTERM.
 */
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { createDcc } from '../../emulator/bootstrap.ts';
import { clockRangeProblem } from '../../emulator/clock.ts';
import { SchemaLoadError, validateAgainstXsd } from '../../protocol/duis/index.ts';
import { DEFECTS, type Defect } from '../../emulator/service.ts';
import { EligibilityError, EligibilityTable } from '../../emulator/access/srv-matrix.ts';
import { MeterStore } from '../pools/meter-store.ts';
import { EmulatedPool } from '../pools/emulated.ts';
import { CliExit, EXIT } from '../cli-exit.ts';
import { isoDateTimeArg, readText, timeLimitArg, writableDirectory } from './inputs.ts';

interface ServeArgs {
  port: number;
  host: string;
  stateDir?: string;
  callback?: string;
  zaz1?: string;
  clock?: string;
  frozen: boolean;
  xsd?: string;
  defect: string[];
  deviceTimeout: string;
  maxConcurrent: number;
  requestTimeout: string;
  scAllowedSrvs?: string;
}

const serve: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'run the mock DCC (DCC Boxed paths, admin API under /admin/v1) with hosted emulated meters',
  builder: (y: Argv) =>
    y
      .option('port', { type: 'number', requiresArg: true, default: 8079, describe: 'HTTP port (0 picks a free one)' })
      .option('host', { type: 'string', requiresArg: true, default: '127.0.0.1', describe: 'address to listen on' })
      .option('state-dir', { type: 'string', requiresArg: true, describe: 'keep the DCC store and meter state here (default: in memory)' })
      .option('callback', { type: 'string', requiresArg: true, describe: "send every User's responses and alerts to this URL (DCC Boxed style)" })
      .option('zaz1', { type: 'string', requiresArg: true, describe: 'ZAZ1 keystore JSON: stand in for DCC Boxed with its test PKI and the RTDS devices' })
      .option('clock', { type: 'string', requiresArg: true, describe: "set the DCC's clock (ISO-8601); e.g. 2015-01-01T00:00:00Z reproduces RTDS GSME Pre-Commands" })
      .option('xsd', { type: 'string', requiresArg: true, describe: 'also validate every request against this DUIS XSD (slow: libxml2 in WebAssembly, ~0.3 s per request)' })
      .option('frozen', { type: 'boolean', default: false, describe: 'hold the clock still; it then moves only through POST /admin/v1/clock' })
      .option('defect', { type: 'string', array: true, default: [] as string[], describe: 'seed a defect (negative controls only)' })
      .option('device-timeout', { type: 'string', requiresArg: true, default: '30s', describe: "how long to wait for a device's answer (a duration such as 30s, or milliseconds)" })
      .option('max-concurrent', { type: 'number', requiresArg: true, default: 256, describe: 'DUIS requests in flight at once; beyond it HTTP 503 with Retry-After' })
      .option('request-timeout', { type: 'string', requiresArg: true, default: '30s', describe: 'a request must arrive in full within this long (else 408; a duration such as 30s, or milliseconds)' })
      .option('sc-allowed-srvs', { type: 'string', requiresArg: true, describe: 'SRVs the SoLR Contingency role may send, comma-separated (MP134B BR3; default 1.6 only), e.g. 1.6,2.2' }) as unknown as Argv<ServeArgs>,
  handler: async (args) => {
    for (const d of args.defect) if (!(d in DEFECTS)) throw new CliExit(EXIT.usage, `--defect ${d}: unknown; known: ${Object.keys(DEFECTS).join(', ')}`);
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new CliExit(EXIT.usage, `--port ${args.port}: a TCP port, 0 to 65535`);
    if (!Number.isInteger(args.maxConcurrent) || args.maxConcurrent < 1) throw new CliExit(EXIT.usage, `--max-concurrent ${args.maxConcurrent}: a positive integer`);
    const deviceTimeoutMs = timeLimitArg(args.deviceTimeout, 'device-timeout');
    const requestTimeoutMs = timeLimitArg(args.requestTimeout, 'request-timeout');
    if (args.callback !== undefined && !(URL.canParse(args.callback) && /^https?:$/.test(new URL(args.callback).protocol))) {
      throw new CliExit(EXIT.usage, `--callback ${args.callback}: an http:// or https:// URL`);
    }
    if (args.xsd !== undefined) await usableSchema(args.xsd);
    const scAllowedSrvs = args.scAllowedSrvs === undefined ? undefined : scSrvList(args.scAllowedSrvs);
    const zaz1 = args.zaz1 ? readText(args.zaz1, 'the ZAZ1 keystore') : undefined;
    let start: Date | undefined;
    if (args.clock) {
      start = isoDateTimeArg(args.clock, 'clock');
      const outOfRange = clockRangeProblem(start.getTime());
      if (outOfRange) throw new CliExit(EXIT.usage, `--clock ${args.clock}: ${outOfRange}`);
    }
    const store = args.stateDir ? openMeterStore(writableDirectory(args.stateDir, 'state-dir')) : undefined;
    // Hosted meters start in prepayment mode: the meters a SoLR Contingency party is there to switch. Their clock
    // starts from the DCC's, which the DCC hands over as it provisions them.
    const pool = new EmulatedPool({ ...(store ? { store } : {}), defaultInitial: { paymentMode: 'prepayment' } });
    const dcc = await createDcc({
      stateDir: args.stateDir ?? null,
      devices: pool.port,
      provisioner: pool.provisioner,
      deviceTimeoutMs,
      http: { maxConcurrent: args.maxConcurrent, requestTimeoutMs },
      defects: args.defect as Defect[],
      ...(scAllowedSrvs ? { scAllowedSrvs } : {}),
      ...(zaz1 ? { zaz1 } : {}),
      ...(args.callback ? { callback: args.callback } : {}),
      ...(start ? { start } : {}),
      ...(args.frozen ? { freezeClock: true } : {}),
      ...(args.xsd ? { validateSchema: schemaValidator(args.xsd) } : {}),
    }).catch(async (e: Error) => {
      await pool.close();
      store?.close();
      throw new CliExit(EXIT.infrastructure, `cannot start the DCC${args.stateDir ? ` on the state in ${args.stateDir}` : ''}: ${e.message}`);
    });
    // The meters' clock follows the DCC's, so future-dated commands execute when the DCC's time reaches them. A
    // tick whose store write fails (disk full) is reported and tried again at the next one.
    let failing = false;
    const follow = setInterval(() => {
      try {
        pool.follow(dcc.clock.now());
        failing = false;
      } catch (e) {
        if (!failing) process.stderr.write(`the hosted meters' state could not be stored (retrying): ${(e as Error).message}\n`);
        failing = true;
      }
    }, 250);
    let url: string;
    try {
      url = await dcc.listen(args.port, args.host);
    } catch (e) {
      clearInterval(follow);
      await dcc.close();
      await pool.close();
      store?.close();
      throw new CliExit(EXIT.infrastructure, `cannot listen on ${args.host}:${args.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    // Listening for the signals before saying so: a parent stopping the DCC as soon as it reads the line must not
    // meet the default action (killed mid-write, no clean close).
    const stopped = new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    process.stdout.write(`listening on ${url}\n`);
    if (args.defect.length) process.stdout.write(`seeded defects (negative controls): ${args.defect.join(', ')}\n`);
    await stopped;
    clearInterval(follow);
    await dcc.close();
    await pool.close();
    store?.close();
  },
};

/** --sc-allowed-srvs: SRVs of the eligibility table, else the DCC would refuse to start (or the role send nothing). */
function scSrvList(text: string): string[] {
  const srvs = text.split(',').map((s) => s.trim());
  if (srvs.some((s) => s === '')) throw new CliExit(EXIT.usage, `--sc-allowed-srvs ${JSON.stringify(text)}: a comma-separated list of SRVs, such as 1.6,2.2`);
  try {
    EligibilityTable.load({ scAllowedSrvs: srvs });
  } catch (e) {
    if (e instanceof EligibilityError) throw new CliExit(EXIT.usage, `--sc-allowed-srvs ${text}: ${e.message}`);
    throw e;
  }
  return srvs;
}

function openMeterStore(dir: string): MeterStore {
  const path = join(dir, 'meters.sqlite');
  try {
    return new MeterStore(path);
  } catch (e) {
    throw new CliExit(EXIT.infrastructure, `cannot open the meter store ${path}: ${(e as Error).message}`);
  }
}

/** Compiles the XSD once at start: a file that is no schema would otherwise answer every DUIS request with 500. */
async function usableSchema(xsd: string): Promise<void> {
  readText(xsd, 'the DUIS XSD');
  try {
    await validateAgainstXsd('<probe/>', xsd);
  } catch (e) {
    if (e instanceof SchemaLoadError) throw new CliExit(EXIT.usage, `--xsd ${xsd}: ${e.message}`);
    throw e;
  }
}

/** Validates each request against the DUIS XSD; the answer is the schema's reason, or null when valid. */
function schemaValidator(xsd: string): (xml: string) => Promise<string | null> {
  return async (xml) => {
    const r = await validateAgainstXsd(xml, xsd);
    return r.ok ? null : r.error.message;
  };
}

export const dccCommand: CommandModule = {
  command: 'dcc',
  describe: 'the mock DCC service',
  builder: (y: Argv) => y.command(serve).demandCommand(1, 'name a dcc command: serve'),
  handler: () => {},
};
