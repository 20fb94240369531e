/**
 * What the DCC knows about Users and devices (in the real DCC: the registration data and SMI status feeds),
 * persisted in the store. Admin input is validated with zod before anything is written.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { type Eui, isEui } from '../protocol/smki/eui.ts';
import { USER_ROLES, type UserRole } from '../protocol/smki/roles.ts';
import { BadInput, euiSchema as eui } from './schemas.ts';
import type { Db } from './store.ts';


export const PARTY_STATUSES = ['active', 'suspended', 'failed'] as const;
export type PartyStatus = (typeof PARTY_STATUSES)[number];

const partyFields = {
  eui,
  name: z.string().min(1).max(200),
  roles: z
    .array(z.enum(USER_ROLES))
    .min(1)
    .refine((r) => new Set(r).size === r.length, 'a role is listed more than once'),
  status: z.enum(PARTY_STATUSES),
  /** Where the DCC POSTs this User's asynchronous responses and alerts (fetch speaks nothing but http(s)). */
  endpoint: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).nullable(),
  /** The party's Shared Resource Provider: where its alerts go once it has failed (BR7). */
  srp: eui.nullable(),
};
/** A party to register: name and roles required, the rest defaulted. */
export const partyInput = z.strictObject({
  ...partyFields,
  status: partyFields.status.default('active'),
  endpoint: partyFields.endpoint.default(null),
  srp: partyFields.srp.default(null),
});
/** An update to a registered party: the fields it names (null clears endpoint or srp); the others stay. */
const partyUpdate = z.strictObject(partyFields).partial({ name: true, roles: true, status: true, endpoint: true, srp: true });
export type PartyInput = z.input<typeof partyInput> | z.input<typeof partyUpdate>;
/** A party's registration or update as the registry reads it (its EUI in canonical form). */
export function readPartyUpdate(input: PartyInput): z.output<typeof partyUpdate> {
  return partyUpdate.parse(input);
}
export interface Party {
  eui: Eui;
  name: string;
  roles: UserRole[];
  status: PartyStatus;
  endpoint: string | null;
  srp: Eui | null;
}

export const DEVICE_TYPES = ['ESME', 'GSME', 'SMETS1'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];
export const SMI_STATUSES = ['commissioned', 'installed-not-commissioned', 'suspended', 'decommissioned', 'withdrawn'] as const;
export type SmiStatus = (typeof SMI_STATUSES)[number];

export const FUELS = ['electricity', 'gas'] as const;
export type Fuel = (typeof FUELS)[number];

/** The fuel a SMETS2+ device's type implies; a SMETS1 meter says its own. */
function impliedFuel(type: DeviceType): Fuel | undefined {
  return type === 'ESME' ? 'electricity' : type === 'GSME' ? 'gas' : undefined;
}

/**
 * A device's kind made whole and consistent: an ESME is electricity and a GSME gas (a SMETS1 meter says which,
 * electricity when it does not), and only an ESME has a second element. A contradiction is an issue on its field.
 */
export function deviceKind<T extends { type: DeviceType; twin: boolean; fuel?: Fuel | undefined }>(d: T, ctx: z.RefinementCtx): T & { fuel: Fuel } {
  const implied = impliedFuel(d.type);
  if (implied && d.fuel && d.fuel !== implied) ctx.addIssue({ code: 'custom', path: ['fuel'], message: `${d.type === 'ESME' ? 'an ESME' : 'a GSME'} is ${implied}` });
  if (d.twin && d.type !== 'ESME') ctx.addIssue({ code: 'custom', path: ['twin'], message: 'only an ESME has a second element' });
  return { ...d, fuel: implied ?? d.fuel ?? 'electricity' };
}

/** Who may be a device's supplier and its network operator, by its fuel. */
export const DEVICE_PARTY_ROLES = {
  electricity: { supplier: { role: 'IS', what: 'an import supplier (IS)' }, networkOperator: { role: 'ED', what: 'an electricity distributor (ED)' } },
  gas: { supplier: { role: 'GS', what: 'a gas supplier (GS)' }, networkOperator: { role: 'GT', what: 'a gas transporter (GT)' } },
} as const satisfies Record<Fuel, Record<'supplier' | 'networkOperator', { role: UserRole; what: string }>>;

/**
 * Why a party acting in `roles` cannot be named where one of `need` is wanted (`what` names the need), or null
 * when it can: one wording for the DCC's admin API and the scenario loader.
 */
export function roleMismatch(who: string, roles: readonly UserRole[], need: readonly UserRole[], what: string): string | null {
  return roles.some((r) => need.includes(r)) ? null : `${who} acts as ${roles.join(', ')}, not as ${what}`;
}

export const deviceInput = z
  .strictObject({
    eui,
    type: z.enum(DEVICE_TYPES),
    /** ESME: one or two tariff elements. */
    twin: z.boolean().default(false),
    /** SMETS1: which fuel (an ESME is electricity, a GSME gas). */
    fuel: z.enum(FUELS).optional(),
    /** The registered Import (or Gas) Supplier. */
    supplier: eui,
    networkOperator: eui.nullable().default(null),
    smiStatus: z.enum(SMI_STATUSES).default('commissioned'),
  })
  .transform(deviceKind);
