/**
 * The fake coordinator's non-volatile memory: Z-Stack's legacy OSAL items (16-bit ids) and the Z-Stack 3
 * extended items (system id, item id, sub id), as plain byte arrays, plus the network items a real
 * coordinator writes when it forms a network.
 *
 * Layout facts (Z-Stack 3.x, unaligned targets): the NIB (nwkIB_t) is 110 octets; a network key descriptor is
 * a sequence number and the 16-octet key; the NWKKEY item is that plus a 4-octet frame counter (21 octets,
 * which is how a host tells an unaligned target from an aligned one, whose item is 24). Multi-octet integers
 * are little-endian; IEEE addresses and extended PAN ids are stored least significant octet first.
 */

/** Legacy NV item ids used by a host during start-up and backup. */
export const NvItem = {
  EXTADDR: 0x0001,
  STARTUP_OPTION: 0x0003,
  NIB: 0x0021,
  EXTENDED_PAN_ID: 0x002d,
  NWK_ACTIVE_KEY_INFO: 0x003a,
  NWK_ALTERN_KEY_INFO: 0x003b,
  APS_USE_EXT_PANID: 0x0047,
  ZNP_HAS_CONFIGURED_ZSTACK3: 0x0060,
  PRECFGKEY: 0x0062,
  PRECFGKEYS_ENABLE: 0x0063,
  NWKKEY: 0x0082,
  PANID: 0x0083,
  CHANLIST: 0x0084,
  LOGICAL_TYPE: 0x0087,
  ZDO_DIRECT_CB: 0x008f,
} as const;

/** Startup option bits (STARTUP_OPTION): on reset, restore default configuration / clear network state. */
export const STARTOPT_DEFAULT_CONFIG = 0x01;
export const STARTOPT_CLEAR_STATE = 0x02;

/** Value a host writes to ZNP_HAS_CONFIGURED once it has commissioned the coordinator. */
export const HAS_CONFIGURED = 0x55;

export class NvMemory {
  private readonly legacy = new Map<number, Buffer>();
  private readonly extended = new Map<string, Buffer>();

  length(id: number): number {
    return this.legacy.get(id)?.length ?? 0;
  }
  read(id: number): Buffer | undefined {
    return this.legacy.get(id);
  }
  /** Creates the item; false when it existed already (and is left as it was). */
  init(id: number, length: number, initial: Uint8Array): boolean {
    if (this.legacy.has(id)) return false;
    const b = Buffer.alloc(length);
    Buffer.from(initial).copy(b, 0, 0, Math.min(initial.length, length));
    this.legacy.set(id, b);
    return true;
  }
  /** Overwrites part of an existing item; false when it does not exist or the write would not fit. */
  write(id: number, offset: number, value: Uint8Array): boolean {
    const b = this.legacy.get(id);
    if (!b || offset + value.length > b.length) return false;
    Buffer.from(value).copy(b, offset);
    return true;
  }
  /** Creates or replaces an item (what the coordinator itself does when it forms a network). */
  set(id: number, value: Uint8Array): void {
    this.legacy.set(id, Buffer.from(value));
  }
  delete(id: number): boolean {
    return this.legacy.delete(id);
  }

  private key(sys: number, item: number, sub: number): string {
    return `${sys}:${item}:${sub}`;
  }
  extLength(sys: number, item: number, sub: number): number {
    return this.extended.get(this.key(sys, item, sub))?.length ?? 0;
  }
  extRead(sys: number, item: number, sub: number): Buffer | undefined {
    return this.extended.get(this.key(sys, item, sub));
  }
  extCreate(sys: number, item: number, sub: number, length: number): boolean {
    const k = this.key(sys, item, sub);
    if (this.extended.has(k)) return false;
    this.extended.set(k, Buffer.alloc(length));
    return true;
  }
  extWrite(sys: number, item: number, sub: number, offset: number, value: Uint8Array): boolean {
    const b = this.extended.get(this.key(sys, item, sub));
    if (!b || offset + value.length > b.length) return false;
    Buffer.from(value).copy(b, offset);
    return true;
  }
  extDelete(sys: number, item: number, sub: number): boolean {
    return this.extended.delete(this.key(sys, item, sub));
  }

  /** Ids of the legacy items present (for logs and tests). */
  items(): number[] {
    return [...this.legacy.keys()].sort((a, b) => a - b);
  }
}

export interface NetworkParameters {
  panId: number;
  /** Most significant octet first, as hosts configure it. */
  extendedPanId: Buffer;
  channel: number;
  networkKey: Buffer;
  /** The coordinator's IEEE address, most significant octet first. */
  ieee: Buffer;
}

