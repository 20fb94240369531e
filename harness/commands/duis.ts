/**
 * `smets-hil duis ...`: sign, verify and validate DUIS XML from the command line.
 *
 *   duis sign <FILE> --keystore FILE            prints FILE signed by the User its RequestID names
 *   duis verify <FILE> --keystore FILE          exit 0 when the signature is valid, 1 with the reason
 *   duis validate [--xsd FILE] <FILE>...        "OK <file>" / "INVALID <file>: <reason>" per file; exit 1 if any
 *                                               is invalid (built-in structural validation without --xsd)
 *
 * libxml2 loads inside the validate handler, so other commands do not pay for it.
 */
import type { Argv, CommandModule } from 'yargs';
import { CliExit, EXIT } from '../cli-exit.ts';
import { isStdin, loadKeystore, readInput } from './inputs.ts';

interface KeyedArgs {
  file: string;
  keystore: string;
}

const withFileAndKeystore = (y: Argv) =>
  y
    .positional('file', { type: 'string', demandOption: true, describe: 'DUIS XML file' })
    .option('keystore', { type: 'string', requiresArg: true, demandOption: true, describe: 'ZAZ1-format keystore JSON' });

const sign: CommandModule<object, KeyedArgs> = {
  command: 'sign <file>',
  describe: 'print the request signed with the XML Signing key of the User named in its RequestID',
  builder: (y) => withFileAndKeystore(y) as unknown as Argv<KeyedArgs>,
  handler: async (argv) => {
    const { signRequestXml } = await import('../../protocol/duis/index.ts');
    const xml = readInput(argv.file, 'DUIS file');
    const keystore = loadKeystore(argv.keystore);
    const signed = signRequestXml(xml, keystore);
    if (!signed.ok) throw new CliExit(EXIT.failed, `${argv.file}: ${signed.error.toString()}`);
    process.stdout.write(signed.value + '\n');
  },
};

const verify: CommandModule<object, KeyedArgs> = {
  command: 'verify <file>',
  describe: 'check the XML signature of a request or response; exit 0 when valid, 1 with the reason',
  builder: (y) => withFileAndKeystore(y) as unknown as Argv<KeyedArgs>,
  handler: async (argv) => {
    const { verifyMessage } = await import('../../protocol/duis/index.ts');
    const xml = readInput(argv.file, 'DUIS file');
    const keystore = loadKeystore(argv.keystore);
    const verified = verifyMessage(xml, keystore);
    if (!verified.ok) throw new CliExit(EXIT.failed, `INVALID ${argv.file}: ${verified.error.toString()}`);
    const v = verified.value;
    process.stdout.write(`OK ${argv.file}: ${v.kind} signed by ${v.signer.name} (${v.identity.issuer} serial ${v.identity.serial})\n`);
  },
};

interface ValidateArgs {
  files: string[];
  xsd?: string;
}

const validate: CommandModule<object, ValidateArgs> = {
  command: 'validate <files..>',
  describe: 'validate DUIS XML files against the DUIS XSD (or structurally, without --xsd)',
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'DUIS XML files' })
      .option('xsd', { type: 'string', requiresArg: true, describe: 'DUIS Schema XSD (its imports are read from beside it)' }) as unknown as Argv<ValidateArgs>,
  handler: async (argv) => {
    // Read once, standard input is empty the second time: that would be reported as an invalid document.
    if (argv.files.filter(isStdin).length > 1) throw new CliExit(EXIT.usage, 'standard input (-) is given more than once: it can be read only once');
    const duis = await import('../../protocol/duis/index.ts');
    // A file that cannot be read is the caller's to fix (exit 2), as for every other tool, not an invalid document.
    const inputs = argv.files.map((name) => ({ name, xml: readInput(name, 'DUIS file') }));
    let results: Map<string, string | null>;
    if (argv.xsd !== undefined) {
      let checked: Awaited<ReturnType<typeof duis.validateManyAgainstXsd>>;
      try {
        checked = await duis.validateManyAgainstXsd(inputs, argv.xsd);
      } catch (e) {
        if (e instanceof duis.SchemaLoadError) throw new CliExit(EXIT.usage, e.message);
        throw e;
      }
      results = new Map(
        inputs.map((r, i) => {
          const c = checked[i]!;
          return [r.name, c.ok ? null : c.error.toString()];
        }),
      );
    } else {
      results = new Map(
        inputs.map((r) => {
          const c = duis.validateStructure(r.xml);
          return [r.name, c.ok ? null : c.error.toString()];
        }),
      );
    }
    let invalid = 0;
    for (const input of inputs) {
      const reason = results.get(input.name);
      if (reason) {
        invalid++;
        process.stdout.write(`INVALID ${input.name}: ${reason}\n`);
      } else {
        process.stdout.write(`OK ${input.name}\n`);
      }
    }
    if (invalid > 0) throw new CliExit(EXIT.failed, '');
  },
};

export const duisCommand: CommandModule = {
  command: 'duis',
  describe: 'DUIS XML: sign, verify and validate Service Requests and Responses',
  builder: (y) => y.command(sign).command(verify).command(validate).demandCommand(1, 'name a duis command: sign, verify or validate'),
  handler: () => {},
};
