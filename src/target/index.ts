/**
 * The iSCSI target: protocol logic over a Transport, devices as LogicalUnits.
 */
export { IscsiTarget } from './iscsi-target.js';
export type { IscsiTargetOptions, TargetConfig } from './iscsi-target.js';
export type { ChapCredentials } from './login/chap.js';
export { CHAP_ALGORITHMS } from './login/chap.js';
export type { SessionParams, TargetOffer } from './login/params.js';
export { buildNexus, iscsiTransportId } from './session/nexus.js';
export * from './pdu/constants.js';
