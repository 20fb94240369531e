/**
 * Access to the DCC reference data in ../shared/fixtures (read in place, never copied into the project).
 * SMETS_HIL_FIXTURES overrides the location.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = process.env.SMETS_HIL_FIXTURES ?? resolve(repoRoot, '../shared/fixtures');

export function fixturePath(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}

export function readFixture(...parts: string[]): string {
  return readFileSync(fixturePath(...parts), 'utf8');
}

/** Every RTDS GBCS reference frame, keyed by file name. */
export function rtdsFrames(): { name: string; bytes: Buffer }[] {
  const dir = fixturePath('rtds-1.6');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.HEX'))
    .sort()
    .map((name) => ({ name, bytes: Buffer.from(readFileSync(join(dir, name), 'utf8').trim(), 'hex') }));
}

export function rtdsFrame(name: string): Buffer {
  return Buffer.from(readFixture('rtds-1.6', name).trim(), 'hex');
}

export const zaz1KeystorePath = fixturePath('keystore', 'zaz1-keystore.json');
export const deviceCertPath = (eui: string, usage: 'ds' | 'ka') => fixturePath('keystore', `${eui.toLowerCase()}-${usage}.pem`);
export const RTDS_ESME = '00DB1234567890A0';
export const RTDS_GSME = '00DB1234567890A1';
