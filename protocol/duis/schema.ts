/**
 * Validation against the DUIS XSD with libxml2 (xmllint compiled to WebAssembly, run in a worker thread).
 *
 * The schema files are fed from memory, never fetched: imports and includes are resolved relative to the XSD
 * given and renamed (libxml2 cannot resolve "MMC Schema V5.4.xsd", the space), DOCTYPEs are removed (the
 * xmldsig schema's points at a W3C URL) after substituting the internal entities they declare, and a location
 * that is a URL is refused.
 *
 * One deliberate change to the schema: ds:X509SerialNumber is xs:integer, and libxml2 2.9 (Debian 12's
 * xmllint) refuses integers of more than 24 digits, so a really signed request (ZAZ1 and SMKI serials have
 * 38-39 digits) fails there. The WebAssembly build used here (libxml2 2.13) accepts them, but the outcome must
 * not depend on the libxml2 underneath: the in-memory copy types the element as a string restricted to
 * xs:integer's lexical space, [+-]?[0-9]+, which accepts exactly the documents a validator without the limit
 * accepts (as the DCC Boxed Java validator does).
 *
 * Instances are first read by the hardened parser, so a DTD, an entity or an oversized document is refused
 * with our reason before libxml2 sees it.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Checked, DuisError, DuisFailure } from './errors.ts';
import { parseXmlOrThrow, type XmlLimits } from './xml-parser.ts';

interface InMemoryFile {
  readonly fileName: string;
  readonly contents: string;
}

interface SchemaBundle {
  main: InMemoryFile;
  imports: InMemoryFile[];
}

export class SchemaLoadError extends Error {
  override readonly name = 'SchemaLoadError';
}

const bundles = new Map<string, Promise<SchemaBundle>>();

/** Reads an XSD and everything it imports, ready for libxml2; cached per absolute path. */
export function loadSchema(xsdPath: string): Promise<SchemaBundle> {
  const key = resolve(xsdPath);
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = readBundle(key);
    bundles.set(key, bundle);
    bundle.catch(() => bundles.delete(key));
  }
  return bundle;
}

async function readBundle(mainPath: string): Promise<SchemaBundle> {
  const names = new Map<string, string>();
  const files: InMemoryFile[] = [];
  const visit = async (path: string): Promise<string> => {
    const known = names.get(path);
    if (known) return known;
    const fileName = `schema-${names.size}.xsd`;
    names.set(path, fileName);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new SchemaLoadError(`cannot read schema ${path}: ${(e as Error).message}`);
    }
    text = withoutDoctype(text);
    const locations = [...text.matchAll(SCHEMA_REFERENCE)];
    const replacements = new Map<string, string>();
    for (const m of locations) {
      const location = m[2] ?? m[3] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(location) && !/^file:/i.test(location)) {
        throw new SchemaLoadError(`schema ${path} refers to ${location}: remote schemas are never fetched`);
      }
      const target = resolveLocation(dirname(path), location);
      replacements.set(location, await visit(target));
    }
    text = text.replace(SCHEMA_REFERENCE, (whole, _q, dq?: string, sq?: string) => {
      const location = dq ?? sq ?? '';
      return whole.replace(location, replacements.get(location)!);
    });
    files.push({ fileName, contents: withLongSerialNumbers(text) });
    return fileName;
  };
  const mainName = await visit(mainPath);
  const main = files.find((f) => f.fileName === mainName)!;
  return { main, imports: files.filter((f) => f !== main) };
}

/** xs:import / xs:include / xs:redefine with their schemaLocation, whatever the XSD prefix. */
const SCHEMA_REFERENCE = /<(?:[\w.-]+:)?(?:import|include|redefine)\b[^>]*?\bschemaLocation\s*=\s*("([^"]*)"|'([^']*)')/g;

function resolveLocation(base: string, location: string): string {
  let path = location.replace(/^file:(\/\/)?/i, '');
  try {
    path = decodeURIComponent(path);
  } catch {
    // not percent-encoded: the name as written
  }
  return isAbsolute(path) ? path : resolve(base, path);
}

