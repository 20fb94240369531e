/**
 * Shared by the SMKI tests: a fixed clock, one CA hierarchy per test file, and OpenSSL as an independent reader.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { type SmkiHierarchy, createSmkiHierarchy } from '../../../protocol/smki/hierarchy.ts';

/** Every test runs at fixed instants: validity is never checked against the wall clock. */
export const T0 = new Date('2025-06-01T00:00:00Z');
export const hoursAfter = (d: Date, h: number) => new Date(d.getTime() + h * 3600_000);

export const SUPPLIER = parseEui('90B3D51F30010000');
export const SRP = parseEui('90B3D51F300A0001');
export const ESME = parseEui('00DB1234567890A0');

let shared: Promise<SmkiHierarchy> | undefined;
/** One hierarchy per test file (ava runs each file in its own worker). */
export function hierarchy(): Promise<SmkiHierarchy> {
  return (shared ??= createSmkiHierarchy({ at: T0 }));
}

/** Runs openssl with stdin; throws with its stderr when it fails. */
export function openssl(args: string[], input?: string): string {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * What `openssl crl -CAfile` says of a CRL's signature: "verify OK", "verify failure" or its error. It exits 0
 * either way, so the answer is read from its stderr.
 */
export function opensslCrlVerdict(crlPath: string, chainPath: string): string {
  const r = spawnSync('openssl', ['crl', '-in', crlPath, '-CAfile', chainPath, '-noout'], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return r.stderr.trim();
}

/** `openssl x509 -noout -text` of a PEM certificate. */
export function opensslText(pem: string): string {
  return openssl(['x509', '-noout', '-text'], pem);
}

/** Writes PEM files to a fresh temporary directory and returns their paths. */
export function tempFiles(files: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'smki-test-'));
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) writeFileSync((paths[name] = join(dir, name)), content);
  return paths;
}

/** `openssl verify` at a given instant; returns its exit status and output. */
export function opensslVerify(rootPem: string, intermediatePem: string, leafPem: string, at: Date): { ok: boolean; output: string } {
  const p = tempFiles({ 'root.pem': rootPem, 'inter.pem': intermediatePem, 'leaf.pem': leafPem });
  const r = spawnSync(
    'openssl',
    ['verify', '-x509_strict', '-policy_check', '-attime', String(Math.floor(at.getTime() / 1000)), '-CAfile', p['root.pem']!, '-untrusted', p['inter.pem']!, p['leaf.pem']!],
    { encoding: 'utf8' },
  );
  return { ok: r.status === 0, output: r.stdout + r.stderr };
}
