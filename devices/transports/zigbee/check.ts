/**
 * A ZigBee health check for one meter on one coordinator, real or fake: start the HAN, find the meter (letting
 * it join when it is not there yet), open a GBCS tunnel, read its payment mode from the Prepayment cluster and,
 * when given one, send a GBCS command and time its response. The opt-in real-meter test and rig health checks
 * call it; it also runs from the command line:
 *
 *   npx tsx devices/transports/zigbee/check.ts --port /dev/ttyACM0 --meter 00DB1234567890A0 \
 *     [--adapter zstack] [--data DIR] [--install-code 'EUI64|CODE'] [--join-seconds 120] [--command-hex DF...]
 *
 * Every option can come from the environment instead: SMETS_HIL_ZIGBEE_PORT, _METER, _ADAPTER, _DATA,
 * _INSTALL_CODE, _JOIN_SECONDS, _COMMAND_HEX.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Eui, parseEui } from '../../../protocol/smki/eui.ts';
import { Transport } from '../transport.ts';
import { ZigbeeLink } from './link.ts';
import { ZigbeeNetwork, type ZigbeeNetworkOptions } from './network.ts';
import { type PaymentMode } from './prepayment.ts';

export interface ZigbeeCheckOptions extends ZigbeeNetworkOptions {
  meter: Eui | string;
  /** Joining and the tunnel request; default 120 s (a real meter may need to be told to join). */
  joinTimeoutMs?: number;
  /** A GBCS command for the meter (it must accept it: its trust anchors decide). */
  command?: Uint8Array;
  responseTimeoutMs?: number;
}

export interface ZigbeeCheckReport {
  port: string;
  meter: Eui;
  startResult: string;
  startMs: number;
  /** Finding the meter (and its joining, if it had to) plus the tunnel. */
  openMs: number;
  tunnelId: number | null;
  paymentMode: PaymentMode | null;
  /** Why the payment mode could not be read (a meter may not serve the cluster to this hub). */
  paymentModeError?: string;
  command?: { octets: number; replyOctets?: number; ms?: number; error?: string };
}

export async function checkZigbeeMeter(o: ZigbeeCheckOptions): Promise<ZigbeeCheckReport> {
  const meter = parseEui(o.meter);
  const net = await ZigbeeNetwork.start(o);
  const link = new ZigbeeLink({ device: meter, network: net, openTimeoutMs: o.joinTimeoutMs ?? 120_000 });
  try {
    const t0 = performance.now();
    await link.open();
    const report: ZigbeeCheckReport = { port: o.port, meter, startResult: net.startResult, startMs: Math.round(net.startMs), openMs: Math.round(performance.now() - t0), tunnelId: link.tunnelId, paymentMode: null };
    try {
      report.paymentMode = await link.readPaymentMode();
    } catch (e) {
      report.paymentModeError = (e as Error).message;
    }
    if (o.command) {
      const transport = new Transport(link, { timeouts: { responseMs: o.responseTimeoutMs ?? 30_000 } });
      await transport.open();
      const t1 = performance.now();
      try {
        const reply = await transport.request(o.command);
        report.command = { octets: o.command.length, replyOctets: reply.frame.length, ms: Math.round(performance.now() - t1) };
      } catch (e) {
        report.command = { octets: o.command.length, error: (e as Error).message };
      }
    }
    return report;
  } finally {
    await link.close().catch(() => undefined);
    await net.stop();
  }
}

/** Options from the command line, falling back to SMETS_HIL_ZIGBEE_* variables; null when no port is named. */
export function checkOptionsFrom(argv: string[], env: NodeJS.ProcessEnv): ZigbeeCheckOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      meter: { type: 'string' },
      adapter: { type: 'string' },
      data: { type: 'string' },
      'install-code': { type: 'string', multiple: true },
      'join-seconds': { type: 'string' },
      'command-hex': { type: 'string' },
    },
  });
  const port = values.port ?? env.SMETS_HIL_ZIGBEE_PORT;
  if (!port) return null;
  const meter = values.meter ?? env.SMETS_HIL_ZIGBEE_METER;
  if (!meter) throw new Error('name the meter: --meter EUI or SMETS_HIL_ZIGBEE_METER');
  const adapter = (values.adapter ?? env.SMETS_HIL_ZIGBEE_ADAPTER ?? 'zstack') as NonNullable<ZigbeeNetworkOptions['adapter']>;
  const codes = values['install-code'] ?? (env.SMETS_HIL_ZIGBEE_INSTALL_CODE ? [env.SMETS_HIL_ZIGBEE_INSTALL_CODE] : []);
  const dataDir = values.data ?? env.SMETS_HIL_ZIGBEE_DATA;
  const joinText = values['join-seconds'] ?? env.SMETS_HIL_ZIGBEE_JOIN_SECONDS ?? '120';
  const joinSeconds = Number(joinText);
  if (!Number.isFinite(joinSeconds) || joinSeconds <= 0) throw new Error(`--join-seconds (SMETS_HIL_ZIGBEE_JOIN_SECONDS) is a positive number of seconds, not '${joinText}'`);
  const hex = values['command-hex'] ?? env.SMETS_HIL_ZIGBEE_COMMAND_HEX;
  return {
    port,
    meter,
    adapter,
    installCodes: codes,
    joinTimeoutMs: joinSeconds * 1000,
    ...(dataDir ? { dataDir } : {}),
    ...(hex ? { command: Buffer.from(hex.replace(/\s+/g, ''), 'hex') } : {}),
  };
}

async function main(): Promise<void> {
  const o = checkOptionsFrom(process.argv.slice(2), process.env);
  if (!o) {
    console.error('NOT RUN: no coordinator named (--port PATH or SMETS_HIL_ZIGBEE_PORT)');
    process.exitCode = 2;
    return;
  }
  o.log = (level, m) => {
    if (level !== 'debug') console.error(`[${level}] ${m}`);
  };
  const report = await checkZigbeeMeter(o);
  console.log(JSON.stringify(report, null, 2));
  // Joined, but the command was not answered: the check failed.
  if (report.command?.error) {
    console.error(`FAILED: the command was not answered: ${report.command.error}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(`FAILED: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
