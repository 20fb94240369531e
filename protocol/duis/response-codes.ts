/**
 * DUIS Response Codes (DUIS Schema V5.4 simpleType ResponseCode) and DCC Alert Codes (DCCAlertMessage). The
 * meanings given are the ones this project acts on (DOMAIN.md section 2); the others are valid codes whose
 * meaning is in DUIS itself.
 */

export const RESPONSE_CODES = [
  'I0', 'I99', 'E1', 'E2', 'E3', 'E4', 'E5', 'E11', 'E12', 'E13', 'E17', 'E19', 'E20', 'E21', 'E30', 'E31',
  'E40', 'E41', 'E42', 'E43', 'E44', 'E45', 'E46', 'E47', 'E48', 'E49', 'E50', 'E51', 'E52', 'E53', 'E54',
  'E55', 'E56', 'E57', 'E58', 'E59', 'E60', 'E61', 'E62', 'E63', 'E64', 'E65', 'E66', 'E67', 'E68', 'E69',
  'E70', 'E71', 'E100', 'E1000', 'E1001', 'E1003', 'E1004', 'E1006', 'E1007', 'E1008', 'E1010', 'E1011',
  'E010101', 'E010102', 'E010201', 'E030301', 'E030302', 'E040101', 'E041701', 'E050101', 'E050102',
  'E050103', 'E050105', 'E050107', 'E050108', 'E050109', 'E050110', 'E050111', 'E050112', 'E050201',
  'E050202', 'W050201', 'E050301', 'E050302', 'W050301', 'E060501', 'E060502', 'E060701', 'E060801',
  'E060802', 'E060803', 'E061301', 'E061304', 'E061305', 'E061501', 'E061504', 'E061505', 'E061506',
  'E061507', 'E061508', 'E061509', 'E061801', 'E061802', 'E061803', 'E062101', 'E062102', 'E062103',
  'E062105', 'E062201', 'E062202', 'E062203', 'E062301', 'E062302', 'E062303', 'E062304', 'E062305',
  'E062306', 'E062401', 'E062402', 'E062403', 'E062801', 'E062802', 'E062803', 'E080201', 'E080202',
  'E080301', 'E080302', 'E080405', 'E080406', 'E080407', 'E080408', 'E080409', 'E080410', 'E080411',
  'E080412', 'E080413', 'E080414', 'E080415', 'E080501', 'E080502', 'E080503', 'E080601', 'E080602',
  'E080604', 'E080606', 'E080607', 'E080702', 'E080721', 'E080722', 'E080723', 'E080801', 'E080821',
  'E080822', 'E080901', 'E080902', 'E080903', 'E081101', 'E081102', 'E081104', 'E081105', 'E081106',
  'E081107', 'E081108', 'E081109', 'E081110', 'E081111', 'E081202', 'E081204', 'E081205', 'E081221',
  'E081222', 'E081223', 'E081301', 'E081302', 'E081303', 'E081401', 'E081402', 'E081405', 'E081406',
  'W081401', 'E110101', 'E110102', 'E110103', 'E110105', 'E110106', 'W110101', 'E110401', 'E110402',
  'E110403', 'E110405', 'W110401', 'E120101', 'E120102', 'E120103', 'E120201', 'E120203', 'E120204',
  'E120207'
] as const;
export type ResponseCode = (typeof RESPONSE_CODES)[number];

export function isResponseCode(s: string): s is ResponseCode {
  return (RESPONSE_CODES as readonly string[]).includes(s);
}

/** I = success or acknowledgement, E = error (the request was not executed), W = warning. */
export type ResponseCodeKind = 'info' | 'error' | 'warning';

export function responseCodeKind(code: ResponseCode): ResponseCodeKind {
  return code.startsWith('I') ? 'info' : code.startsWith('W') ? 'warning' : 'error';
}

/** The codes the mock DCC and the harness use, with their meaning. */
export const RESPONSE_CODE_MEANINGS = {
  I0: 'success',
  I99: 'acknowledged: the device command was accepted and its result follows asynchronously',
  E1: 'invalid User or User Role',
  E2: 'User Role not permitted for this Service Reference Variant',
  E3: 'invalid User status',
  E4: 'User Role not authorised for this device',
  E5: 'invalid device status',
  E11: 'Service Request and device type mismatch',
  E12: 'request and Command Variant mismatch',
  E13: 'wrong request type for this URL',
  E19: 'device unknown',
  E20: 'communication failure',
  E21: 'no response from the device',
} as const satisfies Partial<Record<ResponseCode, string>>;

export function describeResponseCode(code: ResponseCode): string {
  return (RESPONSE_CODE_MEANINGS as Partial<Record<ResponseCode, string>>)[code] ?? `${responseCodeKind(code)} ${code} (see DUIS)`;
}

/** DCC Alert Codes (DUIS Schema V5.4 DCCAlertMessage/DCCAlertCode). AD1: a request was quarantined. */
export const DCC_ALERT_CODES = [
  'AD1', 'N1', 'N2', 'N3', 'N4', 'N5', 'N6', 'N7', 'N8', 'N9', 'N10', 'N11', 'N12', 'N13', 'N14', 'N15',
  'N16', 'N17', 'N18', 'N19', 'N20', 'N21', 'N22', 'N23', 'N24', 'N25', 'N26', 'N27', 'N28', 'N29', 'N30',
  'N31', 'N33', 'N34', 'N35', 'N36', 'N37', 'N38', 'N39', 'N40', 'N41', 'N42', 'N43', 'N44', 'N45', 'N46',
  'N47', 'N48', 'N49', 'N50', 'N51', 'N52', 'N53', 'N54', 'N55', 'N56', 'N57', 'N58', 'N59', 'N60', 'N61',
  'N62', 'N63', 'N64', 'N65', 'N999'
] as const;
export type DccAlertCode = (typeof DCC_ALERT_CODES)[number];

export function isDccAlertCode(s: string): s is DccAlertCode {
  return (DCC_ALERT_CODES as readonly string[]).includes(s);
}
