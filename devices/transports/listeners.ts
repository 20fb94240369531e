/**
 * Subscribers to one kind of event, as links, transports and networks keep them: `add` returns the function that
 * unsubscribes (what onFrame/onState hand back), `emit` calls every current subscriber in the order they came.
 * Given `onError`, a subscriber that throws is reported there and the others are still called: for events
 * emitted from someone else's callback (herdsman's), where a throw would escape as an unhandled rejection.
 */
export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();

  constructor(private readonly onError?: (e: unknown) => void) {}

  add(listener: (...args: A) => void): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }

  emit(...args: A): void {
    for (const l of this.set) {
      if (!this.onError) l(...args);
      else {
        try {
          l(...args);
        } catch (e) {
          this.onError(e);
        }
      }
    }
  }
}
