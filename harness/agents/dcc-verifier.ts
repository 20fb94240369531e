/**
 * Verifying what the DCC signs: a resolver that accepts exactly the DCC's XML Signing certificate(s), and whether a
 * reply it signed answers the request sent.
 */
import { type DuisResponse, formatRequestId, formatResponseId, type RequestId, type SignerResolver } from '../../protocol/duis/index.ts';
import { type CertificateInfo, issuerNameKey, readCertificate } from '../../protocol/smki/certificate.ts';
import { RemotePartyRole } from '../../protocol/smki/roles.ts';

export function dccResolver(certificates: readonly (string | CertificateInfo)[]): SignerResolver<CertificateInfo> {
  const infos = certificates.map((c) => (typeof c === 'string' ? readCertificate(c) : c));
  return ({ issuer, serial }) => {
    const name = issuerNameKey(issuer);
    const info = infos.find((c) => c.serial === serial && issuerNameKey(c.issuer) === name);
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

/**
 * Why a DCC-signed reply is not the answer to the request `sent`, or null when it is. A genuine DCC signature on
 * the answer to another request (a replayed reply), or on a message that answers none (an alert, which has a
 * ResponseID instead), must not pass for this one's answer.
 */
export function notTheAnswer(response: DuisResponse, sent: RequestId): string | null {
  const { header, body } = response;
  if (!header.requestId) return `it names no RequestID (a ${body.kind}${header.responseId ? ` with ResponseID ${formatResponseId(header.responseId)}` : ''}), not ${formatRequestId(sent)}`;
  if (formatRequestId(header.requestId) !== formatRequestId(sent)) return `it answers RequestID ${formatRequestId(header.requestId)}, not ${formatRequestId(sent)}`;
  if (body.kind !== 'ResponseMessage') return `it is a ${body.kind}, not a ResponseMessage answering ${formatRequestId(sent)}`;
  return null;
}
