/**
 * REQUEST SENSE (SPC-4 6.39) and TEST UNIT READY (SPC-4 6.47).
 *
 * REQUEST SENSE returns, in order: a pending unit attention (reported and cleared, SPC-4 5.14
 * with UA_INTLCK_CTRL 00b), the pending sense a device set (e.g. 00/17 cleaning requested,
 * cleared once reported), or NO SENSE. Fixed or descriptor format follows the DESC bit.
 */
import { ByteReader } from '../../../util/bytes.js';
import { SENSE, encodeSense } from '../sense.js';
import type { SenseCode } from '../sense.js';
import { truncate } from './common.js';
import type { SpcCommandSpec, SpcContext } from './context.js';

export function decodeRequestSense(cdb: Buffer): { desc: boolean; allocationLength: number } {
  const r = new ByteReader(cdb, 1);
  const desc = (r.u8() & 0x01) !== 0;
  return { desc, allocationLength: r.skip(2).u8() };
}

/** Sense data as REQUEST SENSE parameter data (GOOD status). */
export function senseParameterData(cdb: Buffer, code: SenseCode): Buffer {
  const { desc, allocationLength } = decodeRequestSense(cdb);
  return truncate(encodeSense(code, {}, desc), allocationLength);
}

function requestSense(ctx: SpcContext): Buffer {
  const code =
    ctx.core.takeUnitAttention(ctx.nexus) ?? ctx.core.takePendingSense(ctx.nexus) ?? SENSE.NO_SENSE;
  return senseParameterData(ctx.cdb, code);
}

export const REQUEST_SENSE_COMMANDS: readonly SpcCommandSpec[] = [
  {
    name: 'TEST UNIT READY',
    opcode: 0x00,
    cdbLength: 6,
    direction: 'none',
    usage: [0xff, 0x00, 0x00, 0x00, 0x00, 0x00],
    timeout: 10,
    // SPC-4 5.13.1: TEST UNIT READY is allowed under write exclusive, not exclusive access.
    allowedUnderWriteExclusive: true,
    // Devices with a medium override this with their own readiness (SSC: NOT READY 3A/00).
    handler: () => undefined,
  },
  {
    name: 'REQUEST SENSE',
    opcode: 0x03,
    cdbLength: 6,
    direction: 'in',
    usage: [0xff, 0x01, 0x00, 0x00, 0xff, 0x00],
    timeout: 10,
    allowedWithUnitAttention: true,
    allowedUnderReservation: true,
    handler: requestSense,
  },
];
