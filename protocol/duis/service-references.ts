/**
 * The Service Reference, Service Reference Variant and Command Variant vocabularies of DUIS Schema V5.4, and the
 * names of the Service Request bodies it defines (the choice inside sr:Request/sr:Body).
 */

/** DUIS Schema V5.4 simpleType ServiceReference. */
export const SERVICE_REFERENCES = [
  '1.1', '1.2', '1.5', '1.6', '1.7', '2.1', '2.2', '2.3', '2.5', '3.1', '3.2', '3.3', '3.4', '3.5', '4.1',
  '4.2', '4.3', '4.4', '4.6', '4.8', '4.10', '4.11', '4.12', '4.13', '4.14', '4.15', '4.16', '4.17', '4.18',
  '5.1', '5.2', '5.3', '6.2', '6.4', '6.5', '6.6', '6.7', '6.8', '6.11', '6.12', '6.13', '6.14', '6.15',
  '6.17', '6.18', '6.20', '6.21', '6.22', '6.23', '6.24', '6.25', '6.26', '6.27', '6.28', '6.29', '6.30',
  '6.31', '6.32', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '7.7', '7.8', '7.9', '7.10', '7.11', '7.12',
  '7.13', '7.14', '7.15', '7.16', '8.1', '8.2', '8.3', '8.4', '8.5', '8.6', '8.7', '8.8', '8.9', '8.11',
  '8.12', '8.13', '8.14', '9.1', '11.1', '11.2', '11.3', '11.4', '12.1', '12.2', '14.1'
] as const;
export type ServiceReference = (typeof SERVICE_REFERENCES)[number];

/** DUIS Schema V5.4 simpleType ServiceReferenceVariant. */
export const SERVICE_REFERENCE_VARIANTS = [
  '1.1.1', '1.1.2', '1.2.1', '1.2.2', '1.5', '1.6', '1.7', '2.1', '2.2', '2.3', '2.5', '3.1', '3.2', '3.3',
  '3.4', '3.5', '4.1.1', '4.1.2', '4.1.3', '4.1.4', '4.2', '4.3', '4.4.2', '4.4.3', '4.4.4', '4.4.5',
  '4.6.1', '4.6.2', '4.8.1', '4.8.2', '4.8.3', '4.10', '4.11.1', '4.11.2', '4.12.1', '4.12.2', '4.13',
  '4.14', '4.15', '4.16', '4.17', '4.18', '5.1', '5.2', '5.3', '6.2.1', '6.2.2', '6.2.3', '6.2.4', '6.2.5',
  '6.2.7', '6.2.8', '6.2.9', '6.2.10', '6.4.1', '6.4.2', '6.5', '6.6', '6.7', '6.8', '6.11', '6.12', '6.13',
  '6.14.1', '6.14.2', '6.14.3', '6.15.1', '6.15.2', '6.17', '6.18.1', '6.18.2', '6.20.1', '6.20.2', '6.21',
  '6.22', '6.23', '6.24.1', '6.24.2', '6.25', '6.26', '6.27', '6.28', '6.29', '6.30', '6.31', '6.32', '7.1',
  '7.2', '7.3', '7.4', '7.5', '7.6', '7.7', '7.8', '7.9', '7.10', '7.11', '7.12', '7.13', '7.14', '7.15',
  '7.16', '8.1.1', '8.2', '8.3', '8.4', '8.5', '8.6', '8.7.1', '8.7.2', '8.8.1', '8.8.2', '8.9', '8.11',
  '8.12.1', '8.12.2', '8.13', '8.14.1', '8.14.2', '8.14.3', '8.14.4', '9.1', '11.1', '11.2', '11.3', '11.4',
  '12.1', '12.2', '14.1'
] as const;
export type ServiceReferenceVariant = (typeof SERVICE_REFERENCE_VARIANTS)[number];

