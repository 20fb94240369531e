/**
 * Subscribers to one kind of event, as links, transports and networks keep them: `add` returns the function that
 * unsubscribes (what onFrame/onState hand back), `emit` calls every current subscriber in the order they came.
 */
export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();

  add(listener: (...args: A) => void): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }

  emit(...args: A): void {
    for (const l of this.set) l(...args);
  }
}
