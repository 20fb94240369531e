/**
 * Polls `f` until it gives a truthy value, for at most `withinMs` (default 10 s), every `everyMs` (default 50 ms);
 * the last value either way. The limit is a generous bound for a loaded machine, never what a test measures.
 */
export async function until<T>(f: () => Promise<T> | T, o: { withinMs?: number; everyMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (o.withinMs ?? 10_000);
  for (;;) {
    const v = await f();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, o.everyMs ?? 50));
  }
}