/** DUIS Schema V5.4: the element names a Request Body may hold (exactly one of them). */
export const REQUEST_BODY_ELEMENTS = [
  'UpdateImportTariffPrimaryElement', 'UpdateImportTariffSecondaryElement', 'UpdatePricePrimaryElement',
  'UpdatePriceSecondaryElement', 'UpdateMeterBalance', 'UpdatePaymentMode', 'ResetTariffBlockCounterMatrix',
  'UpdatePrepayConfiguration', 'TopUpDevice', 'UpdateDebt', 'ActivateEmergencyCredit', 'DisplayMessage',
  'RestrictAccessForChangeOfTenancy', 'ClearEventLog', 'UpdateSupplierName', 'DisablePrivacyPIN',
  'ReadInstantaneousImportRegisters', 'ReadInstantaneousImportTOUMatrices',
  'ReadInstantaneousImportTOUWithBlocksMatrices', 'ReadInstantaneousImportBlockCounters',
  'ReadInstantaneousExportRegisters', 'ReadInstantaneousPrepayValues',
  'RetrieveCoMOrTariffTriggeredBillingDataLog', 'RetrieveBillingCalendarTriggeredBillingDataLog',
  'RetrieveBillingDataLogDebtPayments', 'RetrieveBillingDataLogPrepaymentCredits',
  'RetrieveImportDailyReadLog', 'RetrieveExportDailyReadLog', 'ReadActiveImportProfileData',
  'ReadReactiveImportProfileData', 'ReadExportProfileData', 'ReadNetworkData', 'ReadTariffPrimaryElement',
  'ReadTariffSecondaryElement', 'ReadMaximumDemandImportRegisters', 'ReadMaximumDemandExportRegisters',
  'ReadPrepaymentConfiguration', 'ReadPrepaymentDailyReadLog', 'ReadLoadLimitData', 'ReadActivePowerImport',
  'RetrieveDailyConsumptionLog', 'ReadMeterBalance', 'CreateSchedule', 'ReadSchedule', 'DeleteSchedule',
  'ReadDeviceConfigurationVoltage', 'ReadDeviceConfigurationRandomisation',
  'ReadDeviceConfigurationBillingCalendar', 'ReadDeviceConfigurationIdentityExcMPxN',
  'ReadDeviceConfigurationInstantaneousPowerThresholds', 'ReadDeviceConfigurationMPxN',
  'ReadDeviceConfigurationGas', 'ReadDeviceConfigurationPaymentMode',
  'ReadDeviceConfigurationEventAndAlertBehaviours', 'UpdateDeviceConfigurationLoadLimitingGeneralSettings',
  'UpdateDeviceConfigurationLoadLimitingCounterReset', 'UpdateDeviceConfigurationVoltage',
  'UpdateDeviceConfigurationGasConversion', 'UpdateDeviceConfigurationGasFlow',
  'UpdateDeviceConfigurationBillingCalendar', 'SynchroniseClock',
  'UpdateDeviceConfigurationInstantaneousPowerThreshold', 'ReadEventOrSecurityLog',
  'UpdateDeviceConfigurationALCDescriptions', 'UpdateDeviceConfigurationALCScheduler',
  'UpdateDeviceConfigurationAuxiliaryControllerScheduler', 'UpdateSecurityCredentialsKRP',
  'UpdateSecurityCredentialsDevice', 'IssueSecurityCredentials', 'SetMaximumDemandConfigurableTimePeriod',
  'ResetMaximumDemandRegisters', 'SetDeviceConfigurationImportMPxN', 'SetDeviceConfigurationExportMPAN',
  'RequestHandoverOfDCCControlledDevice', 'ConfigureAlertBehaviour', 'UpdateSecurityCredentialsCoS',
  'RetrieveDeviceSecurityCredentialsKRP', 'RetrieveDeviceSecurityCredentialsDevice',
  'SetElectricitySupplyTamperState', 'UpdateDeviceConfigurationDailyResettingOfTariffBlockCounterMatrix',
  'UpdateDeviceConfigurationRMSVoltageCounterReset', 'SetCHFSubGHzConfiguration',
  'RequestCHFSubGHzChannelScan', 'ReadCHFSubGHzConfiguration', 'ReadCHFSubGHzChannel',
  'ReadCHFSubGHzChannelLog', 'EnableSupply', 'DisableSupply', 'ArmSupply', 'ReadSupplyStatus',
  'ActivateAuxiliaryLoad', 'DeactivateAuxiliaryLoad', 'ReadALCSData', 'ResetAuxiliaryLoad',
  'AddAuxiliaryLoadToBoostButton', 'RemoveAuxiliaryLoadFromBoostButton', 'ReadBoostButtonDetails',
  'SetRandomisedOffsetLimit', 'SetAuxiliaryControllerState', 'ReadAuxiliaryControllerConfigurationData',
  'ReadAuxiliaryControllerOperationalData', 'LimitAPCLevel', 'CommissionDeviceSynchroniseClock',
  'ReadInventory', 'DecommissionDevice', 'UpdateInventory', 'ServiceOptOut', 'ServiceOptIn',
  'JoinServiceCritical', 'JoinServiceNonCritical', 'UnjoinServiceCritical', 'UnjoinServiceNonCritical',
  'ReadDeviceLog', 'UpdateHANDeviceLog', 'RestoreHANDeviceLog', 'RestoreGPFDeviceLog',
  'ReturnLocalCommandResponse', 'CHFInstallSuccessSMWAN', 'CHFInstallSuccessNoSMWAN', 'CHFFaultReturn',
  'CHFNoFaultReturn', 'RequestCustomerIdentificationNumber', 'UpdateFirmware', 'ReadFirmwareVersion',
  'ActivateFirmware', 'UpdatePPMIDFirmware', 'RequestWANMatrix', 'DevicePrenotification',
  'RecordNetworkDataGAS', 'SignedPreCommand'
] as const;
export type RequestBodyElement = (typeof REQUEST_BODY_ELEMENTS)[number];

