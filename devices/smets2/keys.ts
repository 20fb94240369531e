/**
 * Where an emulated SMETS2+ meter's own Digital Signing and Key Agreement keys come from. A fleet derives them
 * from one seed and each EUI (deriveKeyPair), so a million meters need no stored keys: a small shared LRU cache
 * keeps the recently used ones as node:crypto KeyObjects. Small tests can generate fresh keys instead.
 */
import { type KeyObject } from 'node:crypto';
import { type Eui } from '../../protocol/smki/eui.ts';
import { deriveKeyPair, generateKeyPair, type KeyPair } from '../../protocol/smki/keys.ts';

export interface DeviceKeys {
  ds: KeyPair;
  ka: KeyPair;
}

export interface DeviceKeySource {
  keysFor(eui: Eui): DeviceKeys;
}

/**
 * The derivation label for a device key. Whoever needs a seed-derived meter's public keys (the harness, to put
 * them in the mock DCC's inventory) derives them with the same seed and label.
 */
export function deviceKeyLabel(eui: Eui, usage: 'ds' | 'ka'): string {
  return `smets-hil/device/${eui}/${usage}`;
}

export function deriveDeviceKeys(seed: string | Uint8Array, eui: Eui): DeviceKeys {
  return { ds: deriveKeyPair(seed, deviceKeyLabel(eui, 'ds')), ka: deriveKeyPair(seed, deviceKeyLabel(eui, 'ka')) };
}

/** Seed-derived keys with a bounded cache shared by every meter that uses this source. */
export class SeededKeySource implements DeviceKeySource {
  private readonly cache = new Map<Eui, DeviceKeys>();

  constructor(
    private readonly seed: string | Uint8Array,
    private readonly cacheSize = 1024,
  ) {}

  keysFor(eui: Eui): DeviceKeys {
    const hit = this.cache.get(eui);
    if (hit) {
      // Map keeps insertion order: re-inserting makes this the most recently used entry.
      this.cache.delete(eui);
      this.cache.set(eui, hit);
      return hit;
    }
    const keys = deriveDeviceKeys(this.seed, eui);
    this.cache.set(eui, keys);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return keys;
  }
}

/** Fresh random keys, made on first use and kept (for a handful of meters). */
export class GeneratedKeySource implements DeviceKeySource {
  private readonly keys = new Map<Eui, DeviceKeys>();

  keysFor(eui: Eui): DeviceKeys {
    let k = this.keys.get(eui);
    if (!k) this.keys.set(eui, (k = { ds: generateKeyPair(), ka: generateKeyPair() }));
    return k;
  }

  /** Installs known keys for a meter (e.g. to match certificates issued elsewhere). */
  set(eui: Eui, keys: DeviceKeys): this {
    this.keys.set(eui, keys);
    return this;
  }
}

export type { KeyObject };
