/**
 * A benchmark's command line: `--name value` or `--name=value`, each at most once, and flags. A mistyped or
 * repeated option, or a value that is not one, ends the bench with a usage error (exit 2) before it measures
 * anything, rather than running with a default the user did not ask for.
 */
import { parseArgs } from 'node:util';

export class BenchOptions<Name extends string, Flag extends string = never> {
  private readonly values: Record<string, string[] | boolean | undefined>;
  readonly positionals: string[];

  constructor(
    private readonly usage: string,
    names: readonly Name[],
    flags: readonly Flag[] = [],
    { positionals = 0, argv = process.argv.slice(2) }: { positionals?: number; argv?: string[] } = {},
  ) {
    const options: Record<string, { type: 'string'; multiple: true } | { type: 'boolean' }> = {};
    for (const n of names) options[n] = { type: 'string', multiple: true };
    for (const f of flags) options[f] = { type: 'boolean' };
    try {
      // The usage lines show each option as `[-- --name value]`, as npm wants them, and typed out that way a bare
      // `--` comes between options: it separates nothing here.
      const parsed = parseArgs({ args: argv.filter((a) => a !== '--'), options, strict: true, allowPositionals: positionals > 0 });
      this.values = parsed.values as Record<string, string[] | boolean | undefined>;
      this.positionals = parsed.positionals;
    } catch (e) {
      this.refuse((e as Error).message);
    }
    if (this.positionals.length > positionals) this.refuse(`unexpected argument ${this.positionals[positionals]}`);
  }

  /** Ends the bench with a usage error. */
  refuse(message: string): never {
    process.stderr.write(`${message}\n${this.usage}\n`);
    process.exit(2);
  }

  flag(name: Flag): boolean {
    return this.values[name] === true;
  }

  /** The option's text (trimmed), or the fallback when it is not given. */
  text(name: Name, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  /** The option's text (trimmed), or undefined when it is not given. */
  optional(name: Name): string | undefined {
    const given = this.values[name] as string[] | undefined;
    if (!given) return undefined;
    if (given.length > 1) this.refuse(`--${name} is given more than once`);
    const text = given[0]!.trim();
    if (text === '') this.refuse(`--${name} needs a value`);
    return text;
  }

  /** One of the choices. */
  choice<C extends string>(name: Name, choices: readonly C[], fallback: C): C {
    const text = this.text(name, fallback);
    if (!(choices as readonly string[]).includes(text)) this.refuse(`--${name} ${text}: one of ${choices.join(', ')}`);
    return text as C;
  }

  /** A whole number of at least `min`. */
  integer(name: Name, fallback: number, min = 1): number {
    return this.integerFrom(`--${name}`, this.text(name, String(fallback)), min);
  }

  /** A whole number of at least `min` from any text (a positional argument, say), named for the error. */
  integerFrom(label: string, text: string, min = 1): number {
    const v = Number(text);
    if (!Number.isSafeInteger(v) || v < min) this.refuse(`${label} ${text}: a whole number of at least ${min}`);
    return v;
  }

  /** A number of seconds above 0. */
  seconds(name: Name, fallback: number): number {
    const text = this.text(name, String(fallback));
    const v = Number(text);
    if (!(Number.isFinite(v) && v > 0)) this.refuse(`--${name} ${text}: a number of seconds above 0`);
    return v;
  }
}