/** Removes a DOCTYPE, substituting the general entities its internal subset declares. */
export function withoutDoctype(text: string): string {
  const start = text.indexOf('<!DOCTYPE');
  if (start < 0) return text;
  const bracket = text.indexOf('[', start);
  const close = text.indexOf('>', start);
  let end: number;
  let subset = '';
  if (bracket >= 0 && bracket < close) {
    const subsetEnd = text.indexOf(']', bracket);
    if (subsetEnd < 0) throw new SchemaLoadError('unterminated DOCTYPE internal subset');
    subset = text.slice(bracket + 1, subsetEnd);
    end = text.indexOf('>', subsetEnd) + 1;
  } else {
    end = close + 1;
  }
  let body = text.slice(0, start) + text.slice(end);
  for (const m of subset.matchAll(/<!ENTITY\s+([\w.-]+)\s+(?:"([^"]*)"|'([^']*)')\s*>/g)) {
    body = body.split(`&${m[1]};`).join(m[2] ?? m[3] ?? '');
  }
  return body;
}

/** See the module comment: X509SerialNumber keeps xs:integer's lexical space without libxml2's size limit. */
function withLongSerialNumbers(text: string): string {
  return text.replace(
    /<([\w.-]+:)?element\s+name="X509SerialNumber"\s+type="([\w.-]+:)?integer"\s*\/>/,
    (_m, p = '', t = '') =>
      `<${p}element name="X509SerialNumber"><${p}simpleType><${p}restriction base="${t}string">` +
      `<${p}pattern value="[+\\-]?[0-9]+"/></${p}restriction></${p}simpleType></${p}element>`,
  );
}

export interface SchemaInput {
  /** Used in messages only. */
  name: string;
  xml: string | Uint8Array;
}

export interface ValidateOptions {
  limits?: Partial<XmlLimits>;
}

/** Validates one document against the XSD at xsdPath. Rejects (SchemaLoadError) only if the schema is unusable. */
export async function validateAgainstXsd(xml: string | Uint8Array, xsdPath: string, options: ValidateOptions = {}): Promise<Checked<void>> {
  const [result] = await validateManyAgainstXsd([{ name: 'document', xml }], xsdPath, options);
  return result!;
}

/** Validates many documents in one libxml2 run (the schema is compiled once). Results are in input order. */
export async function validateManyAgainstXsd(inputs: readonly SchemaInput[], xsdPath: string, options: ValidateOptions = {}): Promise<Checked<void>[]> {
  const bundle = await loadSchema(xsdPath);
  const results: (Checked<void> | undefined)[] = inputs.map((input) => precheck(input.xml, options));
  const pending = inputs.map((input, i) => ({ index: i, fileName: `document-${i}.xml`, input })).filter((p) => results[p.index] === undefined);
  if (pending.length > 0) {
    const { validateXML } = await import('xmllint-wasm');
    let raw: string;
    try {
      const outcome = await validateXML({
        xml: pending.map((p) => ({ fileName: p.fileName, contents: p.input.xml })),
        schema: [bundle.main],
        preload: bundle.imports,
        maxMemoryPages: 4096,
      });
      raw = outcome.rawOutput;
    } catch (e) {
      throw new SchemaLoadError(`libxml2 could not use the schema ${xsdPath}: ${(e as Error).message.trim().split('\n').slice(0, 3).join(' ')}`);
    }
    const lines = raw.split('\n');
    for (const p of pending) {
      const errors = lines.filter((l) => l.startsWith(p.fileName + ':')).map((l) => describe(l.slice(p.fileName.length + 1)));
      const failed = lines.includes(`${p.fileName} fails to validate`) || errors.length > 0;
      results[p.index] = failed
        ? { ok: false, error: new DuisError('schema', errors.length > 0 ? errors.join('; ') : 'fails to validate') }
        : { ok: true, value: undefined };
    }
  }
  return results as Checked<void>[];
}

/** Refuses, with our own reason, what the hardened parser refuses; undefined when libxml2 should look. */
function precheck(xml: string | Uint8Array, options: ValidateOptions): Checked<void> | undefined {
  try {
    parseXmlOrThrow(xml, { comments: 'drop', ...(options.limits ? { limits: options.limits } : {}) });
    return undefined;
  } catch (e) {
    if (e instanceof DuisFailure) return { ok: false, error: e.error };
    throw e;
  }
}

/** "12: element X: Schemas validity error : Element '{ns}X': ..." -> "line 12: Element '{ns}X': ...". */
function describe(rest: string): string {
  const m = /^(\d+): (?:element [^:]*: )?(?:Schemas validity error : )?(.*)$/.exec(rest);
  return m ? `line ${m[1]}: ${m[2]}` : rest.trim();
}
