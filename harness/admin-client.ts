/** A typed client for the mock DCC's JSON admin API (/admin/v1), as scenarios and tests use it. */
import type { KeyObject } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import type { RequestRecord } from '../emulator/service.ts';
import type { XmlSigner } from '../protocol/duis/index.ts';
import { readCertificate } from '../protocol/smki/certificate.ts';
import type { Eui } from '../protocol/smki/eui.ts';

export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
  }
}

export interface IssuedCertificateJson {
  name: string;
  serial: string;
  issuer: string;
  certificate: string;
  privateKey: string | null;
}

/** A request as the DCC's audit log records it. */
export type RequestAudit = RequestRecord;

export interface DeliveryAudit {
  id: number;
  endpoint: string;
  recipient: string;
  kind: string;
  delivered: boolean;
  undeliverable: boolean;
  attempts: number;
  lastError: string | null;
}

export class DccAdminClient {
  constructor(readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/admin/v1${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as unknown) : null;
    if (!res.ok) {
      const message = (parsed as { error?: string } | null)?.error ?? text;
      throw new AdminError(res.status, parsed, `${method} /admin/v1${path}: HTTP ${res.status}: ${message}`);
    }
    return parsed as T;
  }

  party(input: { eui: string; name: string; roles: string[]; endpoint?: string | null; srp?: string | null; status?: string }) {
    return this.call<unknown>('POST', '/parties', input);
  }

  certificate(eui: string, product: string, role?: string) {
    return this.call<IssuedCertificateJson>('POST', `/parties/${eui}/certificates`, role ? { product, role } : { product });
  }

  /** An XML Signing certificate as the signer a User agent needs. */
  async xmlSigner(eui: string, role?: string): Promise<XmlSigner> {
    const c = await this.certificate(eui, 'xml-signing', role);
    return { privateKey: createPrivateKey(c.privateKey!), issuer: readCertificate(c.certificate).issuer, serial: c.serial };
  }

  /** An Organisation Digital Signing key (GBCS), as a supplier's Pre-Command signer. */
  async gbcsSigner(eui: string, role?: string): Promise<{ privateKey: KeyObject; certificate: IssuedCertificateJson }> {
    const c = await this.certificate(eui, 'organisation-ds', role);
    return { privateKey: createPrivateKey(c.privateKey!), certificate: c };
  }

  officer(eui: string, input: { id: string; kind: 'ARO' | 'SRO'; name: string }) {
    return this.call<unknown>('POST', `/parties/${eui}/officers`, input);
  }

  adt(eui: string, input: { submittedBy: string; supplier?: string; thresholds: { srv: string; warning: number; quarantine: number; periodSeconds: number }[] }) {
    return this.call<{ id: number }>('POST', `/parties/${eui}/adt`, input);
  }

  device(input: {
    eui: string;
    type: string;
    twin?: boolean;
    fuel?: string;
    supplier: string;
    networkOperator?: string | null;
    smiStatus?: string;
    /** For devices the DCC hosts: the state the emulated meter starts in. */
    initialState?: { paymentMode?: 'credit' | 'prepayment'; meterBalance?: number };
  }) {
    return this.call<unknown>('POST', '/devices', input);
  }

  deviceState<T = Record<string, unknown>>(eui: string) {
    return this.call<{ paymentMode?: string; state?: T; hosted: boolean }>('GET', `/devices/${eui}`);
  }

  solr(input: { failedSupplier: string; contingencyParty: string; devices?: string[]; startsAt: string; endsAt?: string; reference?: string }) {
    return this.call<{ id: number }>('POST', '/solr-events', input);
  }

  endSolr(id: number) {
    return this.call<unknown>('POST', `/solr-events/${id}/end`, {});
  }

  revoke(serial: string, options: { issuer?: string; effectiveAt?: string; orderedBy?: string } = {}) {
    return this.call<{ effectiveAt: string; delayed: boolean }>('POST', '/revocations', { serial, ...options });
  }

  clock(change: { set: string } | { advanceMs: number }) {
    return this.call<{ now: string }>('POST', '/clock', change);
  }

  now() {
    return this.call<{ now: string }>('GET', '/clock');
  }

  requests(filter: { requestId?: string; user?: Eui | string } = {}) {
    const q = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined) as [string, string][]);
    return this.call<RequestAudit[]>('GET', `/requests${q.size ? `?${q}` : ''}`);
  }

  deliveries(recipient?: string) {
    return this.call<DeliveryAudit[]>('GET', `/deliveries${recipient ? `?recipient=${encodeURIComponent(recipient)}` : ''}`);
  }

  identity() {
    return this.call<{ eui: string; acbEui: string; xmlSigningCertificate: string | null; acbCertificates: string[] }>('GET', '/dcc');
  }
}
