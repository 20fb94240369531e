/**
 * YAML with positions: parses a file so that a validation error found later on a value can be reported with its
 * file and line. Uses the yaml library's document model and line counter.
 */
import { readFileSync, statSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

export class ScenarioFileError extends Error {
  override readonly name = 'ScenarioFileError';
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly problem: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${problem}`);
  }
}

export interface YamlSource {
  file: string;
  value: unknown;
  /** The line (1-based) of the node at `path`, or of its nearest existing ancestor. */
  lineOf(path: readonly (string | number)[]): number | null;
}

/** Far above any scenario pack's file: a bound, so a huge file is refused rather than read whole. */
const MAX_FILE_BYTES = 16 * 2 ** 20;

/** The yaml library's bound on alias expansion (its default is 100, which a scenario reusing one step reaches). */
const MAX_ALIAS_COUNT = 10_000;

export function readYamlSource(file: string, text?: string): YamlSource {
  let content: string;
  if (text !== undefined) content = text;
  else {
    let bytes: Buffer;
    try {
      // A FIFO or a device named .yaml would be read for ever.
      const st = statSync(file);
      if (!st.isFile()) throw new ScenarioFileError(file, null, 'is not a regular file');
      if (st.size > MAX_FILE_BYTES) throw new ScenarioFileError(file, null, `is ${st.size} bytes, more than the ${MAX_FILE_BYTES / 2 ** 20} MiB a scenario, world or rig file may be`);
      bytes = readFileSync(file);
    } catch (e) {
      if (e instanceof ScenarioFileError) throw e;
      throw new ScenarioFileError(file, null, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    // Decoding replaces what is not UTF-8 (with U+FFFD): where the text encodes back otherwise is the first such octet.
    content = bytes.toString('utf8');
    const again = Buffer.from(content, 'utf8');
    if (!again.equals(bytes)) {
      let at = 0;
      while (bytes[at] === again[at]) at++;
      throw new ScenarioFileError(file, bytes.subarray(0, at).toString('latin1').split('\n').length, 'not UTF-8 text (save the file as UTF-8)');
    }
  }
  const lineCounter = new LineCounter();
  // Merge keys (<<: *base) reuse a step with changes, as aliases reuse it whole.
  const doc: Document = parseDocument(content, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  // A warning is something the file says that would be dropped (an unknown tag such as !important): refused too.
  const first = doc.errors[0] ?? doc.warnings[0];
  if (first) {
    const line = first.linePos?.[0]?.line ?? lineCounter.linePos(first.pos[0]).line;
    throw new ScenarioFileError(file, line, `not valid YAML: ${first.message.split('\n')[0]}`);
  }
  // YAML 1.1 reads yes/no as booleans, 010 as octal and 1:30 as 90: values would not mean what the docs say.
  if (doc.directives?.yaml.version !== '1.2') {
    throw new ScenarioFileError(file, 1, `%YAML ${doc.directives?.yaml.version} is not read here: these files are YAML 1.2 (drop the directive)`);
  }
  let value: unknown;
  try {
    // Aliases reuse a step or a device freely; the limit is against one that expands exponentially.
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    throw new ScenarioFileError(file, null, `its aliases expand to too much (more than ${MAX_ALIAS_COUNT} times what they name): ${e.message}`);
  }
  return {
    file,
    value,
    lineOf(path) {
      let node: unknown = doc.contents;
      let found: unknown = node;
      for (const key of path) {
        if (isMap(node)) node = node.get(key, true);
        else if (isSeq(node) && typeof key === 'number') node = node.get(key, true);
        else break;
        if (node === undefined) break;
        found = node;
      }
      const range = (found as { range?: [number, number, number] } | null)?.range;
      return range ? lineCounter.linePos(range[0]).line : null;
    },
  };
}
