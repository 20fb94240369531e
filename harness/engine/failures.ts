/**
 * The two ways a step can go wrong. A ProductFailure means the DCC or a meter did the wrong thing (verdict
 * fail); an InfrastructureError means a link, a rig or the harness itself failed (verdict error).
 */
export class ProductFailure extends Error {
  override readonly name = 'ProductFailure';
}

export class InfrastructureError extends Error {
  override readonly name = 'InfrastructureError';
}
