/**
 * Issuing policy: which certificates a party acting in a DUIS User Role may obtain from SMKI, as a data table
 * other code (the mock DCC, reports, docs) can read. MP134B business requirement 2 is the reason this exists:
 * the SoLR Contingency role (SC) may be issued XML Signing certificates, never Digital Signing certificates for
 * Critical Commands.
 *
 * **[model]** Remote party roles per User Role: Import and Gas Suppliers appear to devices as Supplier (2),
 * Electricity Distributors and Gas Transporters as Network Operator (3), Export Suppliers, Other Users and
 * Registered Supplier Agents as Other (127). Device certificates are requested by Suppliers and the DCC. SC holds
 * no GBCS Organisation certificate at all (neither DS nor KA): it authenticates to the DCC with XML Signing only.
 */
import { type CertificateProduct, PRODUCT_DESCRIPTIONS } from './certificate-products.ts';
import { RemotePartyRole, type UserRole, roleName } from './roles.ts';

/** A DUIS User Role, or the DCC itself (ACB, WAN provider, its own XML Signing certificate). */
export type Requester = UserRole | 'DCC';

export interface RolePolicy {
  /** Products this role may request. */
  permitted: readonly CertificateProduct[];
  /** Remote party role codes its Organisation certificates may carry; the first is the default. */
  remotePartyRoles: readonly number[];
  /** Products refused for a stated requirement, so the refusal can say why. */
  refused?: Readonly<Partial<Record<CertificateProduct, { requirement: string; reason: string }>>>;
}

export type IssuingPolicy = Readonly<Record<Requester, RolePolicy>>;

const GBCS_ORGANISATION: readonly CertificateProduct[] = ['organisation-ds', 'organisation-ka', 'xml-signing'];
const WITH_DEVICES: readonly CertificateProduct[] = [...GBCS_ORGANISATION, 'device-ds', 'device-ka'];

const BR2 = 'MP134B BR2';

export const ISSUING_POLICY: IssuingPolicy = {
  IS: { permitted: WITH_DEVICES, remotePartyRoles: [RemotePartyRole.supplier] },
  GS: { permitted: WITH_DEVICES, remotePartyRoles: [RemotePartyRole.supplier] },
  ES: { permitted: GBCS_ORGANISATION, remotePartyRoles: [RemotePartyRole.other] },
  ED: { permitted: GBCS_ORGANISATION, remotePartyRoles: [RemotePartyRole.networkOperator] },
  GT: { permitted: GBCS_ORGANISATION, remotePartyRoles: [RemotePartyRole.networkOperator] },
  OU: { permitted: GBCS_ORGANISATION, remotePartyRoles: [RemotePartyRole.other] },
  RSA: { permitted: GBCS_ORGANISATION, remotePartyRoles: [RemotePartyRole.other] },
  SC: {
    permitted: ['xml-signing'],
    remotePartyRoles: [],
    refused: {
      'organisation-ds': {
        requirement: BR2,
        reason: 'the SoLR Contingency role may be issued XML Signing certificates but not Digital Signing certificates for Critical Commands',
      },
      'organisation-ka': {
        requirement: BR2,
        reason: 'the SoLR Contingency role holds no GBCS Organisation certificates (modelled on BR2: XML Signing only)',
      },
    },
  },
  DCC: {
    permitted: WITH_DEVICES,
    remotePartyRoles: [
      RemotePartyRole.accessControlBroker,
      RemotePartyRole.wanProvider,
      RemotePartyRole.transitionalCoS,
      RemotePartyRole.recovery,
    ],
  },
};

export class IssuingPolicyError extends Error {
  override readonly name = 'IssuingPolicyError';
  constructor(
    message: string,
    readonly requester: Requester,
    readonly product: CertificateProduct,
    /** The business requirement that forbids this request ("MP134B BR2"), when one does. */
    readonly requirement: string | null,
  ) {
    super(message);
  }
}

