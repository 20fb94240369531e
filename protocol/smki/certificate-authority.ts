/**
 * An SMKI certificate authority: a CA certificate and its private key, signing profile templates with
 * @peculiar/x509 over node's WebCrypto. Each CA has one purpose, as in SMKI: the root certifies the issuing CAs,
 * the Organisation CA (OCA) issues Organisation and XML Signing certificates and the Organisation CRL, the
 * Device CA (DCA) issues Device certificates. No method reads the wall clock: every date comes from the caller.
 */
import { randomBytes, type KeyObject, type webcrypto } from 'node:crypto';
import { type CertificateInfo, readCertificate } from './certificate.ts';
import { type CertificateDetails, inspectCertificate } from './certificate-details.ts';
import { type CrlInfo, type CrlInput, createCrl } from './crl.ts';
import { keyIdentifier } from './key-id.ts';
import { type KeyPair, generateKeyPair, privateKeyFromPem } from './keys.ts';
import {
  type CertificateTemplate,
  type DeviceProfileInput,
  type OrganisationProfileInput,
  type XmlSigningProfileInput,
  caSubject,
  caTemplate,
  deviceTemplate,
  organisationTemplate,
  xmlSigningTemplate,
} from './profiles.ts';
import { RemotePartyRole } from './roles.ts';
import { ECDSA_SHA256, provider, signingCryptoKey, spki, x509 } from './x509-lib.ts';

export type CaPurpose = 'root' | 'organisation' | 'device';

export class CertificateAuthorityError extends Error {
  override readonly name = 'CertificateAuthorityError';
}

export interface CaOptions {
  commonName: string;
  notBefore: Date;
  notAfter?: Date;
  /** Default: a fresh key. Pass deriveKeyPair(seed, label) for a CA that is the same on every run. */
  keyPair?: KeyPair;
}

/** A positive 16-octet serial: top bit clear so DER needs no sign octet, first octet non-zero so none is dropped. */
export function randomSerial(): bigint {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return BigInt('0x' + b.toString('hex'));
}

export class CertificateAuthority {
  readonly details: CertificateDetails;
  readonly keyId: Buffer;

  private constructor(
    readonly purpose: CaPurpose,
    readonly certificate: CertificateInfo,
    private readonly privateKey: KeyObject,
    private readonly signingKey: webcrypto.CryptoKey,
  ) {
    this.details = inspectCertificate(certificate);
    this.keyId = keyIdentifier(certificate.publicKey);
  }

  /** Subject in DUIS form: what certificates issued here carry as issuer ("CN=HIL-OCA,OU=07"). */
  get name(): string {
    return this.details.subject;
  }

  get publicKey(): KeyObject {
    return this.certificate.publicKey;
  }

  /** A self-signed root, OU=00 (Root role). */
  static async createRoot(options: CaOptions): Promise<CertificateAuthority> {
    const keys = options.keyPair ?? generateKeyPair();
    const signingKey = await signingCryptoKey(keys.privateKey);
    const template = caTemplate({
      subject: caSubject(options.commonName, RemotePartyRole.root),
      publicKey: keys.publicKey,
      notBefore: options.notBefore,
      ...(options.notAfter ? { notAfter: options.notAfter } : {}),
    });
    const subject = new x509.Name(template.subject);
    const certificate = await signTemplate(template, subject, keyIdentifier(keys.publicKey), signingKey, randomSerial());
    return new CertificateAuthority('root', certificate, keys.privateKey, signingKey);
  }

  /**
   * An issuing CA under this root. The OCA carries OU=07 (Issuing Authority) like the ZAZ1 "OU=07, CN=Z1"; the DCA
   * carries only a CN like the RTDS device issuer "CN=E357".
   */
  async createIssuingCa(purpose: 'organisation' | 'device', options: CaOptions): Promise<CertificateAuthority> {
    this.require('root', `create an issuing CA`);
    const keys = options.keyPair ?? generateKeyPair();
    const template = caTemplate({
      subject: caSubject(options.commonName, purpose === 'organisation' ? RemotePartyRole.issuingAuthority : undefined),
      publicKey: keys.publicKey,
      notBefore: options.notBefore,
      pathLength: 0,
      ...(options.notAfter ? { notAfter: options.notAfter } : {}),
    });
    const certificate = await this.sign(template);
    return new CertificateAuthority(purpose, certificate, keys.privateKey, await signingCryptoKey(keys.privateKey));
  }

  /** Re-creates a CA from stored PEM (certificate and PKCS#8 private key). */
  static async fromPem(purpose: CaPurpose, certificatePem: string, privateKeyPem: string): Promise<CertificateAuthority> {
    const certificate = readCertificate(certificatePem);
    const { privateKey, publicKey } = privateKeyFromPem(privateKeyPem);
    if (!publicKey.equals(certificate.publicKey)) throw new CertificateAuthorityError('private key does not match the CA certificate');
    if (certificate.kind !== 'ca') throw new CertificateAuthorityError('not a CA certificate (no keyCertSign/cRLSign)');
    return new CertificateAuthority(purpose, certificate, privateKey, await signingCryptoKey(privateKey));
  }

  toPem(): { certificate: string; privateKey: string } {
    return { certificate: this.certificate.pem, privateKey: this.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  /**
   * Signs any template with this CA's key, whatever its purpose. The profile methods below are what callers
   * want; this one exists for building deliberately wrong certificates in tests and for future profiles.
   */
  sign(template: CertificateTemplate, serial: bigint = randomSerial()): Promise<CertificateInfo> {
    return signTemplate(template, new x509.Name(this.details.subjectDer), this.keyId, this.signingKey, serial);
  }

  async issueOrganisation(input: OrganisationProfileInput, serial?: bigint): Promise<CertificateInfo> {
    this.require('organisation', 'issue Organisation certificates');
    return this.sign(organisationTemplate(input), serial);
  }

  async issueXmlSigning(input: XmlSigningProfileInput, serial?: bigint): Promise<CertificateInfo> {
    this.require('organisation', 'issue XML Signing certificates');
    return this.sign(xmlSigningTemplate(input), serial);
  }

  async issueDevice(input: DeviceProfileInput, serial?: bigint): Promise<CertificateInfo> {
    this.require('device', 'issue Device certificates');
    return this.sign(deviceTemplate(input), serial);
  }

  async issueCrl(input: CrlInput): Promise<CrlInfo> {
    return createCrl({ subjectDer: this.details.subjectDer, keyId: this.keyId, signingKey: this.signingKey }, input);
  }

  private require(purpose: CaPurpose, what: string): void {
    if (this.purpose !== purpose) throw new CertificateAuthorityError(`the ${this.purpose} CA ${this.name} does not ${what} (only the ${purpose} CA does)`);
  }
}

async function signTemplate(
  template: CertificateTemplate,
  issuer: x509.Name,
  issuerKeyId: Buffer,
  signingKey: webcrypto.CryptoKey,
  serial: bigint,
): Promise<CertificateInfo> {
  if (serial <= 0n) throw new CertificateAuthorityError('serial must be positive');
  const hex = serial.toString(16);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: hex.length % 2 ? '0' + hex : hex,
      subject: template.subject,
      issuer,
      notBefore: template.notBefore,
      notAfter: template.notAfter,
      publicKey: spki(template.publicKey),
      signingKey: signingKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [...template.extensions, new x509.AuthorityKeyIdentifierExtension(issuerKeyId.toString('hex'))],
    },
    provider,
  );
  return readCertificate(new Uint8Array(cert.rawData));
}