export function isServiceReference(s: string): s is ServiceReference {
  return (SERVICE_REFERENCES as readonly string[]).includes(s);
}

export function isServiceReferenceVariant(s: string): s is ServiceReferenceVariant {
  return (SERVICE_REFERENCE_VARIANTS as readonly string[]).includes(s);
}

export function isRequestBodyElement(s: string): s is RequestBodyElement {
  return (REQUEST_BODY_ELEMENTS as readonly string[]).includes(s);
}

/** The Service Reference a variant belongs to: "1.1.1" -> "1.1", "1.6" -> "1.6". */
export function serviceReferenceOf(variant: ServiceReferenceVariant): ServiceReference {
  const sr = variant.split('.').slice(0, 2).join('.');
  if (!isServiceReference(sr)) throw new RangeError(`no Service Reference for variant ${variant}`);
  return sr;
}

/**
 * Command Variants (the comment table of DUIS Schema V5.4 simpleType CommandVariant): how the DCC handles the
 * request and what it returns. 9 is internal to the DCC and never valid from a User.
 */
export const COMMAND_VARIANTS = {
  1: 'Service Request to Command over the SM WAN (non-critical)',
  2: 'Service Request to Command for Local Delivery',
  3: 'Service Request to Command over the SM WAN and for Local Delivery',
  4: 'Service Request to Pre-Command (Transform; critical)',
  5: 'Signed Pre-Command to Command over the SM WAN (critical)',
  6: 'Signed Pre-Command to Command for Local Delivery (critical)',
  7: 'Signed Pre-Command to Command over the SM WAN and for Local Delivery (critical)',
  8: 'Service Request answered by the DCC (non-device)',
  9: 'internal to DCC Data Systems',
} as const;
export type CommandVariant = keyof typeof COMMAND_VARIANTS;

export function isCommandVariant(n: number): n is CommandVariant {
  return Number.isInteger(n) && n >= 1 && n <= 9;
}
