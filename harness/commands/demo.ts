/**
 * `smets-hil demo`: decodes the DCC reference frames, checks every signature and MAC with the ZAZ1 keys, and
 * rebuilds each Command from its Signed Pre-Command. A quick look at the protocol core on real data.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { encodeGeneralCiphering } from '../../protocol/gbcs/apdu.ts';
import { checkMac, checkSignature } from '../../protocol/gbcs/frame-checks.ts';
import { decodeFrame, summarizeFrame } from '../../protocol/gbcs/frame.ts';
import { formatMessageCode } from '../../protocol/gbcs/message-codes.ts';
import { wrapCommand } from '../../protocol/gbcs/security.ts';
import { RemotePartyRole } from '../../protocol/smki/roles.ts';
import { CliExit, EXIT } from '../cli-exit.ts';
import { loadKeystore } from './inputs.ts';

export const demoCommand: CommandModule<object, { fixtures: string }> = {
  command: 'demo',
  describe: 'decode and verify the DCC reference frames in the shared fixtures',
  builder: (y: Argv) => y.option('fixtures', { type: 'string', requiresArg: true, default: '../shared/fixtures', describe: 'the shared fixtures folder' }) as Argv<{ fixtures: string }>,
  handler: (args) => {
    const dir = resolve(args.fixtures);
    let names: string[];
    try {
      names = readdirSync(join(dir, 'rtds-1.6')).filter((n) => n.endsWith('.HEX')).sort();
    } catch {
      throw new CliExit(EXIT.usage, `no reference frames under ${dir}/rtds-1.6 (pass --fixtures DIR)`);
    }
    const certs = readdirSync(join(dir, 'keystore')).filter((n) => n.endsWith('.pem')).map((n) => join(dir, 'keystore', n));
    const keystore = loadKeystore(join(dir, 'keystore', 'zaz1-keystore.json'), certs);
    let failures = 0;
    const rows = names.map((name) => {
      const frame = decodeFrame(Buffer.from(readFileSync(join(dir, 'rtds-1.6', name), 'utf8').trim(), 'hex'));
      if (!frame.ok) {
        failures++;
        return [name, 'DECODE ERROR', frame.error.toString(), '', '', ''];
      }
      const f = frame.value;
      const s = summarizeFrame(f);
      const sig = checkSignature(f, keystore);
      const mac = checkMac(f, keystore);
      let rebuilt = '';
      if (f.ciphering) {
        const acb = keystore.signingKey(keystore.all().find((e) => e.role === RemotePartyRole.accessControlBroker)!.eui, 'keyAgreement', RemotePartyRole.accessControlBroker);
        const device = keystore.find(f.apdu.recipient, 'keyAgreement')[0]!;
        const same = encodeGeneralCiphering(wrapCommand(f.apdu, acb.privateKey!, device.publicKey)).equals(encodeGeneralCiphering(f.ciphering));
        rebuilt = same ? 'rebuilt' : 'REBUILD DIFFERS';
        if (!same) failures++;
      }
      if (sig === 'invalid' || mac === 'invalid') failures++;
      return [name.replace(/_GBCS\.HEX$/, ''), f.kind, `${formatMessageCode(f.apdu.messageCode)} ${s.useCase ?? ''} ${s.paymentMode ?? ''} ${s.execution ?? ''}`.trim(), `sig ${sig}`, `mac ${mac}`, rebuilt];
    });
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
    process.stdout.write(`\n${rows.length} reference frames, ${failures} problem(s)\n`);
    if (failures > 0) throw new CliExit(EXIT.failed, '');
  },
};
