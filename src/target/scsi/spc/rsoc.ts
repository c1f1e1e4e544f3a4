/**
 * REPORT SUPPORTED OPERATION CODES (MAINTENANCE IN, service action 0Ch; SPC-4 6.35), generated
 * from the unit's merged command table, so what it reports is what the dispatcher accepts.
 * LTFS asks with RCTD=1 and discards the whole table unless every descriptor carries its
 * command timeouts descriptor (20 bytes each).
 */
import { ByteReader, ByteWriter } from '../../../util/bytes.js';
import { invalidCdbField, truncate } from './common.js';
import type { SpcCommandSpec, SpcContext, TableEntry } from './context.js';

const ReportingOptions = {
  ALL: 0b000,
  ONE_NO_SA: 0b001,
  ONE_WITH_SA: 0b010,
  ONE_EITHER: 0b011,
} as const;

/** Timeout used when a table entry names none (seconds). */
const DEFAULT_TIMEOUT = 60;

interface RsocCdb {
  rctd: boolean;
  options: number;
  opcode: number;
  serviceAction: number;
  allocationLength: number;
}

export function decodeRsoc(cdb: Buffer): RsocCdb {
  const r = new ByteReader(cdb, 2);
  const b2 = r.u8();
  return {
    rctd: (b2 & 0x80) !== 0,
    options: b2 & 0x07,
    opcode: r.u8(),
    serviceAction: r.u16(),
    allocationLength: r.u32(),
  };
}

/**
 * Command timeouts descriptor (SPC-4 6.35.4): DESCRIPTOR LENGTH 000Ah, reserved, COMMAND SPECIFIC
 * 00h, NOMINAL COMMAND PROCESSING TIMEOUT, RECOMMENDED COMMAND TIMEOUT (seconds), from the
 * table entry's `timeout` and `recommendedTimeout`.
 */
function timeoutsDescriptor(spec: TableEntry<never>): Buffer {
  const nominal = spec.timeout ?? DEFAULT_TIMEOUT;
  const w = new ByteWriter(12);
  w.u16(0x0a)
    .u8(0)
    .u8(0)
    .u32(nominal)
    .u32(spec.recommendedTimeout ?? nominal);
  return w.buf;
}

/** All-commands format: one command descriptor each (SPC-4 6.35.3, table 'command descriptor'). */
function allCommands(entries: readonly TableEntry<never>[], rctd: boolean): Buffer {
  const size = rctd ? 20 : 8;
  const w = new ByteWriter(4 + size * entries.length);
  w.u32(size * entries.length);
  for (const spec of entries) {
    const servactv = spec.serviceAction !== undefined;
    w.u8(spec.opcode)
      .u8(0)
      .u16(spec.serviceAction ?? 0)
      .u8(0);
    w.u8((rctd ? 0x02 : 0) | (servactv ? 0x01 : 0)); // CTDP, SERVACTV
    w.u16(spec.cdbLength);
    if (rctd) w.bytes(timeoutsDescriptor(spec));
  }
  return w.buf;
}

/** One-command format (SPC-4 6.35.3): SUPPORT 011b with the CDB usage data, or 001b. */
function oneCommand(spec: TableEntry<never> | undefined, rctd: boolean): Buffer {
  if (!spec) {
    const w = new ByteWriter(4);
    w.u8(0).u8(0x01).u16(0); // SUPPORT 001b: not supported
    return w.buf;
  }
  const w = new ByteWriter(4 + spec.cdbLength + (rctd ? 12 : 0));
  w.u8(0)
    .u8((rctd ? 0x80 : 0) | 0x03)
    .u16(spec.cdbLength); // CTDP, SUPPORT 011b
  // SPC-4 6.35.3: the first byte of CDB USAGE DATA is the operation code, not a mask.
  w.u8(spec.opcode).bytes(Buffer.from(spec.usage.slice(1)));
  if (rctd) w.bytes(timeoutsDescriptor(spec));
  return w.buf;
}

function reportSupportedOperationCodes(ctx: SpcContext): Buffer {
  const q = decodeRsoc(ctx.cdb);
  const { commands, serviceActionOpcodes } = ctx.core;
  const hasSa = serviceActionOpcodes.has(q.opcode);
  const find = (sa: number | undefined): TableEntry<never> | undefined =>
    commands.find((c) => c.opcode === q.opcode && c.serviceAction === sa);
  let data: Buffer;
  switch (q.options) {
    case ReportingOptions.ALL:
      data = allCommands(commands, q.rctd);
      break;
    case ReportingOptions.ONE_NO_SA:
      // SPC-4 6.35.2: 001b for an opcode with service actions is an invalid field.
      if (hasSa) throw invalidCdbField(3);
      data = oneCommand(find(undefined), q.rctd);
      break;
    case ReportingOptions.ONE_WITH_SA:
      // 010b for an opcode without service actions is an invalid field.
      if (!hasSa && commands.some((c) => c.opcode === q.opcode)) throw invalidCdbField(3);
      data = oneCommand(find(q.serviceAction), q.rctd);
      break;
    case ReportingOptions.ONE_EITHER:
      // 011b: the service action counts only for opcodes that have them.
      data = oneCommand(find(hasSa ? q.serviceAction : undefined), q.rctd);
      break;
    default:
      throw invalidCdbField(2, 2);
  }
  return truncate(data, q.allocationLength);
}

export const RSOC_COMMANDS: readonly SpcCommandSpec[] = [
  {
    name: 'REPORT SUPPORTED OPERATION CODES',
    opcode: 0xa3,
    serviceAction: 0x0c,
    cdbLength: 12,
    direction: 'in',
    usage: [0xff, 0x1f, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
    timeout: 10,
    allowedUnderReservation: true,
    handler: reportSupportedOperationCodes,
  },
];
