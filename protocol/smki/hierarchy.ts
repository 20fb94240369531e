/**
 * The SMKI CA hierarchy this project runs: one root, an Organisation CA (OCA) and a Device CA (DCA) under it.
 * With a seed the CA keys are derived (the same keys on every run, so stored certificates stay verifiable);
 * without one they are fresh.
 */
import { CertificateAuthority } from './certificate-authority.ts';
import { deriveKeyPair } from './keys.ts';

export interface SmkiHierarchy {
  root: CertificateAuthority;
  oca: CertificateAuthority;
  dca: CertificateAuthority;
}

export const DEFAULT_CA_NAMES = { root: 'HIL-ROOT', oca: 'HIL-OCA', dca: 'HIL-DCA' } as const;

export interface HierarchyOptions {
  /** notBefore of the CA certificates: the caller's clock, never the wall clock. */
  at: Date;
  names?: Partial<Record<keyof SmkiHierarchy, string>>;
  /** Test material: anyone with the seed has the CA keys. */
  seed?: string;
}

export async function createSmkiHierarchy(options: HierarchyOptions): Promise<SmkiHierarchy> {
  const names = { ...DEFAULT_CA_NAMES, ...options.names };
  const keyPair = (label: string) => (options.seed === undefined ? {} : { keyPair: deriveKeyPair(options.seed, `smki-ca/${label}`) });
  const root = await CertificateAuthority.createRoot({ commonName: names.root, notBefore: options.at, ...keyPair('root') });
  const [oca, dca] = await Promise.all([
    root.createIssuingCa('organisation', { commonName: names.oca, notBefore: options.at, ...keyPair('oca') }),
    root.createIssuingCa('device', { commonName: names.dca, notBefore: options.at, ...keyPair('dca') }),
  ]);
  return { root, oca, dca };
}

/** PEM of each CA certificate and key, for a durable store. */
export type StoredHierarchy = Record<keyof SmkiHierarchy, { certificate: string; privateKey: string }>;

export function storeHierarchy(h: SmkiHierarchy): StoredHierarchy {
  return { root: h.root.toPem(), oca: h.oca.toPem(), dca: h.dca.toPem() };
}

export async function loadHierarchy(stored: StoredHierarchy): Promise<SmkiHierarchy> {
  const [root, oca, dca] = await Promise.all([
    CertificateAuthority.fromPem('root', stored.root.certificate, stored.root.privateKey),
    CertificateAuthority.fromPem('organisation', stored.oca.certificate, stored.oca.privateKey),
    CertificateAuthority.fromPem('device', stored.dca.certificate, stored.dca.privateKey),
  ]);
  return { root, oca, dca };
}
