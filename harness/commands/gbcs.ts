/**
 * `smets-hil gbcs ...`: inspect and build GBCS frames.
 *   decode <HEX>       one JSON object describing the frame, with signature and MAC checks
 *   recording <FILE>   one such object per frame of a rig's frame recording (GBCS or S1SP)
 *   command <HEX>      the ACB's step: wrap a Signed Pre-Command into the Command with its MAC
 *   precommand --from  the DCC's transform of a DUIS SRV 1.6 request into the Pre-Command
 */
import type { KeyObject } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { loadRig } from '../../devices/rig/inventory.ts';
import { parseRecording, type RecordedFrame, RecordingError } from '../../devices/rig/recording.ts';
import { parseRequest } from '../../protocol/duis/index.ts';
import { encodeGeneralCiphering, encodeGeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { HexError, toHex } from '../../protocol/gbcs/bytes.ts';
import { decodeDlmsDateTime, fromZigbeeUtcTime, zigbeeUtcTime } from '../../protocol/gbcs/datetime.ts';
import { checkMac, checkSignature } from '../../protocol/gbcs/frame-checks.ts';
import { decodeFrame, type Frame, summarizeFrame } from '../../protocol/gbcs/frame.ts';
import { formatMessageCode } from '../../protocol/gbcs/message-codes.ts';
import { wrapCommand } from '../../protocol/gbcs/security.ts';
import { type MeterVariant } from '../../protocol/gbcs/usecases/payment-mode.ts';
import { preCommandForRequest, TransformError } from '../../protocol/transform/payment-mode.ts';
import { checkReply, decodeS1sp, type DecodedS1sp, peekS1spHeader, verifyInstruction } from '../../protocol/s1sp/frame.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import type { Keystore } from '../../protocol/smki/keystore.ts';
import { RemotePartyRole } from '../../protocol/smki/roles.ts';
import { CliExit, EXIT } from '../cli-exit.ts';
import { rigS1spKey } from '../pools/rig.ts';
import { isoDateTimeArg, loadKeystore, readHexArgument, readText } from './inputs.ts';

/** The DCC reference data's clock; the GSME Issuer Event ID is taken from the transforming DCC's time. */
const RTDS_CLOCK = '2015-01-01T00:00:00Z';

/**
 * The rig `--rig` names: its name, or its file (whose `name:` is read). A file path taken for a name would
 * derive another S1SP key, and every instruction would look forged.
 */
function rigName(value: string): string {
  if (existsSync(value) && statSync(value).isFile()) {
    try {
      return loadRig(value).name;
    } catch (e) {
      throw new CliExit(EXIT.usage, `--rig ${value}: ${(e as Error).message}`);
    }
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(value) || /\.ya?ml$/.test(value)) throw new CliExit(EXIT.usage, `--rig ${value}: neither a rig's name nor a rig file`);
  return value;
}

function decodeOrExit(hex: string) {
  let bytes: Buffer;
  try {
    bytes = readHexArgument(hex);
  } catch (e) {
    if (e instanceof CliExit) throw e;
    throw new CliExit(EXIT.failed, JSON.stringify({ error: { code: 'bad-hex', message: (e as Error).message, offset: e instanceof HexError ? e.offset : 0 } }));
  }
  const d = decodeFrame(bytes);
  if (!d.ok) throw new CliExit(EXIT.failed, JSON.stringify({ error: d.error.toJSON() }));
  return d.value;
}

const decode: CommandModule<object, { hex: string; keystore?: string; cert: string[]; acb?: string }> = {
  command: 'decode <hex>',
  describe: 'decode a GBCS frame (hex, a file of hex, or - for stdin) and check its signature and MAC',
  builder: (y: Argv) =>
    y
      .positional('hex', { type: 'string', demandOption: true })
      .option('keystore', { type: 'string', requiresArg: true, describe: 'ZAZ1-format keystore JSON' })
      .option('cert', { type: 'string', array: true, requiresArg: true, default: [] as string[], describe: 'PEM certificate (repeatable), e.g. device DS/KA' })
      .option('acb', { type: 'string', requiresArg: true, describe: 'EUI of the ACB whose KA key made the MAC' }) as Argv<{ hex: string; keystore?: string; cert: string[]; acb?: string }>,
  handler: (args) => {
    const frame = decodeOrExit(args.hex);
    const keystore = loadKeystore(args.keystore, args.cert);
    const acb = args.acb === undefined ? undefined : parseEuiOption(args.acb, '--acb');
    process.stdout.write(JSON.stringify(describeFrame(frame, keystore, acb)) + '\n');
  },
};

/** What `decode` prints for a frame: its header, use case, payment mode and the signature and MAC checks. */
function describeFrame(frame: Frame, keystore: Keystore, acb: Eui | undefined): Record<string, unknown> {
  const { apdu } = frame;
  const summary = summarizeFrame(frame);
  const out: Record<string, unknown> = {
    kind: frame.kind,
    cra: apdu.cra,
    counter: apdu.counter.toString(),
    originator: apdu.originator,
    recipient: apdu.recipient,
    messageCode: formatMessageCode(apdu.messageCode),
    useCase: summary.useCase,
    paymentMode: summary.paymentMode,
    execution: summary.execution,
    signature: checkSignature(frame, keystore),
    mac: checkMac(frame, keystore, acb),
    dateTime: apdu.dateTime ? safeDate(apdu.dateTime) : null,
  };
  if (summary.alert) out.alert = { ...summary.alert, messageCode: formatMessageCode(summary.alert.messageCode), counter: summary.alert.counter.toString() };
  if (summary.contentError) out.contentError = summary.contentError;
  return out;
}

/** An SMETS1 Service Provider frame (the serial protocol of SMETS1 rigs): its header and what it carries. */
function describeS1sp(d: DecodedS1sp, s1spKey: KeyObject | undefined): Record<string, unknown> {
  const f = d.frame;
  const out: Record<string, unknown> = { protocol: 's1sp', type: f.type, id: f.id.toString(), from: f.from, to: f.to, time: fromZigbeeUtcTime(f.time).toISOString() };
  if (f.type === 'instruction') {
    const signature = s1spKey ? (verifyInstruction(d, s1spKey) ? 'valid' : 'invalid') : 'no-key';
    return Object.assign(out, { reference: f.reference.toString(), operation: f.operation, signature });
  }
  if (f.type === 'response') Object.assign(out, { status: f.status, ...(f.read ? { read: f.read } : {}) });
  else Object.assign(out, { code: formatMessageCode(f.code), ...(f.instructionId === undefined ? {} : { instructionId: f.instructionId.toString(), operation: f.operation ?? null }) });
  out.check = checkReply(d) ? 'valid' : 'invalid';
  return out;
}

/** One recorded frame, decoded as GBCS or S1SP; a frame that is neither says why. */
function describeRecorded(bytes: Buffer, keys: { keystore: Keystore; acb?: Eui; s1sp?: KeyObject }): Record<string, unknown> {
  if (peekS1spHeader(bytes)) {
    const d = decodeS1sp(bytes);
    return d.ok ? describeS1sp(d.value, keys.s1sp) : { protocol: 's1sp', error: d.error.toJSON() };
  }
  const d = decodeFrame(bytes);
  return d.ok ? { protocol: 'gbcs', ...describeFrame(d.value, keys.keystore, keys.acb) } : { protocol: 'gbcs', error: d.error.toJSON() };
}

const recording: CommandModule<object, { file: string; device?: string; keystore?: string; cert: string[]; acb?: string; rig?: string }> = {
  command: 'recording <file>',
  describe: "decode a rig's frame recording (record: DIR in the rig file): one JSON line per recorded frame",
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'a recording, DIR/RIG-TIMESTAMP.jsonl' })
      .option('device', { type: 'string', requiresArg: true, describe: "only this device's frames (its id in the rig file)" })
      .option('keystore', { type: 'string', requiresArg: true, describe: 'ZAZ1-format keystore JSON, to check GBCS signatures and MACs' })
      .option('cert', { type: 'string', array: true, requiresArg: true, default: [] as string[], describe: 'PEM certificate (repeatable), e.g. device DS/KA' })
      .option('acb', { type: 'string', requiresArg: true, describe: 'EUI of the ACB whose KA key made the MACs' })
      .option('rig', { type: 'string', requiresArg: true, describe: "the rig (its name, or its file), to check S1SP instruction signatures" }) as Argv<{
      file: string;
      device?: string;
      keystore?: string;
      cert: string[];
      acb?: string;
      rig?: string;
    }>,
  handler: (args) => {
    let frames: RecordedFrame[];
    try {
      frames = parseRecording(readText(args.file, 'recording'), args.file, (line) =>
        process.stderr.write(`${args.file}:${line}: the last line is cut short (the recorder stopped mid-write); left out\n`),
      );
    } catch (e) {
      if (e instanceof RecordingError) throw new CliExit(EXIT.usage, e.message);
      throw e;
    }
    const keys = {
      keystore: loadKeystore(args.keystore, args.cert),
      ...(args.acb === undefined ? {} : { acb: parseEuiOption(args.acb, '--acb') }),
      ...(args.rig === undefined ? {} : { s1sp: rigS1spKey(rigName(args.rig)).publicKey }),
    };
    const lines: string[] = [];
    frames.forEach((f, index) => {
      if (args.device !== undefined && f.device !== args.device) return;
      const where = { index, at: f.at, device: f.device, dir: f.dir };
      const bytes = Buffer.from(f.hex, 'hex');
      const what = f.kind === 'control' ? { kind: 'control', hex: f.hex.toUpperCase() } : describeRecorded(bytes, keys);
      // An S1SP operation is printed as decoded; any bigint in it (none today) as a decimal string.
      lines.push(JSON.stringify({ ...where, ...what }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    });
    if (args.device !== undefined && lines.length === 0) {
      const devices = [...new Set(frames.map((f) => f.device))];
      throw new CliExit(EXIT.usage, `${args.file}: no frames of device ${args.device} (the recording has ${devices.join(', ') || 'no frames'})`);
    }
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  },
};

function safeDate(b: Uint8Array): string | null {
  try {
    return decodeDlmsDateTime(b, 0).toISOString();
  } catch {
    return null;
  }
}

function parseEuiOption(text: string, option: string) {
  try {
    return parseEui(text);
  } catch (e) {
    throw new CliExit(EXIT.usage, `${option}: ${(e as Error).message}`);
  }
}

const command: CommandModule<object, { hex: string; keystore: string; acb: string; cert: string[] }> = {
  command: 'command <hex>',
  describe: "wrap a Signed Pre-Command into the Command the ACB sends (prints upper-case hex)",
  builder: (y: Argv) =>
    y
      .positional('hex', { type: 'string', demandOption: true })
      .option('keystore', { type: 'string', requiresArg: true, demandOption: true, describe: 'keystore holding the ACB KA private key' })
      .option('acb', { type: 'string', requiresArg: true, demandOption: true, describe: 'EUI of the ACB' })
      .option('cert', { type: 'string', array: true, requiresArg: true, demandOption: true, describe: "the device's KA certificate (PEM)" }) as Argv<{
      hex: string;
      keystore: string;
      acb: string;
      cert: string[];
    }>,
  handler: (args) => {
    const frame = decodeOrExit(args.hex);
    if (frame.kind !== 'signed-pre-command') throw new CliExit(EXIT.failed, `expected a Signed Pre-Command, got a ${frame.kind}`);
    const keystore = loadKeystore(args.keystore, args.cert);
    const acb = parseEuiOption(args.acb, '--acb');
    let acbKey;
    try {
      acbKey = keystore.signingKey(acb, 'keyAgreement', RemotePartyRole.accessControlBroker);
    } catch (e) {
      throw new CliExit(EXIT.usage, (e as Error).message);
    }
    const device = keystore.find(frame.apdu.recipient, 'keyAgreement', { gbcs: true })[0];
    if (!device) throw new CliExit(EXIT.usage, `no KA certificate for the recipient ${frame.apdu.recipient}: pass it with --cert`);
    process.stdout.write(toHex(encodeGeneralCiphering(wrapCommand(frame.apdu, acbKey.privateKey!, device.publicKey))) + '\n');
  },
};

const precommand: CommandModule<object, { from: string; device: MeterVariant; at: string }> = {
  command: 'precommand',
  describe: 'transform a DUIS SRV 1.6 request into its GBCS Pre-Command (prints upper-case hex)',
  builder: (y: Argv) =>
    y
      .option('from', { type: 'string', requiresArg: true, demandOption: true, describe: 'DUIS request XML file, or - for stdin' })
      .option('device', { type: 'string', requiresArg: true, choices: ['esme', 'esme-twin', 'gsme'] as const, demandOption: true, describe: 'the target device' })
      .option('at', { type: 'string', requiresArg: true, default: RTDS_CLOCK, describe: "the DCC's clock (sets the GSME Issuer Event ID)" }) as Argv<{
      from: string;
      device: MeterVariant;
      at: string;
    }>,
  handler: (args) => {
    const parsed = parseRequest(readText(args.from, 'DUIS request'));
    if (!parsed.ok) throw new CliExit(EXIT.failed, `${args.from}: ${parsed.error.message}`);
    // With its zone, or the Pre-Command (its GSME Issuer Event ID) would depend on the machine's time zone.
    const at = isoDateTimeArg(args.at, 'at');
    const atProblem = args.device === 'gsme' ? issuerEventIdProblem(at) : null;
    if (atProblem) throw new CliExit(EXIT.usage, `--at ${args.at}: ${atProblem}`);
    try {
      process.stdout.write(toHex(encodeGeneralSigning(preCommandForRequest(parsed.value, args.device, at))) + '\n');
    } catch (e) {
      if (e instanceof TransformError || e instanceof RangeError) throw new CliExit(EXIT.failed, `${args.from}: ${e.message}`);
      throw e;
    }
  },
};

/** Why `at` cannot be a GSME's Issuer Event ID (ZigBee UTCTime), or null. */
function issuerEventIdProblem(at: Date): string | null {
  try {
    zigbeeUtcTime(at);
    return null;
  } catch (e) {
    return `a GSME's Issuer Event ID is the DCC's clock in ZigBee UTCTime, and ${(e as Error).message}`;
  }
}

export const gbcsCommand: CommandModule = {
  command: 'gbcs',
  describe: 'decode, wrap and build GBCS frames',
  builder: (y: Argv) => y.command(decode).command(recording).command(command).command(precommand).demandCommand(1, 'name a gbcs command: decode, recording, command or precommand'),
  handler: () => {},
};
