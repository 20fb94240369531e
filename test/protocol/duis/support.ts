/**
 * Shared material for the DUIS tests: the ZAZ1 keystore and its XML Signing keys, the RTDS request templates,
 * the DUIS XSD, and the DCC Boxed Java signer/validator run as a separate process (a GPL test-time oracle from
 * a devDependency; never bundled).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEui } from '../../../protocol/smki/eui.ts';
import { Keystore } from '../../../protocol/smki/keystore.ts';
import { type DuisRequest, xmlSignerFromEntry, type XmlSigner } from '../../../protocol/duis/index.ts';
import { fixturePath, repoRoot, zaz1KeystorePath } from '../../helpers/fixtures.ts';

export const keystore = Keystore.fromZaz1(readFileSync(zaz1KeystorePath, 'utf8'));

/** The RTDS templates' User (Import Supplier 90-B3-D5-1F-30-01-00-00) and another User with an XML key. */
export const SUPPLIER = parseEui('90B3D51F30010000');
export const NETWORK_OPERATOR = parseEui('90B3D51F30020000');
export const ESME = parseEui('00DB1234567890A0');
export const GSME = parseEui('00DB1234567890A1');

export const supplierSigner: XmlSigner = xmlSignerFromEntry(keystore.xmlSigningKey(SUPPLIER));
export const networkOperatorSigner: XmlSigner = xmlSignerFromEntry(keystore.xmlSigningKey(NETWORK_OPERATOR));

export const xsdPath = fixturePath('duis', 'DUIS Schema V5.4.xsd');

export function templateNames(): string[] {
  return readdirSync(fixturePath('duis'))
    .filter((f) => f.endsWith('.XML'))
    .sort();
}

export function template(name: string): string {
  return readFileSync(fixturePath('duis', name), 'utf8');
}

export function creditRequest(counter = 1002n, target = ESME): DuisRequest {
  return {
    schemaVersion: '5.4',
    header: {
      requestId: { user: SUPPLIER, target, counter },
      commandVariant: 4,
      serviceReference: '1.6',
      serviceReferenceVariant: '1.6',
    },
    body: { kind: 'UpdatePaymentMode', paymentMode: { mode: 'Credit' } },
  };
}

const JAR = join(repoRoot, 'node_modules/@smartdcc/duis-sign-wrap/dist/tool.jar');

function java(mainClass: string, args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-cp', JAR, `uk.co.smartdcc.boxed.xmldsig.${mainClass}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Signs with the DCC Boxed Java signer (key chosen from the RequestID's User, counter kept). */
export async function javaSign(xml: string): Promise<string> {
  const r = await java('Sign', ['-', '--preserveCounter'], xml);
  if (r.code !== 0) throw new Error(`java Sign exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Runs the DCC Boxed Java validator: exit 0 valid, 10 invalid. */
export async function javaValidate(xml: string): Promise<{ code: number | null; stderr: string }> {
  const r = await java('Validate', ['-'], xml);
  return { code: r.code, stderr: r.stderr };
}

/** Runs async jobs at most `limit` at a time (the Java tool starts a JVM per call). */
export async function mapLimited<T, R>(items: readonly T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await job(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
