/**
 * Device snapshots and their differences: what the harness asserts on. A snapshot is plain JSON with keys in a
 * stable (sorted) order, counters as decimal strings and no keys or secrets, so two snapshots of the same state
 * serialise to the same text. A diff names every changed leaf by its path ("counters.90B3D51F30010000",
 * "eventLog[3]").
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A deep copy with object keys in sorted order (arrays keep their order). */
export function canonical<T extends Json>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => canonical(x)) as T;
  if (v !== null && typeof v === 'object') {
    const out: { [key: string]: Json } = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]!);
    return out as T;
  }
  return v;
}

export function stableStringify(v: Json, indent?: number): string {
  return JSON.stringify(canonical(v), null, indent);
}

export interface Change {
  path: string;
  /** Absent when the field was added. */
  before?: Json;
  /** Absent when the field was removed. */
  after?: Json;
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function walk(path: string, a: Json | undefined, b: Json | undefined, out: Change[]): void {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(path ? `${path}.${k}` : k, a[k], b[k], out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(`${path}[${i}]`, a[i], b[i], out);
    return;
  }
  if (a === undefined && b === undefined) return;
  if (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b)) return;
  const change: Change = { path };
  if (a !== undefined) change.before = a;
  if (b !== undefined) change.after = b;
  out.push(change);
}

/** Every leaf that differs between two snapshots, in path order. */
export function diffSnapshots(before: Json, after: Json): Change[] {
  const out: Change[] = [];
  walk('', before, after, out);
  return out;
}

/** Whether `path` is `allowed` itself or lies inside it ("eventLog" covers "eventLog[2].at"). */
export function pathWithin(path: string, allowed: string): boolean {
  return path === allowed || path.startsWith(`${allowed}.`) || path.startsWith(`${allowed}[`);
}

/** The changes outside the allowed paths: empty when the device changed only what it was allowed to. */
export function unexpectedChanges(changes: readonly Change[], allowed: readonly string[]): Change[] {
  return changes.filter((c) => !allowed.some((a) => pathWithin(c.path, a)));
}
