/**
 * The SPC command table shared by every device type (STYLE.md 1). Device profiles overlay it:
 * a device entry with the same opcode (and service action) replaces the SPC one, as SSC does
 * for TEST UNIT READY.
 */
import type { SpcCommandSpec } from './context.js';
import { INQUIRY_COMMANDS } from './inquiry.js';
import { LOG_COMMANDS } from './log.js';
import { MODE_COMMANDS } from './mode.js';
import { PERSISTENT_RESERVE_COMMANDS } from './persistent-reserve.js';
import { REPORT_LUNS_COMMANDS } from './report-luns.js';
import { REQUEST_SENSE_COMMANDS } from './request-sense.js';
import { RESERVE_COMMANDS } from './reserve.js';
import { RSOC_COMMANDS } from './rsoc.js';

export const SPC_COMMANDS: readonly SpcCommandSpec[] = [
  ...REQUEST_SENSE_COMMANDS,
  ...INQUIRY_COMMANDS,
  ...MODE_COMMANDS,
  ...RESERVE_COMMANDS,
  ...LOG_COMMANDS,
  ...PERSISTENT_RESERVE_COMMANDS,
  ...REPORT_LUNS_COMMANDS,
  ...RSOC_COMMANDS,
];
