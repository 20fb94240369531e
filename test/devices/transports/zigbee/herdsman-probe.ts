/**
 * Run as a child process by lazy-load.test.ts (`node --import tsx herdsman-probe.ts DIR...`): imports every
 * TypeScript module under the given directories, then prints, as one JSON line, which zigbee-herdsman modules
 * the CommonJS cache holds (herdsman is CommonJS, so an ESM import of it lands there too); then loads herdsman
 * through the ZigBee transport's loader and reports again, proving the check can see it.
 */
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const root = resolve(import.meta.dirname, '../../../..');
const herdsmanModules = () => Object.keys(require.cache).filter((k) => k.includes('/node_modules/zigbee-herdsman/')).length;

function walk(dir: string, out: string[]): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const files = process.argv.slice(2).flatMap((d) => walk(join(root, d), []));
const refused: string[] = [];
for (const f of files) {
  try {
    await import(pathToFileURL(f).href);
  } catch (e) {
    // Some modules refuse to load outside their context (a worker entry point); they are reported, not fatal.
    refused.push(`${f.slice(root.length + 1)}: ${(e as Error).message.split('\n')[0]}`);
  }
}
const before = herdsmanModules();
const { loadHerdsman } = await import(pathToFileURL(join(root, 'devices/transports/zigbee/herdsman.ts')).href);
await loadHerdsman();
console.log(JSON.stringify({ imported: files.length, refused, before, after: herdsmanModules() }));
