/** Polls `f` until it gives a truthy value, for at most 10 s; the last value either way. */
export async function until<T>(f: () => Promise<T> | T): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await f();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
