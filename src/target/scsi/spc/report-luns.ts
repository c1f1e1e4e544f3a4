/**
 * REPORT LUNS (SPC-4 6.33): the LUN inventory of the target, answered the same by every logical
 * unit and by LUNs with no device behind them.
 */
import { ByteReader, ByteWriter } from '../../../util/bytes.js';
import { SENSE } from '../sense.js';
import type { TargetContext } from '../types.js';
import { invalidCdbField, truncate } from './common.js';
import type { SpcCommandSpec, SpcContext } from './context.js';

/** SELECT REPORT values (SPC-4 table 284) this target answers. */
export const SelectReport = {
  ALL_LOGICAL_UNITS: 0x00,
  WELL_KNOWN_ONLY: 0x01,
  ALL_INCLUDING_WELL_KNOWN: 0x02,
} as const;

/**
 * Single level LUN structure (SAM-5 4.7.3): peripheral device addressing below 256, flat space
 * addressing (01b) up to 16383.
 */
export function encodeLun(lun: number): Buffer {
  const b = Buffer.alloc(8);
  if (lun < 0x100) b[1] = lun;
  else b.writeUInt16BE(0x4000 | (lun & 0x3fff), 0);
  return b;
}

export function reportLunsData(cdb: Buffer, target: TargetContext): Buffer {
  const r = new ByteReader(cdb, 2);
  const select = r.u8();
  const allocationLength = r.skip(3).u32();
  if (select > SelectReport.ALL_INCLUDING_WELL_KNOWN) throw invalidCdbField(2);
  // SPC-4 6.33: an allocation length below 16 is an invalid field, not a truncation.
  if (allocationLength < 16) throw invalidCdbField(6);
  // No well known logical units exist here: select report 01h gives an empty list.
  const luns = select === SelectReport.WELL_KNOWN_ONLY ? [] : target.luns();
  const w = new ByteWriter(8 + 8 * luns.length);
  w.u32(8 * luns.length).u32(0);
  for (const lun of luns) w.bytes(encodeLun(lun));
  return truncate(w.buf, allocationLength);
}

function reportLuns(ctx: SpcContext): Buffer {
  const data = reportLunsData(ctx.cdb, ctx.task.target);
  // SPC-4 6.33: REPORT LUNS clears a pending REPORTED LUNS DATA HAS CHANGED for its nexus.
  ctx.core.clearUnitAttention(ctx.nexus, SENSE.REPORTED_LUNS_DATA_CHANGED);
  return data;
}

export const REPORT_LUNS_USAGE = [
  0xff, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
] as const;

export const REPORT_LUNS_COMMANDS: readonly SpcCommandSpec[] = [
  {
    name: 'REPORT LUNS',
    opcode: 0xa0,
    cdbLength: 12,
    direction: 'in',
    usage: REPORT_LUNS_USAGE,
    timeout: 10,
    allowedWithUnitAttention: true,
    allowedUnderReservation: true,
    handler: reportLuns,
  },
];
