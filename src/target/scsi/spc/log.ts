/**
 * LOG SENSE and LOG SELECT (SPC-4 6.7, 6.8; log parameters 7.3) over the device's log page
 * table. Page 00h (supported pages) and 00h/FFh (supported pages and subpages) come from the
 * table itself, so sg_logs and the clients walking the list see exactly what is answered.
 */
import { ByteReader, ByteWriter } from '../../../util/bytes.js';
import { SENSE } from '../sense.js';
import type { LogParameter, Nexus } from '../types.js';
import { invalidCdbField, invalidParameter, parameterListLengthError, truncate } from './common.js';
import type { BoundLogPage, SpcCommandSpec, SpcContext, SpcCore } from './context.js';

const SUPPORTED_PAGES = 0x00;
const ALL_SUBPAGES = 0xff;

interface LogSenseCdb {
  pc: number;
  page: number;
  subpage: number;
  parameterPointer: number;
  allocationLength: number;
}

export function decodeLogSense(cdb: Buffer): LogSenseCdb {
  const r = new ByteReader(cdb, 2);
  const b2 = r.u8();
  const subpage = r.u8();
  const parameterPointer = r.skip(1).u16();
  return { pc: b2 >> 6, page: b2 & 0x3f, subpage, parameterPointer, allocationLength: r.u16() };
}

/** Log page header (SPC-4 7.3.1): SPF set for a subpage format page, 2-byte page length. */
function logPage(page: number, subpage: number, body: Buffer): Buffer {
  const w = new ByteWriter(4 + body.length);
  w.u8((subpage !== 0 ? 0x40 : 0) | page)
    .u8(subpage)
    .u16(body.length)
    .bytes(body);
  return w.buf;
}

/** Log parameters (SPC-4 7.3.2.1): code, control byte, length, value. */
export function encodeParameters(params: readonly LogParameter[]): Buffer {
  const w = new ByteWriter(params.reduce((n, p) => n + 4 + p.value.length, 0));
  for (const p of params)
    w.u16(p.code)
      .u8(p.control ?? 0x00)
      .u8(p.value.length)
      .bytes(p.value);
  return w.buf;
}

function supportedPages(pages: readonly BoundLogPage[], withSubpages: boolean): Buffer {
  if (!withSubpages) {
    const codes = [
      ...new Set([SUPPORTED_PAGES, ...pages.filter((p) => p.subpage === 0).map((p) => p.page)]),
    ].sort((a, b) => a - b);
    return logPage(SUPPORTED_PAGES, 0, Buffer.from(codes));
  }
  const pairs: (readonly [number, number])[] = [
    [SUPPORTED_PAGES, 0] as const,
    [SUPPORTED_PAGES, ALL_SUBPAGES] as const,
    ...pages.map((p) => [p.page, p.subpage] as const),
  ].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return logPage(SUPPORTED_PAGES, ALL_SUBPAGES, Buffer.from(pairs.flat()));
}

export function logSenseData(core: SpcCore, cdb: Buffer): Buffer {
  const q = decodeLogSense(cdb);
  if (q.page === SUPPORTED_PAGES && (q.subpage === 0 || q.subpage === ALL_SUBPAGES)) {
    return truncate(supportedPages(core.logPages, q.subpage === ALL_SUBPAGES), q.allocationLength);
  }
  const spec = core.logPages.find((p) => p.page === q.page && p.subpage === q.subpage);
  if (!spec) {
    throw core.logPages.some((p) => p.page === q.page) ? invalidCdbField(3) : invalidCdbField(2, 5);
  }
  const params = [...spec.parameters(q.pc)].sort((a, b) => a.code - b.code);
  // SPC-4 6.8: parameters from PARAMETER POINTER up; a pointer past the last code is invalid.
  const from = params.filter((p) => p.code >= q.parameterPointer);
  if (q.parameterPointer > 0 && from.length === 0) throw invalidCdbField(5);
  return truncate(logPage(spec.page, spec.subpage, encodeParameters(from)), q.allocationLength);
}

interface LogSelectCdb {
  pcr: boolean;
  pc: number;
  page: number;
  subpage: number;
  parameterListLength: number;
}

