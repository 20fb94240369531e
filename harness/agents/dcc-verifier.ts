/** Verifying what the DCC signs: a resolver that accepts exactly the DCC's XML Signing certificate(s). */
import type { SignerResolver } from '../../protocol/duis/index.ts';
import { type CertificateInfo, readCertificate } from '../../protocol/smki/certificate.ts';
import { RemotePartyRole } from '../../protocol/smki/roles.ts';

export function dccResolver(certificates: readonly (string | CertificateInfo)[]): SignerResolver<CertificateInfo> {
  const infos = certificates.map((c) => (typeof c === 'string' ? readCertificate(c) : c));
  const norm = (s: string) => s.replace(/\s*,\s*/g, ',');
  return ({ issuer, serial }) => {
    const info = infos.find((c) => c.serial === serial && norm(c.issuer) === norm(issuer));
    if (!info) return null;
    if (info.role !== RemotePartyRole.dccXmlSigning) return { refused: `certificate ${serial} is not the DCC's XML Signing certificate` };
    return { publicKey: info.publicKey, signer: info, ...(info.eui ? { eui: info.eui } : {}) };
  };
}

/** Fetches the DCC's identity from its admin API and returns a resolver for its replies. */
export async function fetchDccResolver(dccUrl: string): Promise<SignerResolver<CertificateInfo>> {
  const res = await fetch(`${dccUrl}/admin/v1/dcc`);
  if (!res.ok) throw new Error(`GET ${dccUrl}/admin/v1/dcc: HTTP ${res.status}`);
  const body = (await res.json()) as { xmlSigningCertificate: string | null };
  if (!body.xmlSigningCertificate) throw new Error('the DCC published no XML Signing certificate');
  return dccResolver([body.xmlSigningCertificate]);
}
