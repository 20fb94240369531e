/**
 * Persistence of the DCC's SMKI state: certificates it issued (with the private keys it generated for emulated
 * parties), revocations and the last CRL number. The CA hierarchy itself is derived from a seed kept in the store, so a restarted DCC
 * reopens the same CAs and every stored certificate still verifies.
 */
import { createPrivateKey } from 'node:crypto';
import { readCertificate } from '../protocol/smki/certificate.ts';
import { createSmkiHierarchy } from '../protocol/smki/hierarchy.ts';
import type { IssuingPolicy } from '../protocol/smki/issuing-policy.ts';
import type { RevocationRecord } from '../protocol/smki/revocation-register.ts';
import { type IssuedCertificate, SmkiService } from '../protocol/smki/smki-service.ts';
import { type Db, getMeta, setMeta } from './store.ts';
import { randomBytes } from 'node:crypto';

/**
 * notBefore of the CA certificates: fixed, so the hierarchy is the same on every start (its keys come from the
 * store's seed), and no later than the earliest time the DCC's clock may be set to (emulator/http.ts), so SMKI
 * never issues a certificate its own CA does not cover.
 */
const CA_EPOCH = new Date('2000-01-01T00:00:00Z');

export async function openSmki(db: Db, clock: () => Date, policy?: IssuingPolicy): Promise<SmkiService> {
  let seed = getMeta(db, 'smki-seed');
  if (!seed) setMeta(db, 'smki-seed', (seed = randomBytes(16).toString('hex')));
  const hierarchy = await createSmkiHierarchy({ at: CA_EPOCH, seed });
  const crlNumbers = { last: BigInt(getMeta(db, 'crl-number') ?? '0'), keep: (n: bigint) => setMeta(db, 'crl-number', n.toString()) };
  const smki = await SmkiService.create({ clock, hierarchy, crlNumbers, ...(policy ? { policy } : {}) });
  restoreSmki(db, smki);
  return smki;
}

export function persistCertificate(db: Db, issued: IssuedCertificate, owner: { eui: string; role: string }): void {
  db.prepare('INSERT OR IGNORE INTO certificates (serial, issuer, owner, der, private_key, name) VALUES (?, ?, ?, ?, ?, ?)').run(
    issued.certificate.serial,
    issued.certificate.issuer,
    JSON.stringify(owner),
    issued.certificate.der,
    issued.privateKey ? (issued.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string) : null,
    issued.entry.name,
  );
}

export function persistRevocation(db: Db, record: RevocationRecord): void {
  db.prepare('INSERT OR REPLACE INTO revocations (serial, issuer, requested_at, effective_at, ordered_by) VALUES (?, ?, ?, ?, ?)').run(
    record.serial,
    record.issuer,
    record.requestedAt.toISOString(),
    record.effectiveAt.toISOString(),
    record.orderedBy ?? null,
  );
}

function restoreSmki(db: Db, smki: SmkiService): void {
  const certs = db.prepare('SELECT der, private_key, name, owner FROM certificates ORDER BY rowid').all() as { der: Buffer; private_key: string | null; name: string; owner: string }[];
  for (const c of certs) {
    const owner = JSON.parse(c.owner) as { eui: string; role: string };
    smki.directory.add({
      name: c.name,
      certificate: readCertificate(c.der),
      privateKey: c.private_key ? createPrivateKey(c.private_key) : null,
      source: 'issued',
      checkValidity: true,
      requester: owner.role === 'device' ? null : (owner as never),
    });
  }
  restoreRevocations(db, smki);
}

/**
 * SMKI's revocation register made what the store holds again: after a group commit SQLite rolled back, a
 * revocation it lost must not stay in force in memory (refusing the retry as "already revoked", and lapsing at
 * the next restart).
 */
export function reloadRevocations(db: Db, smki: SmkiService): void {
  smki.register.clear();
  restoreRevocations(db, smki);
}

/**
 * SMKI's directory made what the store holds again, for the certificates this DCC issued: one whose row SQLite lost
 * was never received (its issue was answered as failed), so nothing may be handed it to trust, nor may it count
 * against its holder (BR2).
 */
export function dropUnstoredCertificates(db: Db, smki: SmkiService): void {
  const stored = db.prepare('SELECT 1 FROM certificates WHERE issuer = ? AND serial = ?');
  for (const e of smki.directory.find({ source: 'issued' })) {
    if (!stored.get(e.certificate.issuer, e.certificate.serial)) smki.directory.remove(e);
  }
}

function restoreRevocations(db: Db, smki: SmkiService): void {
  const revocations = db.prepare('SELECT serial, issuer, requested_at, effective_at, ordered_by FROM revocations').all() as {
    serial: string;
    issuer: string;
    requested_at: string;
    effective_at: string;
    ordered_by: string | null;
  }[];
  // Put every stored revocation back as it was recorded, into an empty register.
  for (const r of revocations) {
    smki.register.restore({
      issuer: r.issuer,
      serial: r.serial,
      requestedAt: new Date(r.requested_at),
      effectiveAt: new Date(r.effective_at),
      reason: 'unspecified',
      orderedBy: r.ordered_by,
    });
  }
}
