/**
 * SMKI remote party role codes (carried in an Organisation certificate's subject OU as two hex digits) and
 * DUIS User Roles.
 */
export const RemotePartyRole = {
  root: 0,
  recovery: 1,
  supplier: 2,
  networkOperator: 3,
  accessControlBroker: 4,
  transitionalCoS: 5,
  wanProvider: 6,
  issuingAuthority: 7,
  loadController: 8,
  other: 127,
  xmlSigning: 135,
  dccXmlSigning: 137,
} as const;
export type RemotePartyRoleName = keyof typeof RemotePartyRole;

const ROLE_NAMES = new Map<number, RemotePartyRoleName>(
  Object.entries(RemotePartyRole).map(([name, code]) => [code, name as RemotePartyRoleName]),
);

export function roleName(code: number): RemotePartyRoleName | undefined {
  return ROLE_NAMES.get(code);
}

/** OU value for a role: two upper-case hex digits ("02", "87"). */
export function roleOu(code: number): string {
  return code.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * DUIS User Roles. `SC` is the Supplier of Last Resort Contingency role proposed by MP134B; the two-letter
 * code is this project's choice (DUIS has not defined one yet).
 */
export const USER_ROLES = ['IS', 'ES', 'GS', 'ED', 'GT', 'OU', 'RSA', 'SC'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export function isUserRole(s: string): s is UserRole {
  return (USER_ROLES as readonly string[]).includes(s);
}
