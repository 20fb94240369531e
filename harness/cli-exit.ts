/** Exit codes of the smets-hil CLI and the error a command handler throws to end with one. */
export const EXIT = { ok: 0, failed: 1, usage: 2, infrastructure: 3, interrupted: 130 } as const;

/** Thrown by a command handler to end with a non-zero exit code and a message for stderr (may be empty). */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
