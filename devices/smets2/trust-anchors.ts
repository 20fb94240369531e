/**
 * A SMETS2+ meter's trust anchor cells: per remote party role, the EUI of the party it trusts and that party's
 * Digital Signing and Key Agreement public keys (from the certificates placed in the cell). Meters of one
 * supplier share one TrustAnchors object; replacing a cell makes a new object (copy on write), so a fleet
 * holds a handful of these however many meters it has.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { publicKeyFromPoint, publicPoint } from '../../protocol/smki/keys.ts';
import { type Keystore } from '../../protocol/smki/keystore.ts';
import { type Json } from '../snapshot.ts';

export const ANCHOR_ROLES = ['root', 'recovery', 'supplier', 'networkOperator', 'accessControlBroker', 'wanProvider', 'transitionalCoS'] as const;
export type AnchorRole = (typeof ANCHOR_ROLES)[number];

export interface TrustAnchorCell {
  eui: Eui;
  ds?: KeyObject;
  ka?: KeyObject;
}

export class TrustAnchors {
  private readonly cells: ReadonlyMap<AnchorRole, TrustAnchorCell>;
  private json: Json | undefined;

  constructor(cells: Partial<Record<AnchorRole, TrustAnchorCell>>) {
    const m = new Map<AnchorRole, TrustAnchorCell>();
    for (const role of ANCHOR_ROLES) {
      const c = cells[role];
      if (c) m.set(role, Object.freeze({ ...c }));
    }
    this.cells = m;
  }

  cell(role: AnchorRole): TrustAnchorCell | undefined {
    return this.cells.get(role);
  }

  /** The roles whose cell names this EUI (a party may hold several roles, e.g. a supplier and its KA cell). */
  rolesOf(eui: Eui): AnchorRole[] {
    const out: AnchorRole[] = [];
    for (const [role, c] of this.cells) if (c.eui === eui) out.push(role);
    return out;
  }

  /** A copy with one cell replaced (what an update of security credentials does). */
  with(role: AnchorRole, cell: TrustAnchorCell | undefined): TrustAnchors {
    const all: Partial<Record<AnchorRole, TrustAnchorCell>> = Object.fromEntries(this.cells);
    if (cell) all[role] = cell;
    else delete all[role];
    return new TrustAnchors(all);
  }

  /**
   * These anchors with what they lack taken from `other`: a cell for a role they have none for, a key for a cell
   * of the same party that has none. What they hold stays (this object itself when nothing is added).
   */
  filledFrom(other: TrustAnchors): TrustAnchors {
    const all: Partial<Record<AnchorRole, TrustAnchorCell>> = Object.fromEntries(this.cells);
    let added = false;
    for (const [role, theirs] of other.cells) {
      const mine = this.cells.get(role);
      if (!mine) {
        all[role] = theirs;
        added = true;
      } else if (mine.eui === theirs.eui && ((!mine.ds && theirs.ds) || (!mine.ka && theirs.ka))) {
        const ds = mine.ds ?? theirs.ds;
        const ka = mine.ka ?? theirs.ka;
        all[role] = { eui: mine.eui, ...(ds ? { ds } : {}), ...(ka ? { ka } : {}) };
        added = true;
      }
    }
    return added ? new TrustAnchors(all) : this;
  }

  /** EUIs and public-key fingerprints per role: safe to show, and changes when a cell does. */
  toJSON(): Json {
    if (this.json === undefined) {
      const out: { [k: string]: Json } = {};
      for (const [role, c] of this.cells) out[role] = { eui: c.eui, ds: c.ds ? fingerprint(c.ds) : null, ka: c.ka ? fingerprint(c.ka) : null };
      this.json = out;
    }
    return this.json;
  }
}

const savedPoint = z.string().regex(/^04[0-9A-F]{128}$/, 'an uncompressed P-256 point, upper-case hex');
const savedCell = z.strictObject({ eui: z.string(), ds: savedPoint.optional(), ka: savedPoint.optional() });
const savedAnchors = z.partialRecord(z.enum(ANCHOR_ROLES), savedCell);

/** Saved forms made so far: TrustAnchors never change, and a hosted pool saves its meters' states often. */
const savedForms = new WeakMap<TrustAnchors, Json>();

/** The cells with their public keys as points (hex): what a meter's saved state keeps of them. */
export function saveTrustAnchors(anchors: TrustAnchors): Json {
  const known = savedForms.get(anchors);
  if (known) return known;
  const out: { [k: string]: Json } = {};
  const point = (k: KeyObject) => publicPoint(k).toString('hex').toUpperCase();
  for (const role of ANCHOR_ROLES) {
    const c = anchors.cell(role);
    if (c) out[role] = { eui: c.eui, ...(c.ds ? { ds: point(c.ds) } : {}), ...(c.ka ? { ka: point(c.ka) } : {}) };
  }
  savedForms.set(anchors, out);
  return out;
}

/** Trust anchors from saveTrustAnchors' form; throws saying what is wrong with anything else. */
export function restoreTrustAnchors(saved: unknown): TrustAnchors {
  const parsed = savedAnchors.safeParse(saved);
  if (!parsed.success) throw new Error(`trust anchors: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const key = (hex: string) => publicKeyFromPoint(Buffer.from(hex, 'hex'));
  const cells: Partial<Record<AnchorRole, TrustAnchorCell>> = {};
  for (const [role, c] of Object.entries(parsed.data) as [AnchorRole, z.infer<typeof savedCell>][]) {
    cells[role] = { eui: parseEui(c.eui), ...(c.ds ? { ds: key(c.ds) } : {}), ...(c.ka ? { ka: key(c.ka) } : {}) };
  }
  return new TrustAnchors(cells);
}

/** First 8 octets of SHA-256 over the uncompressed public point, hex. */
export function fingerprint(publicKey: KeyObject): string {
  return createHash('sha256').update(publicPoint(publicKey)).digest().subarray(0, 8).toString('hex').toUpperCase();
}

/**
 * Cells from a keystore by certificate name, e.g. the ZAZ1 test PKI:
 * `{ supplier: ['Z1-supplier-ds', 'Z1-supplier-ka'], accessControlBroker: [undefined, 'Z1-accessControlBroker-ka'] }`.
 */
export function trustAnchorsFromKeystore(keystore: Keystore, names: Partial<Record<AnchorRole, [ds: string | undefined, ka: string | undefined]>>): TrustAnchors {
  const cells: Partial<Record<AnchorRole, TrustAnchorCell>> = {};
  for (const [role, [dsName, kaName]] of Object.entries(names) as [AnchorRole, [string | undefined, string | undefined]][]) {
    const ds = dsName === undefined ? undefined : keystore.byName(dsName);
    const ka = kaName === undefined ? undefined : keystore.byName(kaName);
    if ((dsName && !ds) || (kaName && !ka)) throw new Error(`${role}: no certificate named ${dsName && !ds ? dsName : kaName} in the keystore`);
    const eui = (ds ?? ka)?.eui;
    if (!eui) throw new Error(`${role}: a cell needs at least one certificate`);
    if (ds && ka && ds.eui !== ka.eui) throw new Error(`${role}: DS and KA certificates name different EUIs`);
    cells[role] = { eui, ...(ds ? { ds: ds.publicKey } : {}), ...(ka ? { ka: ka.publicKey } : {}) };
  }
  return new TrustAnchors(cells);
}