const ROLE_LABEL: Record<Requester, string> = {
  IS: 'Import Supplier (IS)',
  ES: 'Export Supplier (ES)',
  GS: 'Gas Supplier (GS)',
  ED: 'Electricity Distributor (ED)',
  GT: 'Gas Transporter (GT)',
  OU: 'Other User (OU)',
  RSA: 'Registered Supplier Agent (RSA)',
  SC: 'SoLR Contingency (SC)',
  DCC: 'DCC',
};

export interface PolicyDecision {
  /** Role code for the subject OU of an Organisation or XML Signing certificate; null for Device certificates. */
  remotePartyRole: number | null;
}

/**
 * Checks one request against the table; throws IssuingPolicyError (naming the requirement, if any) when refused.
 * For Organisation certificates without an explicit remote party role, the role's default is chosen.
 */
export function checkIssuingPolicy(
  request: { requester: Requester; product: CertificateProduct; remotePartyRole?: number },
  policy: IssuingPolicy = ISSUING_POLICY,
): PolicyDecision {
  const { requester, product } = request;
  const row = policy[requester];
  if (!row) throw new IssuingPolicyError(`unknown requester role ${String(requester)}`, requester, product, null);
  const what = PRODUCT_DESCRIPTIONS[product];
  const refusal = row.refused?.[product];
  if (refusal) {
    throw new IssuingPolicyError(`SMKI refuses to issue a ${what} to a ${ROLE_LABEL[requester]} party: ${refusal.requirement}: ${refusal.reason}`, requester, product, refusal.requirement);
  }
  if (!row.permitted.includes(product)) {
    throw new IssuingPolicyError(`SMKI does not issue a ${what} to a ${ROLE_LABEL[requester]} party (issuing policy)`, requester, product, null);
  }
  if (product === 'xml-signing') {
    const role = requester === 'DCC' ? RemotePartyRole.dccXmlSigning : RemotePartyRole.xmlSigning;
    if (request.remotePartyRole !== undefined && request.remotePartyRole !== role) {
      throw new IssuingPolicyError(`an XML Signing certificate for a ${ROLE_LABEL[requester]} party carries role ${role}, not ${request.remotePartyRole}`, requester, product, null);
    }
    return { remotePartyRole: role };
  }
  if (product === 'device-ds' || product === 'device-ka') return { remotePartyRole: null };
  const role = request.remotePartyRole ?? row.remotePartyRoles[0];
  if (role === undefined || !row.remotePartyRoles.includes(role)) {
    const allowed = row.remotePartyRoles.map((r) => `${roleName(r)} (${r})`).join(', ') || 'none';
    throw new IssuingPolicyError(
      `a ${ROLE_LABEL[requester]} party may not hold Organisation certificates in remote party role ${role === undefined ? '(none)' : `${roleName(role) ?? 'unknown'} (${role})`}; allowed: ${allowed}`,
      requester,
      product,
      null,
    );
  }
  return { remotePartyRole: role };
}

/** The table as rows, for reports and documentation. */
export function issuingPolicyRows(policy: IssuingPolicy = ISSUING_POLICY): { requester: Requester; product: CertificateProduct; decision: 'issue' | 'refuse'; why: string }[] {
  const rows: { requester: Requester; product: CertificateProduct; decision: 'issue' | 'refuse'; why: string }[] = [];
  for (const requester of Object.keys(policy) as Requester[]) {
    const row = policy[requester];
    for (const product of Object.keys(PRODUCT_DESCRIPTIONS) as CertificateProduct[]) {
      const refusal = row.refused?.[product];
      if (refusal) rows.push({ requester, product, decision: 'refuse', why: `${refusal.requirement}: ${refusal.reason}` });
      else if (row.permitted.includes(product)) rows.push({ requester, product, decision: 'issue', why: 'permitted' });
      else rows.push({ requester, product, decision: 'refuse', why: 'not in the issuing policy' });
    }
  }
  return rows;
}
