/**
 * How the DCC knows each fleet meter's Key Agreement public key (for the ACB MAC), and the SoLR Contingency
 * party each switched meter's Digital Signing key (to verify its signed response), without 1.7 M SMKI Device
 * certificates (issuing one takes ~4 ms: two hours for a Bulb-sized fleet).
 *
 * In the real system a Device certificate is issued once, at manufacture, and the DCC looks it up per command.
 * Here the manufacturer's key feed plays that part: for every SMETS2+ meter of a shard the public point is
 * computed from the fleet seed (the same derivation the meter's own keys use) and stored, 64 octets per meter,
 * in blocks of 4096 EUIs; each block is attested once (ECDSA over SHA-256 of its EUIs and points) with the key-feed
 * signing key, and the DCC checks every block's attestation before it trusts the block. Per command the DCC
 * looks the point up and does its ECDH on it (node:crypto checks the point is on the curve each time; nothing
 * is cached across commands). The DCC never sees the seed or a private key.
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { deviceKeyLabel } from '../../devices/smets2/keys.ts';
import { type Eui, euiToBytes } from '../../protocol/smki/eui.ts';
import { deriveKeyPair, deriveScalar, publicPointOfScalar, type KeyPair } from '../../protocol/smki/keys.ts';
import { euiOf, type FleetPlan, indexOf, type MeterSpec } from './plan.ts';

const BLOCK = 4096;
const POINT = 64;

/** The key the manufacturer signs its key feed with (test material: derived from the fleet seed). */
export function keyFeedSigner(seed: string): KeyPair {
  return deriveKeyPair(seed, 'smets-hil/fleet/key-feed');
}

export interface KeyFeed {
  usage: 'ds' | 'ka';
  from: number;
  to: number;
  /** x || y per index (zeros for SMETS1 meters, which hold no GBCS keys, and for meters the feed leaves out). */
  points: Buffer;
  present: Uint8Array;
  /** One signature per block of BLOCK indices. */
  attestations: Buffer[];
}

function blockDigest(feed: Pick<KeyFeed, 'usage' | 'from' | 'points' | 'present'>, b: number, to: number): Buffer {
  const h = createHash('sha256');
  h.update(feed.usage); // a KA feed must not pass for a DS one
  const start = feed.from + b * BLOCK;
  for (let i = start; i < Math.min(start + BLOCK, to); i++) {
    const o = i - feed.from;
    if (!feed.present[o]) continue;
    h.update(euiToBytes(euiOf(i)));
    h.update(feed.points.subarray(o * POINT, (o + 1) * POINT));
  }
  return h.digest();
}

/**
 * The manufacturer's side: public points (of `usage`) of the SMETS2+ meters in [from, to) that `wanted` keeps
 * (default all), attested per block.
 */
export function buildKeyFeed(plan: FleetPlan, from: number, to: number, signer: KeyObject, usage: 'ds' | 'ka' = 'ka', wanted: (m: MeterSpec) => boolean = () => true): KeyFeed {
  const n = to - from;
  const points = Buffer.alloc(n * POINT);
  const present = new Uint8Array(n);
  for (let i = from; i < to; i++) {
    const m = plan.meter(i);
    if (m.type === 'SMETS1' || !wanted(m)) continue;
    const point = publicPointOfScalar(deriveScalar(plan.options.seed, deviceKeyLabel(m.eui, usage)));
    point.copy(points, (i - from) * POINT, 1);
    present[i - from] = 1;
  }
  const feed = { usage, from, to, points, present, attestations: [] as Buffer[] };
  for (let b = 0; b * BLOCK < n; b++) feed.attestations.push(sign('sha256', blockDigest(feed, b, to), { key: signer, dsaEncoding: 'ieee-p1363' }));
  return feed;
}

/** The DCC's side: a directory over attested feeds; a feed whose attestation fails is refused whole. */
export class DeviceKeyDirectory {
  private readonly feeds: KeyFeed[] = [];

  constructor(
    private readonly feedKey: KeyObject,
    readonly usage: 'ds' | 'ka' = 'ka',
  ) {}

  load(feed: KeyFeed): void {
    if (feed.usage !== this.usage) throw new Error(`a ${feed.usage} key feed offered to a directory of ${this.usage} keys`);
    feed.attestations.forEach((sig, b) => {
      if (!verify('sha256', blockDigest(feed, b, feed.to), { key: this.feedKey, dsaEncoding: 'ieee-p1363' }, sig)) {
        throw new Error(`device key feed block ${b} of [${feed.from}, ${feed.to}) does not verify`);
      }
    });
    this.feeds.push(feed);
  }

  /** The device's public key as an uncompressed point (a fresh copy), or null when the directory has none. */
  point(eui: Eui): Buffer | null {
    const i = indexOf(eui);
    const feed = this.feeds.find((f) => i >= f.from && i < f.to);
    if (!feed || !feed.present[i - feed.from]) return null;
    const o = (i - feed.from) * POINT;
    return Buffer.concat([Uint8Array.of(4), feed.points.subarray(o, o + POINT)]);
  }
}
