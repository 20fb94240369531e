/**
 * The narrow boundary between the DCC side and a device: a Link moves whole frames (GBCS APDUs, S1SP
 * instructions, responses, alerts) between two ends. It does not interpret them. Implementations: memory
 * (the reference), serial (SLIP-framed, stop-and-wait) and ZigBee (Smart Energy Tunneling). Request/response
 * matching and timeouts live once, in Transport (transport.ts), on top of any Link.
 */
export type LinkState = 'closed' | 'opening' | 'open' | 'failed';

export interface Link {
  /** For logs and errors: "memory:00DB1234567890A0", "serial:/dev/ttyUSB0", ... */
  readonly name: string;
  readonly state: LinkState;
  /** Resolves when frames can be sent; rejects with a LinkError if the link cannot be brought up. */
  open(): Promise<void>;
  /** Idempotent. Pending sends reject with a LinkError('closed'). */
  close(): Promise<void>;
  /**
   * Resolves once the link has taken responsibility for the frame (for serial: acknowledged by the far end);
   * rejects with a LinkError when it cannot be delivered. A frame is delivered at most once.
   *
   * Aborting `signal` withdraws a frame the link still holds, never put on the wire: the send rejects with
   * LinkError 'withdrawn' and the frame is never delivered. A frame already on its way cannot be withdrawn: its
   * send settles as it would have. A serial link holds frames queued behind the one awaiting its ACK; the memory
   * and ZigBee links pass each frame on at once, so for them only a signal aborted before the send withdraws.
   */
  send(frame: Uint8Array, o?: SendOptions): Promise<void>;
  /** Every frame from the far end, in order. Returns an unsubscribe function. */
  onFrame(listener: (frame: Uint8Array) => void): () => void;
  onState(listener: (state: LinkState, error?: LinkError) => void): () => void;
}

export interface SendOptions {
  signal?: AbortSignal;
}

/** 'withdrawn': the sender took the frame back before it left (see send). */
export type LinkErrorKind = 'closed' | 'disconnected' | 'timeout' | 'open-failed' | 'corrupt' | 'withdrawn';

/** An infrastructure failure of the link (not of the product under test). */
export class LinkError extends Error {
  override readonly name = 'LinkError';
  constructor(
    readonly kind: LinkErrorKind,
    message: string,
  ) {
    super(message);
  }
}
