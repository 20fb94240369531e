/** Stopping a long command (a scenario run, a fleet) cleanly on Ctrl-C or SIGTERM. */

/**
 * A signal that Ctrl-C (SIGINT) or SIGTERM fires while a run lasts; `dispose` gives the process signals back.
 * Repeats are absorbed until then: npm and tsx pass a terminal's Ctrl-C on to the process that already had it,
 * and a second signal must not end the process before the clean-up.
 */
export function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  return {
    signal: stop.signal,
    dispose: () => {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    },
  };
}
