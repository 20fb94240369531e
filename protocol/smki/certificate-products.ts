/**
 * The kinds of certificate a party can ask SMKI for. Organisation certificates are the GBCS keys a device may
 * hold as trust anchors (Digital Signing, Key Agreement); XML Signing certificates sign DUIS messages and are
 * never used for GBCS; Device certificates are for meters and hubs.
 */
import type { CertificateInfo } from './certificate.ts';
import { isXmlSigningRole } from './keystore.ts';

export const CERTIFICATE_PRODUCTS = ['organisation-ds', 'organisation-ka', 'xml-signing', 'device-ds', 'device-ka'] as const;
export type CertificateProduct = (typeof CERTIFICATE_PRODUCTS)[number];

export const PRODUCT_DESCRIPTIONS: Record<CertificateProduct, string> = {
  'organisation-ds': 'Organisation Digital Signing certificate (signs GBCS commands, Critical Commands included)',
  'organisation-ka': 'Organisation Key Agreement certificate (GBCS key agreement)',
  'xml-signing': 'XML Signing certificate (signs DUIS messages)',
  'device-ds': 'Device Digital Signing certificate',
  'device-ka': 'Device Key Agreement certificate',
};

/** The product a certificate is, or null for CA certificates and end-entity certificates without a single usage. */
export function productOf(info: CertificateInfo): CertificateProduct | null {
  if (info.kind === 'ca' || info.keyUsage === null) return null;
  const ds = info.keyUsage === 'digitalSignature';
  if (info.kind === 'device') return ds ? 'device-ds' : 'device-ka';
  // An XML Signing certificate signs: one in an XML Signing role for key agreement is none of the products.
  if (isXmlSigningRole(info.role)) return ds ? 'xml-signing' : null;
  return ds ? 'organisation-ds' : 'organisation-ka';
}
