/**
 * `smets-hil demo`: decodes the DCC reference frames, checks every signature and MAC with the ZAZ1 keys, and
 * rebuilds each Command from its Signed Pre-Command. A quick look at the protocol core on real data.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { encodeGeneralCiphering } from '../../protocol/gbcs/apdu.ts';
import { checkMac, checkSignature } from '../../protocol/gbcs/frame-checks.ts';
import { fromHex } from '../../protocol/gbcs/bytes.ts';
import { decodeFrame, summarizeFrame } from '../../protocol/gbcs/frame.ts';
import { formatMessageCode } from '../../protocol/gbcs/message-codes.ts';
import { wrapCommand } from '../../protocol/gbcs/security.ts';
import { RemotePartyRole } from '../../protocol/smki/roles.ts';
import { CliExit, EXIT } from '../cli-exit.ts';
import { loadKeystore } from './inputs.ts';

export const demoCommand: CommandModule<object, { fixtures: string }> = {
  command: 'demo',
  describe: 'decode and verify the DCC reference frames in the shared fixtures',
  builder: (y: Argv) =>
    y.option('fixtures', {
      type: 'string',
      requiresArg: true,
      // The tests' override (README, Tests) holds here too, so one variable points everything at the fixtures.
      default: process.env.SMETS_HIL_FIXTURES || '../shared/fixtures',
      describe: 'the shared fixtures folder (default: $SMETS_HIL_FIXTURES, else ../shared/fixtures)',
    }) as Argv<{ fixtures: string }>,
  handler: (args) => {
    const dir = resolve(args.fixtures);
    let names: string[];
    try {
      names = readdirSync(join(dir, 'rtds-1.6')).filter((n) => n.endsWith('.HEX')).sort();
    } catch {
      names = [];
    }
    if (names.length === 0) throw new CliExit(EXIT.usage, `no reference frames (*.HEX) under ${dir}/rtds-1.6 (pass --fixtures DIR)`);
    let certs: string[];
    try {
      certs = readdirSync(join(dir, 'keystore')).filter((n) => n.endsWith('.pem')).map((n) => join(dir, 'keystore', n));
    } catch {
      throw new CliExit(EXIT.usage, `no keystore folder ${dir}/keystore (zaz1-keystore.json and the RTDS device certificates; pass --fixtures DIR)`);
    }
    const keystore = loadKeystore(join(dir, 'keystore', 'zaz1-keystore.json'), certs);
    const acbRole = RemotePartyRole.accessControlBroker;
    const acbEntry = keystore.all().find((e) => e.role === acbRole && e.usage === 'keyAgreement' && e.privateKey);
    let failures = 0;
    // A check the keys at hand cannot make is not a pass: each is counted under what was missing for it.
    const unchecked = new Map<string, number>();
    const notChecked = (what: string) => unchecked.set(what, (unchecked.get(what) ?? 0) + 1);
    const rows = names.map((name) => {
      // Read as `gbcs decode` reads hex: whitespace and line breaks allowed, anything else refused with its octet.
      let bytes: Buffer;
      try {
        bytes = fromHex(readFileSync(join(dir, 'rtds-1.6', name), 'utf8'));
      } catch (e) {
        failures++;
        return [name, 'UNREADABLE', (e as NodeJS.ErrnoException).code ?? (e as Error).message, '', '', ''];
      }
      const frame = decodeFrame(bytes);
      if (!frame.ok) {
        failures++;
        return [name, 'DECODE ERROR', frame.error.toString(), '', '', ''];
      }
      const f = frame.value;
      const s = summarizeFrame(f);
      const sig = checkSignature(f, keystore);
      const mac = checkMac(f, keystore);
      // A Command is MACed (and rebuilt) with the ACB's Key Agreement private key and the device's certificate.
      const device = keystore.find(f.apdu.recipient, 'keyAgreement', { gbcs: true })[0];
      const commandKeys = !acbEntry ? 'no Key Agreement private key of the Access Control Broker' : `no Key Agreement certificate for ${f.apdu.recipient}`;
      if (sig === 'no-key') notChecked(`signature(s): no Digital Signing certificate for ${f.apdu.originator}`);
      if (mac === 'no-key') notChecked(`MAC(s): ${f.apdu.cra === 'command' ? commandKeys : `no Key Agreement keys for ${f.apdu.originator} and ${f.apdu.recipient}`}`);
      let rebuilt = '';
      if (f.ciphering) {
        if (!acbEntry || !device) {
          rebuilt = 'NOT REBUILT';
          notChecked(`command(s) not rebuilt: ${commandKeys}`);
        } else {
          const acb = keystore.signingKey(acbEntry.eui, 'keyAgreement', acbRole);
          const same = encodeGeneralCiphering(wrapCommand(f.apdu, acb.privateKey!, device.publicKey)).equals(encodeGeneralCiphering(f.ciphering));
          rebuilt = same ? 'rebuilt' : 'REBUILD DIFFERS';
          if (!same) failures++;
        }
      }
      if (sig === 'invalid' || mac === 'invalid') failures++;
      // Content that contradicts its message code (a "Credit" use case carrying prepayment) is the very thing to catch.
      if (s.contentError) failures++;
      const content = s.contentError ? `CONTENT ERROR ${s.contentError}` : `${s.useCase ?? ''} ${s.paymentMode ?? ''} ${s.execution ?? ''}`;
      return [name.replace(/_GBCS\.HEX$/, ''), f.kind, `${formatMessageCode(f.apdu.messageCode)} ${content}`.trim(), `sig ${sig}`, `mac ${mac}`, rebuilt];
    });
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
    const missing = [...unchecked.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(`\n${rows.length} reference frames, ${failures} problem(s)${missing ? `, ${missing} check(s) not made` : ''}\n`);
    const why = missing ? `${missing} check(s) not made: their keys are not in ${dir}/keystore\n${[...unchecked].sort().map(([what, n]) => `  ${n} ${what}`).join('\n')}` : '';
    // A frame that fails its check is a failure (exit 1); one the fixtures lack the keys to check means the
    // fixtures given are incomplete, as a missing keystore is (exit 2).
    if (failures > 0) throw new CliExit(EXIT.failed, why);
    if (missing > 0) throw new CliExit(EXIT.usage, why);
  },
};