export type DeviceInput = z.input<typeof deviceInput>;
export interface DeviceRecord {
  eui: Eui;
  type: DeviceType;
  twin: boolean;
  fuel: Fuel;
  supplier: Eui;
  networkOperator: Eui | null;
  smiStatus: SmiStatus;
}

/**
 * Registering a known EUI again updates its supplier, network operator and SMI status (a change of supplier, a
 * status feed); its kind stays: when type, twin or a SMETS1 meter's fuel differ, the WHERE leaves the row alone
 * and put() refuses the registration. (Fuel is compared for SMETS1 only: stores written before deviceKind may
 * hold a GSME as "electricity"; rewriting the variant mends them.)
 */
const PUT_DEVICE = `INSERT INTO devices (eui, type, variant, supplier, network_operator, smi_status) VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (eui) DO UPDATE SET variant = excluded.variant, supplier = excluded.supplier,
    network_operator = excluded.network_operator, smi_status = excluded.smi_status
  WHERE devices.type = excluded.type
    AND json_extract(devices.variant, '$.twin') IS json_extract(excluded.variant, '$.twin')
    AND (devices.type <> 'SMETS1' OR json_extract(devices.variant, '$.fuel') IS json_extract(excluded.variant, '$.fuel'))`;

/** The most parties, and devices, the registry keeps as read (it starts again when full). */
export const MEMO_SIZE = 4096;

export class Registry {
  /**
   * Parties and devices as last read, by EUI (each read more than once per request). Every write here clears
   * them, and so does a rolled-back group commit (forget()); this process is the store's only writer.
   */
  private readonly partyMemo = new Map<Eui, Party | undefined>();
  private readonly deviceMemo = new Map<Eui, DeviceRecord | undefined>();

  constructor(private readonly db: Db) {}

  /** How many parties and devices are kept as read (at most MEMO_SIZE each). */
  get memoized(): { parties: number; devices: number } {
    return { parties: this.partyMemo.size, devices: this.deviceMemo.size };
  }

  /** Drops what was read (the store's writes may have been rolled back). */
  forget(): void {
    this.partyMemo.clear();
    this.deviceMemo.clear();
  }

  /**
   * Registers a party, or updates a registered one. An update changes only what it names: re-sending a failed
   * supplier to change its endpoint must not make it active again, nor drop the SRP its alerts go to (BR7).
   */
  putParty(input: PartyInput): Party {
    const update = readPartyUpdate(input);
    const current = this.party(update.eui);
    const p: Party = current ? { ...current, ...update } : partyInput.parse(input);
    if (p.srp === p.eui) throw new BadInput('srp: a party is not its own Shared Resource Provider');
    // A mistyped SRP would surface only when an alert finds no route (BR7), so it is refused here instead.
    if (p.srp && p.srp !== current?.srp && !this.party(p.srp)) throw new BadInput(`srp: no party ${p.srp} is registered (register the Shared Resource Provider first)`);
    if (current && update.roles) this.checkRolesKeepDevices(p);
    this.partyMemo.clear();
    this.db
      .prepare(
        `INSERT INTO parties (eui, name, roles, status, endpoint, srp, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (eui) DO UPDATE SET name = excluded.name, roles = excluded.roles, status = excluded.status,
           endpoint = excluded.endpoint, srp = excluded.srp`,
      )
      .run(p.eui, p.name, JSON.stringify(p.roles), p.status, p.endpoint, p.srp, new Date().toISOString());
    return p;
  }

  /** A party's new roles must still fit every device it is registered to supply or operate. */
  private checkRolesKeepDevices(p: Party): void {
    for (const d of this.db.prepare('SELECT * FROM devices WHERE supplier = ? OR network_operator = ?').all(p.eui, p.eui) as DeviceRow[]) {
      const device = deviceFromRow(d);
      const { supplier, networkOperator } = DEVICE_PARTY_ROLES[device.fuel];
      const needs = [
        ...(device.supplier === p.eui ? [{ as: 'its supplier', ...supplier }] : []),
        ...(device.networkOperator === p.eui ? [{ as: 'its network operator', ...networkOperator }] : []),
      ];
      for (const need of needs) {
        const mismatch = roleMismatch(p.eui, p.roles, [need.role], need.what);
        if (mismatch) throw new BadInput(`roles: ${mismatch}, which device ${device.eui} needs (${need.as})`);
      }
    }
  }

  party(e: Eui): Party | undefined {
    if (this.partyMemo.has(e)) return this.partyMemo.get(e);
    const row = this.db.prepare('SELECT * FROM parties WHERE eui = ?').get(e) as PartyRow | undefined;
    const party = row && Object.freeze(partyFromRow(row));
    // Bounded as devices are: requests naming EUIs no party has would otherwise each leave an entry behind.
    if (this.partyMemo.size >= MEMO_SIZE) this.partyMemo.clear();
    this.partyMemo.set(e, party);
    return party;
  }

  parties(): Party[] {
    return (this.db.prepare('SELECT * FROM parties ORDER BY eui').all() as PartyRow[]).map(partyFromRow);
  }

