/**
 * The Smart Energy Prepayment cluster (0x0705), which herdsman 10.9.5 does not define: the part that
 * Change Payment Mode (SRV 1.6 on a GSME, GCS02/GCS03) touches, as a herdsman custom cluster, so a harness
 * can read a meter's payment mode at the ZigBee level (a rig health check, or a test that cross-checks the
 * GBCS answer against the meter's own attributes).
 *
 * Payment Control Configuration (attribute 0x0000, bitmap16) bits: 0x0001 Disconnection Enabled, 0x0002
 * Prepayment Enabled, 0x0004 Credit Management Enabled, 0x0010 Credit Display Enabled, 0x0040 Account Base,
 * 0x0080 Contactor Fitted, 0x0100 Standing Charge Configuration, 0x0200 Emergency Standing Charge
 * Configuration, 0x0400 Debt Configuration, 0x0800 Emergency Debt Configuration. GBCS writes 0x0C94 for
 * Credit and 0x0097 for Prepayment (+0x0400 when SuspendDebtDisabled, +0x0800 when not SuspendDebtEmergency).
 *
 * Data type ids are the ZCL ones (herdsman's DataType enum has the same values), so this file needs nothing
 * from herdsman.
 */
import { ZclType } from './zcl.ts';

export const PREPAYMENT_CLUSTER_ID = 0x0705;
export const PREPAYMENT_CLUSTER_NAME = 'sePrepayment';

export const PrepaymentAttribute = {
  paymentControlConfiguration: 0x0000,
  creditRemaining: 0x0001,
  emergencyCreditRemaining: 0x0002,
  creditStatus: 0x0003,
  cutOffValue: 0x0050,
} as const;

export const PREPAYMENT_ENABLED = 0x0002;
export const GBCS_CREDIT_CONFIGURATION = 0x0c94;
export const GBCS_PREPAYMENT_CONFIGURATION = 0x0097;

/** The cluster in herdsman's custom-cluster shape (attributes, commands, responses by name). */
export const PREPAYMENT_CLUSTER = {
  ID: PREPAYMENT_CLUSTER_ID,
  name: PREPAYMENT_CLUSTER_NAME,
  attributes: {
    paymentControlConfiguration: { ID: PrepaymentAttribute.paymentControlConfiguration, name: 'paymentControlConfiguration', type: ZclType.BITMAP16 },
    creditRemaining: { ID: PrepaymentAttribute.creditRemaining, name: 'creditRemaining', type: ZclType.INT32 },
    emergencyCreditRemaining: { ID: PrepaymentAttribute.emergencyCreditRemaining, name: 'emergencyCreditRemaining', type: ZclType.INT32 },
    creditStatus: { ID: PrepaymentAttribute.creditStatus, name: 'creditStatus', type: ZclType.BITMAP8 },
    cutOffValue: { ID: PrepaymentAttribute.cutOffValue, name: 'cutOffValue', type: ZclType.INT32 },
  },
  commands: {
    changePaymentMode: {
      ID: 0x06,
      name: 'changePaymentMode',
      response: 0x02,
      parameters: [
        { name: 'providerId', type: ZclType.UINT32 },
        { name: 'issuerEventId', type: ZclType.UINT32 },
        { name: 'implementationDateTime', type: ZclType.UTC },
        { name: 'proposedPaymentControlConfiguration', type: ZclType.BITMAP16 },
        { name: 'cutOffValue', type: ZclType.INT32 },
      ],
    },
  },
  commandsResponse: {
    changePaymentModeResponse: {
      ID: 0x02,
      name: 'changePaymentModeResponse',
      parameters: [
        { name: 'friendlyCredit', type: ZclType.BITMAP8 },
        { name: 'friendlyCreditCalendarId', type: ZclType.UINT32 },
        { name: 'emergencyCreditLimit', type: ZclType.UINT32 },
        { name: 'emergencyCreditThreshold', type: ZclType.UINT32 },
      ],
    },
  },
} as const;

export type PaymentMode = 'credit' | 'prepayment';

export function paymentModeOf(paymentControlConfiguration: number): PaymentMode {
  return paymentControlConfiguration & PREPAYMENT_ENABLED ? 'prepayment' : 'credit';
}

/** What an emulated meter exposes through the cluster (a Smets2Meter snapshot has all of it). */
export interface PrepaymentState {
  paymentMode: PaymentMode;
  meterBalance?: number;
  prepaymentSettings?: { suspendDebtDisabled: boolean; suspendDebtEmergency: boolean };
}

/** The Payment Control Configuration GBCS would have written to reach this state. */
export function paymentControlConfiguration(s: PrepaymentState): number {
  if (s.paymentMode === 'credit') return GBCS_CREDIT_CONFIGURATION;
  const p = s.prepaymentSettings;
  return GBCS_PREPAYMENT_CONFIGURATION | (p?.suspendDebtDisabled ? 0x0400 : 0) | (p && !p.suspendDebtEmergency ? 0x0800 : 0);
}
