/** The admin API's input: zod building blocks shared by its schemas, and the errors bad input raises. */
import { z } from 'zod';
import { parseEui } from '../protocol/smki/eui.ts';

/** An EUI-64 in either DUIS or compact form, normalised to 16 upper-case hex digits. */
export const euiSchema = z.string().transform((s, ctx) => {
  try {
    return parseEui(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

/** Readable one-line summary of a zod error: "path: message; path: message" (`root` names the whole input). */
export function describeZodError(error: z.ZodError, root = 'body'): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : root}: ${i.message}`).join('; ');
}

/** An admin request that is well formed but cannot be carried out as asked: HTTP 400. */
export class BadInput extends Error {
  override readonly name = 'BadInput';
}

/** Something an admin request names (a party, a certificate) does not exist: HTTP 404. */
export class NotFound extends Error {
  override readonly name = 'NotFound';
}