export function decodeLogSelect(cdb: Buffer): LogSelectCdb {
  const r = new ByteReader(cdb, 1);
  const pcr = (r.u8() & 0x02) !== 0;
  const b2 = r.u8();
  const subpage = r.u8();
  return { pcr, pc: b2 >> 6, page: b2 & 0x3f, subpage, parameterListLength: r.skip(3).u16() };
}

function resettable(pages: readonly BoundLogPage[]): BoundLogPage[] {
  return pages.filter((p) => p.reset !== undefined);
}

/**
 * A parameter list can only set counters back to zero here: every value must be zero and the
 * page must be resettable. Anything else points at the first offending byte (SPC-4 6.7).
 */
function applyParameterList(core: SpcCore, list: Buffer): void {
  const touched: BoundLogPage[] = [];
  let off = 0;
  while (off < list.length) {
    if (list.length - off < 4) throw parameterListLengthError();
    const r = new ByteReader(list, off);
    const b0 = r.u8();
    const subpage = b0 & 0x40 ? r.u8() : (r.skip(1), 0);
    const pageLength = r.u16();
    if (off + 4 + pageLength > list.length) throw parameterListLengthError();
    const spec = core.logPages.find((p) => p.page === (b0 & 0x3f) && p.subpage === subpage);
    if (!spec?.reset) throw invalidParameter(off, 5);
    let p = off + 4;
    const end = p + pageLength;
    while (p < end) {
      if (end - p < 4) throw parameterListLengthError();
      const len = list[p + 3];
      if (p + 4 + len > end) throw parameterListLengthError();
      for (let i = p + 4; i < p + 4 + len; i++) {
        if (list[i] !== 0) throw invalidParameter(i, undefined, SENSE.PARAMETER_VALUE_INVALID);
      }
      p += 4 + len;
    }
    touched.push(spec);
    off = end;
  }
  for (const spec of touched) spec.reset!();
}

export function logSelect(core: SpcCore, cdb: Buffer, dataOut: Buffer | null, nexus: Nexus): void {
  const q = decodeLogSelect(cdb);
  if (q.pcr) {
    // SPC-4 6.7: PCR=1 with a parameter list is an invalid field.
    if (q.parameterListLength !== 0) throw invalidCdbField(7);
    for (const p of resettable(core.logPages)) p.reset!();
  } else if (q.parameterListLength === 0) {
    // SPC-4 6.7 table 'PCR, SP, PC': no list resets the named page (or all of them, page 00h).
    const pages =
      q.page === 0 && q.subpage === 0
        ? resettable(core.logPages)
        : core.logPages.filter((p) => p.page === q.page && p.subpage === q.subpage);
    if (pages.length === 0) throw invalidCdbField(2, 5);
    if (!pages.every((p) => p.reset)) throw invalidCdbField(2, 5);
    for (const p of pages) p.reset!();
  } else {
    // With a list the CDB names no page (SPC-4 6.7): the list's page headers do.
    if (q.page !== 0 || q.subpage !== 0) throw invalidCdbField(2, 5);
    const list = (dataOut ?? Buffer.alloc(0)).subarray(0, q.parameterListLength);
    if (list.length < q.parameterListLength) throw parameterListLengthError();
    applyParameterList(core, list);
  }
  // SPC-4 5.14 / 6.7: the other I_T nexuses learn that log parameters changed (2A/02).
  core.raiseUnitAttention(SENSE.LOG_PARAMETERS_CHANGED, { except: nexus });
}

export const LOG_COMMANDS: readonly SpcCommandSpec[] = [
  {
    name: 'LOG SELECT',
    opcode: 0x4c,
    cdbLength: 10,
    direction: 'out',
    // PCR only: SP (saving) is refused through the mask.
    usage: [0xff, 0x02, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
    timeout: 10,
    handler: (ctx: SpcContext) => logSelect(ctx.core, ctx.cdb, ctx.task.dataOut, ctx.nexus),
  },
  {
    name: 'LOG SENSE',
    opcode: 0x4d,
    cdbLength: 10,
    direction: 'in',
    // PPC and SP are refused through the mask: no parameter-change tracking, no saving.
    usage: [0xff, 0x00, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00],
    timeout: 10,
    allowedUnderReservation: true,
    handler: (ctx: SpcContext) => logSenseData(ctx.core, ctx.cdb),
  },
];
