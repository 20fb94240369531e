/**
 * The SRV eligibility table: for every DUIS Service Reference Variant, whether it is critical, future-dated or
 * non-device, and which User Roles may send it. Loaded from versioned data (srv-eligibility.yaml).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { isUserRole, type UserRole } from '../../protocol/smki/roles.ts';

export interface SrvEligibility {
  srv: string;
  name: string;
  critical: boolean;
  onDemand: boolean;
  /** Future Dated Response Pattern: "Device", "DSP", "DSP & Device" or "No". */
  futureDatedResponse: string;
  dccScheduled: boolean;
  nonDevice: boolean;
  roles: UserRole[];
}

export class EligibilityError extends Error {
  override readonly name = 'EligibilityError';
}

const yesNo = (v: string, where: string): boolean => {
  if (v === 'Yes') return true;
  if (v === 'No') return false;
  throw new EligibilityError(`${where}: expected Yes or No, got ${JSON.stringify(v)}`);
};

/**
 * Parses the DUIS SRV matrix (pipe-separated: SRV|Name|Critical|OnDemand|FDRP|DCCSched|NonDevice|Roles). A row
 * whose name runs onto a second line (8.2 in DUIS V5.4) is joined back up.
 */
export function parseSrvMatrix(text: string): SrvEligibility[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const out: SrvEligibility[] = [];
  for (let i = 1; i < lines.length; i++) {
    let cells = lines[i]!.split('|');
    while (cells.length < 8 && i + 1 < lines.length) {
      const next = lines[++i]!.split('|');
      cells = [...cells.slice(0, -1), `${cells[cells.length - 1]} ${next[0]}`.trim(), ...next.slice(1)];
    }
    if (cells.length !== 8) throw new EligibilityError(`SRV matrix line ${i + 1}: expected 8 fields, got ${cells.length}`);
    const [srv, name, critical, onDemand, fdrp, dccSched, nonDevice, roles] = cells.map((c) => c.trim()) as [string, string, string, string, string, string, string, string];
    const where = `SRV ${srv}`;
    const roleList = roles === '' ? [] : roles.split(',').map((r) => r.trim());
    for (const r of roleList) if (!isUserRole(r)) throw new EligibilityError(`${where}: unknown User Role ${r}`);
    out.push({
      srv,
      name,
      critical: yesNo(critical, where),
      onDemand: yesNo(onDemand, where),
      futureDatedResponse: fdrp,
      dccScheduled: yesNo(dccSched, where),
      nonDevice: yesNo(nonDevice, where),
      roles: roleList as UserRole[],
    });
  }
  return out;
}

/** The eligibility table with lookups; `scAllowedSrvs` replaces the SC column (BR3: configurable). */
export class EligibilityTable {
  private readonly bySrv: Map<string, SrvEligibility>;

  constructor(
    readonly version: string,
    rows: SrvEligibility[],
    scAllowedSrvs?: readonly string[],
  ) {
    this.bySrv = new Map(rows.map((r) => [r.srv, { ...r, roles: [...r.roles] }]));
    if (scAllowedSrvs) {
      for (const s of scAllowedSrvs) if (!this.bySrv.has(s)) throw new EligibilityError(`SoLR Contingency allowed SRV ${s} is not in the eligibility table`);
      for (const row of this.bySrv.values()) {
        row.roles = row.roles.filter((r) => r !== 'SC');
        if (scAllowedSrvs.includes(row.srv)) row.roles.push('SC');
      }
    }
  }

  static load(options: { path?: string; scAllowedSrvs?: readonly string[] } = {}): EligibilityTable {
    const path = options.path ?? new URL('./srv-eligibility.yaml', import.meta.url);
    const data = parse(readFileSync(path, 'utf8')) as { version?: unknown; srvs?: unknown };
    if (typeof data?.version !== 'string' || !Array.isArray(data.srvs)) throw new EligibilityError('eligibility table needs a version and an srvs list');
    const rows = data.srvs as SrvEligibility[];
    for (const r of rows) for (const role of r.roles) if (!isUserRole(role)) throw new EligibilityError(`SRV ${r.srv}: unknown User Role ${role}`);
    return new EligibilityTable(data.version, rows, options.scAllowedSrvs);
  }

  get(srv: string): SrvEligibility | undefined {
    return this.bySrv.get(srv);
  }

  eligibleRoles(srv: string): readonly UserRole[] {
    return this.bySrv.get(srv)?.roles ?? [];
  }

  srvsFor(role: UserRole): string[] {
    return [...this.bySrv.values()].filter((r) => r.roles.includes(role)).map((r) => r.srv);
  }

  all(): SrvEligibility[] {
    return [...this.bySrv.values()];
  }
}