  putDevice(input: DeviceInput): DeviceRecord {
    return this.putParsedDevice(this.readDevice(input));
  }

  /**
   * A device registration as the registry reads it. For a registered EUI, the fields it leaves out keep their
   * stored values, as a party's do: a change of supplier that names only the supplier does not recommission a
   * decommissioned meter, drop its network operator, or (for a SMETS1 gas meter) change its fuel; a change of
   * SMI status need not repeat the type and supplier.
   */
  readDevice(input: unknown): DeviceRecord {
    const named = (k: string) => typeof input === 'object' && input !== null && k in input;
    const keep = (['type', 'supplier', 'twin', 'fuel', 'networkOperator', 'smiStatus'] as const).filter((k) => !named(k));
    const id = eui.safeParse(typeof input === 'object' && input !== null ? (input as { eui?: unknown }).eui : undefined);
    const stored = keep.length && id.success ? this.device(id.data) : undefined;
    if (!stored) return deviceInput.parse(input);
    const kept = Object.fromEntries(keep.filter((k) => k !== 'fuel' || stored.type === 'SMETS1').map((k) => [k, stored[k]]));
    return deviceInput.parse({ ...(input as object), ...kept });
  }

  /** putDevice for a body already parsed with `deviceInput` (the admin API checks its parties in between). */
  putParsedDevice(d: DeviceRecord): DeviceRecord {
    this.deviceMemo.clear();
    this.put(this.db.prepare(PUT_DEVICE), d);
    return d;
  }

  /** Registers many devices in one transaction (an inventory feed), each validated as putDevice does. */
  putDevices(inputs: Iterable<DeviceInput>): number {
    const put = this.db.prepare(PUT_DEVICE);
    let n = 0;
    this.deviceMemo.clear();
    try {
      this.db.transaction(() => {
        for (const input of inputs) {
          this.put(put, this.readDevice(input));
          n++;
        }
      })();
    } catch (e) {
      // Rows read inside the transaction were rolled back with it.
      this.deviceMemo.clear();
      throw e;
    }
    return n;
  }

  private put(statement: Database.Statement, d: DeviceRecord): void {
    const changes = statement.run(d.eui, d.type, JSON.stringify({ twin: d.twin, fuel: d.fuel }), d.supplier, d.networkOperator, d.smiStatus).changes;
    // What was read of it before (a feed reads its earlier entries) is stale now.
    this.deviceMemo.delete(d.eui);
    if (changes === 0) {
      const known = this.device(d.eui)!;
      throw new BadInput(`type: ${d.eui} is registered as ${kindText(known)}, not ${kindText(d)}: a device's kind does not change (a new meter has its own EUI)`);
    }
  }

  device(e: Eui): DeviceRecord | undefined {
    if (this.deviceMemo.has(e)) return this.deviceMemo.get(e);
    const row = this.db.prepare('SELECT * FROM devices WHERE eui = ?').get(e) as DeviceRow | undefined;
    const device = row && Object.freeze(deviceFromRow(row));
    // The recently used ones: a fleet has millions, a request reads its device two or three times.
    if (this.deviceMemo.size >= MEMO_SIZE) this.deviceMemo.clear();
    this.deviceMemo.set(e, device);
    return device;
  }

  /** Devices in EUI order: those after `after`, at most `limit` of them (a fleet's DCC holds millions). */
  devices(page: { after?: Eui; limit?: number } = {}): DeviceRecord[] {
    // Every EUI sorts after '', and SQLite reads a negative LIMIT as none: one statement serves every page.
    const rows = this.db.prepare('SELECT * FROM devices WHERE eui > ? ORDER BY eui LIMIT ?').all(page.after ?? '', page.limit ?? -1) as DeviceRow[];
    return rows.map(deviceFromRow);
  }
}

interface PartyRow {
  eui: string;
  name: string;
  roles: string;
  status: PartyStatus;
  endpoint: string | null;
  srp: string | null;
}

interface DeviceRow {
  eui: string;
  type: DeviceType;
  variant: string;
  supplier: string;
  network_operator: string | null;
  smi_status: SmiStatus;
}

function partyFromRow(r: PartyRow): Party {
  return { eui: r.eui as Eui, name: r.name, roles: JSON.parse(r.roles), status: r.status, endpoint: r.endpoint, srp: r.srp && isEui(r.srp) ? r.srp : null };
}

function deviceFromRow(r: DeviceRow): DeviceRecord {
  const v = JSON.parse(r.variant) as { twin: boolean; fuel: Fuel };
  const fuel = impliedFuel(r.type) ?? v.fuel;
  return { eui: r.eui as Eui, type: r.type, twin: v.twin, fuel, supplier: r.supplier as Eui, networkOperator: (r.network_operator as Eui | null) ?? null, smiStatus: r.smi_status };
}

function kindText(d: Pick<DeviceRecord, 'type' | 'twin' | 'fuel'>): string {
  if (d.type === 'SMETS1') return `a SMETS1 ${d.fuel} meter`;
  if (d.type === 'GSME') return 'a GSME';
  return d.twin ? 'a twin-element ESME' : 'an ESME';
}
