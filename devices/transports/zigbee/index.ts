/**
 * The ZigBee transport: GBCS to real or emulated meters over the Smart Energy Tunneling cluster, with the
 * harness as the Communications Hub. Importing this module does not load zigbee-herdsman (an optional
 * dependency); starting a ZigbeeNetwork or opening a ZigbeeLink does.
 */
export { createZigbeeLink, ZigbeeLink, type ZigbeeLinkOptions, type ZigbeeLinkStats } from './link.ts';
export { INLINE_ZCL_MAX, SE_ENDPOINT, SE_PROFILE, ZigbeeNetwork, type ZigbeeEndpointRef, type ZigbeeLogLevel, type ZigbeeNetworkConfig, type ZigbeeNetworkOptions } from './network.ts';
export { HERDSMAN_VERSION, HerdsmanUnavailableError, loadHerdsman } from './herdsman.ts';
export * from './prepayment.ts';
export * from './tunnel.ts';
export { EmulatedMeterNode, type EmulatedMeterNodeOptions } from './fake/node.ts';
export { NodeTunnelLink } from './fake/node-link.ts';
export { FakeZStackCoordinator, type FakeCoordinatorOptions } from './fake/coordinator.ts';
export { implementedCommands } from './fake/commands.ts';
export { TunnelFaults } from './fake/faults.ts';
export { checkOptionsFrom, checkZigbeeMeter, type ZigbeeCheckOptions, type ZigbeeCheckReport } from './check.ts';
// fake/serve.ts (a fake coordinator with emulated meters for local runs) is imported on its own: it pulls in the meters.
