/**
 * Test sizes by level: CI runs a sample that keeps the suite to minutes on a loaded 2-core machine; `npm run
 * test:nightly` sets SMETS_HIL_LEVEL=nightly and the same test files run at full size. Any single size can be
 * forced with its own environment variable (e.g. SMETS_HIL_GBCS_MUTATIONS=5000000).
 */
export type Level = 'ci' | 'nightly';

export const LEVEL: Level = process.env.SMETS_HIL_LEVEL === 'nightly' ? 'nightly' : 'ci';

/** The size for this level, unless `env` names a variable that overrides it. */
export function sized(env: string, ci: number, nightly: number): number {
  const forced = process.env[env];
  if (forced !== undefined && forced !== '') {
    const n = Number(forced);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${env}=${forced}: not a non-negative number`);
    return n;
  }
  return LEVEL === 'nightly' ? nightly : ci;
}
