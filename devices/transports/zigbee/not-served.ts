/**
 * A read the meter does not serve (no Prepayment cluster, or no such attribute in its answer): asking again would
 * cost a timeout per command for nothing. Apart from herdsman's module, so that whoever tells it from a passing
 * failure (a timeout, a link down) need not load the ZigBee stack.
 */
export class NotServedError extends Error {
  override readonly name = 'NotServedError';
}
