/**
 * Chain verification for certificates of our own hierarchy. SMKI paths are fixed: Organisation and XML Signing
 * certificates come from the OCA, Device certificates from the DCA, both CAs from the root. Each link must be
 * signed by the CA it names, match its key id, conform to its profile and be within validity at the time given.
 */
import { X509Certificate as NodeX509 } from 'node:crypto';
import type { CertificateInfo } from './certificate.ts';
import { type CertificateDetails, inspectCertificate } from './certificate-details.ts';
import { type ProfileName, profileOf, profileProblems } from './profile-check.ts';

/** The CA certificates a chain may end in; a SmkiHierarchy's CAs fit, as do bare certificates. */
export interface TrustedCas {
  root: { certificate: CertificateInfo };
  oca: { certificate: CertificateInfo };
  dca: { certificate: CertificateInfo };
}

export type ChainResult =
  | { ok: true; profile: ProfileName; chain: CertificateInfo[] }
  | { ok: false; reason: string };

/** Certificate objects are inspected once, not on every verification. */
const inspected = new WeakMap<CertificateInfo, CertificateDetails>();
function inspect(info: CertificateInfo): CertificateDetails {
  let d = inspected.get(info);
  if (!d) inspected.set(info, (d = inspectCertificate(info)));
  return d;
}

const CA_LABEL = { root: 'root', oca: 'Organisation CA', dca: 'Device CA' } as const;

function expectedIssuer(profile: ProfileName): keyof TrustedCas {
  switch (profile) {
    case 'organisation':
    case 'xml-signing':
      return 'oca';
    case 'device':
      return 'dca';
    default:
      return 'root';
  }
}

function validityProblem(info: CertificateInfo, at: Date, what: string): string | null {
  if (at < info.notBefore) return `${what} is not valid until ${info.notBefore.toISOString()} (checked at ${at.toISOString()})`;
  if (at > info.notAfter) return `${what} expired at ${info.notAfter.toISOString()} (checked at ${at.toISOString()})`;
  return null;
}

/** One link's time-independent checks: `d` conforms to its profile, is named by `issuer` and signed by its key. */
function structuralProblem(d: CertificateDetails, issuer: CertificateDetails, issuerLabel: string, what: string): string | null {
  const problems = profileProblems(d);
  if (problems.length) return `${what} does not conform to its profile: ${problems.join('; ')}`;
  if (!d.issuerDer.equals(issuer.subjectDer)) return `${what} is issued by "${d.info.issuer}", not by the ${issuerLabel} "${issuer.subject}"`;
  if (d.authorityKeyId && issuer.subjectKeyId && !d.authorityKeyId.equals(issuer.subjectKeyId)) {
    return `${what} names authority key ${d.authorityKeyId.toString('hex')}, not the ${issuerLabel} key ${issuer.subjectKeyId.toString('hex')}`;
  }
  let signed: boolean;
  try {
    signed = new NodeX509(d.info.der).verify(issuer.info.publicKey);
  } catch {
    signed = false;
  }
  return signed ? null : `${what} signature does not verify with the ${issuerLabel} key`;
}

/**
 * Links are checked once per (certificate object, issuer) pair, CertificateInfo objects being treated as
 * immutable: certificates held in a directory are verified again and again, and only validity depends on the instant.
 */
const checkedLinks = new WeakMap<CertificateInfo, { issuer: CertificateInfo; problem: string | null }>();
function linkProblem(d: CertificateDetails, issuer: CertificateDetails, issuerLabel: string, at: Date, what: string): string | null {
  let link = checkedLinks.get(d.info);
  if (!link || link.issuer !== issuer.info) checkedLinks.set(d.info, (link = { issuer: issuer.info, problem: structuralProblem(d, issuer, issuerLabel, what) }));
  return link.problem ?? validityProblem(d.info, at, what);
}

/**
 * Verifies a certificate up to the root of `cas`, checking validity at `at` (required: there is no implicit
 * "now"). Revocation is not part of this: ask the revocation register.
 */
export function verifyChain(certificate: CertificateInfo | string | Uint8Array, cas: TrustedCas, at: Date): ChainResult {
  let leaf: CertificateDetails;
  try {
    leaf = typeof certificate === 'string' || certificate instanceof Uint8Array ? inspectCertificate(certificate) : inspect(certificate);
  } catch (e) {
    return { ok: false, reason: `unreadable certificate: ${(e as Error).message}` };
  }
  const root = inspect(cas.root.certificate);
  const rootProblem = linkProblem(root, root, CA_LABEL.root, at, 'root certificate');
  if (rootProblem) return { ok: false, reason: rootProblem };

  const profile = profileOf(leaf);
  if (profile === 'root-ca') {
    if (!leaf.info.der.equals(root.info.der)) return { ok: false, reason: 'self-signed certificate is not the trusted root' };
    return { ok: true, profile, chain: [root.info] };
  }
  const issuerKey = expectedIssuer(profile);
  const issuer = issuerKey === 'root' ? root : inspect(cas[issuerKey].certificate);
  if (issuerKey !== 'root') {
    const caProblem = linkProblem(issuer, root, CA_LABEL.root, at, `${CA_LABEL[issuerKey]} certificate`);
    if (caProblem) return { ok: false, reason: caProblem };
  }
  const problem = linkProblem(leaf, issuer, CA_LABEL[issuerKey], at, `${profile} certificate ${leaf.info.serial}`);
  if (problem) return { ok: false, reason: problem };
  const chain = issuerKey === 'root' ? [leaf.info, root.info] : [leaf.info, issuer.info, root.info];
  return { ok: true, profile, chain };
}
