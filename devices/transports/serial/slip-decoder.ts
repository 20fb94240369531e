/**
 * SLIP (RFC 1055) decoding with a bound. @serialport/parser-slip-encoder's decoder grows its partial frame one
 * Buffer.concat per octet with no limit: a meter printing its boot log on the same UART (no END octet for
 * kilobytes) costs time quadratic in the backlog and memory without end. This one copies each octet once into
 * a buffer of the largest frame there can be, and throws away (as junk) a frame that outgrows it or carries an
 * escape SLIP does not define, up to the next END.
 */
const END = 0xc0;
const ESC = 0xdb;
const ESC_END = 0xdc;
const ESC_ESC = 0xdd;

/** Why a frame was given up. */
export type SlipJunk = 'too-long' | 'bad-escape';

export interface SlipDecoderHandlers {
  frame(frame: Buffer): void;
  /** A frame given up: about `octets` of it read before it was. */
  junk(octets: number, reason: SlipJunk): void;
}

export class BoundedSlipDecoder {
  private readonly buf: Buffer;
  private length = 0;
  private escaped = false;
  /** Giving up on the current frame: octets are skipped until the next END. */
  private skipping = false;

  constructor(
    readonly maxFrame: number,
    private readonly on: SlipDecoderHandlers,
  ) {
    this.buf = Buffer.alloc(maxFrame);
  }

  write(chunk: Uint8Array): void {
    for (const octet of chunk) {
      if (octet === END) {
        // ESC END is no escape SLIP defines: the frame it would end is given up, not delivered short of its last octet.
        if (this.escaped && !this.skipping) this.on.junk(this.length + 1, 'bad-escape');
        else if (!this.skipping && this.length > 0) this.on.frame(Buffer.from(this.buf.subarray(0, this.length)));
        this.length = 0;
        this.escaped = false;
        this.skipping = false;
        continue;
      }
      if (this.skipping) continue;
      let value = octet;
      if (this.escaped) {
        this.escaped = false;
        if (octet === ESC_END) value = END;
        else if (octet === ESC_ESC) value = ESC;
        else {
          this.giveUp('bad-escape');
          continue;
        }
      } else if (octet === ESC) {
        this.escaped = true;
        continue;
      }
      if (this.length === this.maxFrame) {
        this.giveUp('too-long');
        continue;
      }
      this.buf[this.length++] = value;
    }
  }

  private giveUp(reason: SlipJunk): void {
    this.on.junk(this.length + 1, reason);
    this.skipping = true;
    this.length = 0;
  }
}