/** nwkIB_t member sizes in order (unaligned): the fields named here are the ones a host reads. */
const NIB_FIELDS: readonly (readonly [string, number])[] = [
  ['SequenceNum', 1], ['PassiveAckTimeout', 1], ['MaxBroadcastRetries', 1], ['MaxChildren', 1], ['MaxDepth', 1],
  ['MaxRouters', 1], ['dummyNeighborTable', 1], ['BroadcastDeliveryTime', 1], ['ReportConstantCost', 1],
  ['RouteDiscRetries', 1], ['dummyRoutingTable', 1], ['SecureAllFrames', 1], ['SecurityLevel', 1], ['SymLink', 1],
  ['CapabilityFlags', 1], ['TransactionPersistenceTime', 2], ['nwkProtocolVersion', 1], ['RouteDiscoveryTime', 1],
  ['RouteExpiryTime', 1], ['nwkDevAddress', 2], ['nwkLogicalChannel', 1], ['nwkCoordAddress', 2],
  ['nwkCoordExtAddress', 8], ['nwkPanId', 2], ['nwkState', 1], ['channelList', 4], ['beaconOrder', 1],
  ['superFrameOrder', 1], ['scanDuration', 1], ['battLifeExt', 1], ['allocatedRouterAddresses', 4],
  ['allocatedEndDeviceAddresses', 4], ['nodeDepth', 1], ['extendedPANID', 8], ['nwkKeyLoaded', 1],
  ['spare1', 17], ['spare2', 17], ['spare3', 1], ['spare4', 1], ['nwkLinkStatusPeriod', 1], ['nwkRouterAgeLimit', 1],
  ['nwkUseMultiCast', 1], ['nwkIsConcentrator', 1], ['nwkConcentratorDiscoveryTime', 1], ['nwkConcentratorRadius', 1],
  ['nwkAllFresh', 1], ['nwkManagerAddr', 2], ['nwkTotalTransmissions', 2], ['nwkUpdateId', 1],
];

export const NIB_LENGTH = NIB_FIELDS.reduce((n, [, size]) => n + size, 0);

function nibOffsets(): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  let at = 0;
  for (const [name, size] of NIB_FIELDS) {
    m.set(name, [at, size]);
    at += size;
  }
  return m;
}
const NIB_AT = nibOffsets();

/** A NIB for a coordinator that has formed the network `p` (plausible defaults for everything else). */
export function buildNib(p: NetworkParameters): Buffer {
  const b = Buffer.alloc(NIB_LENGTH);
  const put = (name: string, v: number | Uint8Array) => {
    const [at, size] = NIB_AT.get(name)!;
    if (typeof v !== 'number') Buffer.from(v).copy(b, at);
    else if (size === 1) b.writeUInt8(v, at);
    else if (size === 2) b.writeUInt16LE(v, at);
    else b.writeUInt32LE(v >>> 0, at);
  };
  put('PassiveAckTimeout', 5);
  put('MaxBroadcastRetries', 2);
  put('MaxChildren', 20);
  put('MaxDepth', 15);
  put('MaxRouters', 20);
  put('BroadcastDeliveryTime', 30);
  put('RouteDiscRetries', 2);
  put('SecureAllFrames', 1);
  put('SecurityLevel', 5);
  put('CapabilityFlags', 0x8f);
  put('TransactionPersistenceTime', 7);
  put('nwkProtocolVersion', 2);
  put('RouteDiscoveryTime', 5);
  put('RouteExpiryTime', 30);
  put('nwkDevAddress', 0x0000);
  put('nwkLogicalChannel', p.channel);
  put('nwkCoordAddress', 0x0000);
  put('nwkPanId', p.panId);
  put('nwkState', 1);
  put('channelList', 1 << p.channel);
  put('beaconOrder', 15);
  put('superFrameOrder', 15);
  put('scanDuration', 4);
  put('extendedPANID', Buffer.from(p.extendedPanId).reverse());
  put('nwkKeyLoaded', 1);
  put('nwkLinkStatusPeriod', 15);
  put('nwkRouterAgeLimit', 3);
  put('nwkIsConcentrator', 1);
  put('nwkConcentratorDiscoveryTime', 120);
  put('nwkConcentratorRadius', 10);
  put('nwkAllFresh', 1);
  return b;
}

/** Reads a NIB field (for tests). */
export function nibField(nib: Buffer, name: string): number | Buffer {
  const f = NIB_AT.get(name);
  if (!f) throw new RangeError(`no NIB field ${name}`);
  const [at, size] = f;
  if (size === 1) return nib.readUInt8(at);
  if (size === 2) return nib.readUInt16LE(at);
  if (size === 4) return nib.readUInt32LE(at);
  return Buffer.from(nib.subarray(at, at + size));
}

export function keyDescriptor(key: Buffer, seq = 0): Buffer {
  return Buffer.concat([Buffer.of(seq), key]);
}

/** NWKKEY: descriptor plus frame counter; 21 octets marks an unaligned target. */
export function nwkKeyItem(key: Buffer, seq = 0, frameCounter = 0): Buffer {
  const fc = Buffer.alloc(4);
  fc.writeUInt32LE(frameCounter);
  return Buffer.concat([keyDescriptor(key, seq), fc]);
}

/** Writes what a coordinator holds once it has formed the network (used on formation and for a pre-formed start). */
export function storeFormedNetwork(nv: NvMemory, p: NetworkParameters): void {
  nv.set(NvItem.NIB, buildNib(p));
  nv.set(NvItem.NWK_ACTIVE_KEY_INFO, keyDescriptor(p.networkKey));
  nv.set(NvItem.NWK_ALTERN_KEY_INFO, keyDescriptor(p.networkKey));
  nv.set(NvItem.NWKKEY, nwkKeyItem(p.networkKey));
}

/** Forgets the network (a reset with the clear-state startup option). */
export function clearNetwork(nv: NvMemory): void {
  nv.delete(NvItem.NIB);
  nv.delete(NvItem.NWK_ACTIVE_KEY_INFO);
  nv.delete(NvItem.NWK_ALTERN_KEY_INFO);
}
