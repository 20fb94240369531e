/** Namespace URIs and algorithm identifiers DUIS uses. Elements are matched on URI and local name, never prefix. */
export const NS = {
  sr: 'http://www.dccinterface.co.uk/ServiceUserGateway',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  ra: 'http://www.dccinterface.co.uk/ResponseAndAlert',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  xml: 'http://www.w3.org/XML/1998/namespace',
  xmlns: 'http://www.w3.org/2000/xmlns/',
} as const;

/** The only algorithms a DUIS signature may name (see DOMAIN.md section 2). */
export const ALGORITHM = {
  exclusiveC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  ecdsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  envelopedSignature: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
} as const;

/** DUIS Schema V5.4: the value of the root's schemaVersion attribute this project writes. */
export const SCHEMA_VERSION = '5.4';
