/**
 * The EUI each party and device of a scenario world has: the one written in the file, else one derived from its
 * alias. The loader checks them (no two alike) with the same derivation the engine uses to build the world.
 */
import { createHash } from 'node:crypto';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';

/** An EUI for an alias that has none: stable across runs, in a range no real DCC party uses. */
export function aliasEui(alias: string, kind: 'party' | 'device'): Eui {
  const h = createHash('sha256').update(`${kind}:${alias}`).digest('hex').slice(0, 10).toUpperCase();
  return parseEui((kind === 'party' ? '90B3D5' : '00DB00') + h);
}

/** The EUI a world entry has: as written, or derived from its alias. */
export function worldEui(alias: string, kind: 'party' | 'device', written: string | undefined): Eui {
  return written ? parseEui(written) : aliasEui(alias, kind);
}
