/**
 * MODE SENSE(6)/(10) and MODE SELECT(6)/(10) (SPC-4 6.11-6.14, mode parameters 7.5) over the
 * unit's mode page table: the device's pages, the core's Control and Informational Exceptions
 * pages, and the header and block descriptor a device type supplies.
 */
import { ByteReader, ByteWriter } from '../../../util/bytes.js';
import { SENSE, SenseError } from '../sense.js';
import type { Nexus, PageControl, ScsiResponse } from '../types.js';
import { ScsiStatus } from '../types.js';
import {
  highestBit,
  invalidCdbField,
  invalidParameter,
  parameterListLengthError,
  truncate,
} from './common.js';
import type { BoundModePage, SpcCommandSpec, SpcContext, SpcCore } from './context.js';

const PAGE_CONTROLS: readonly PageControl[] = ['current', 'changeable', 'default', 'saved'];
const ALL_PAGES = 0x3f;
const ALL_SUBPAGES = 0xff;
const SHORT_DESCRIPTOR_LENGTH = 8;

interface ModeSenseCdb {
  dbd: boolean;
  pc: PageControl;
  page: number;
  subpage: number;
  allocationLength: number;
}

export function decodeModeSense(cdb: Buffer, ten: boolean): ModeSenseCdb {
  const r = new ByteReader(cdb, 1);
  const dbd = (r.u8() & 0x08) !== 0;
  const b2 = r.u8();
  const subpage = r.u8();
  const allocationLength = ten ? r.skip(3).u16() : r.u8();
  return { dbd, pc: PAGE_CONTROLS[b2 >> 6], page: b2 & 0x3f, subpage, allocationLength };
}

/** The pages a PAGE CODE / SUBPAGE CODE pair asks for (SPC-4 7.5.1, table 'mode page codes'). */
function selectPages(pages: readonly BoundModePage[], page: number, subpage: number): BoundModePage[] {
  if (page === ALL_PAGES) {
    if (subpage === 0) return pages.filter((p) => p.subpage === 0);
    if (subpage === ALL_SUBPAGES) return [...pages];
    throw invalidCdbField(3);
  }
  const same = pages.filter((p) => p.page === page);
  if (subpage === ALL_SUBPAGES) {
    if (same.length === 0) throw invalidCdbField(2, 5);
    return same;
  }
  const one = same.find((p) => p.subpage === subpage);
  if (one) return [one];
  // Page 00h without a page of that code: header and block descriptor only. st reads density,
  // block length and write protection this way at every open (MODE SENSE(6) page 0, 12 bytes).
  if (page === 0 && subpage === 0) return [];
  if (same.length > 0) throw invalidCdbField(3);
  throw invalidCdbField(2, 5);
}

/** Mode parameter data: header (SPC-4 7.5.5), block descriptors (7.5.6), pages. */
export function modeSenseData(core: SpcCore, cdb: Buffer, ten: boolean): Buffer {
  const q = decodeModeSense(cdb, ten);
  // Nothing is saved: saved values are unsupported (SPC-4 6.11 → SAVING PARAMETERS NOT SUPPORTED, 39/00).
  if (q.pc === 'saved')
    throw new SenseError(SENSE.SAVING_PARAMETERS_NOT_SUPPORTED, { fieldPointer: 2, bitPointer: 7 });
  const pages = selectPages(core.modePages, q.page, q.subpage).map((p) => p.encode(q.pc));
  const bd = core.blockDescriptor;
  // LLBAA asks to allow long descriptors; SPC-4 lets the device server return short ones, the
  // only form sequential-access block descriptors have (and PBS wants exactly 8 bytes).
  const descriptors = bd && !q.dbd ? bd.blockDescriptors(q.pc) : [];
  const changeable = q.pc === 'changeable';
  const mediumType = bd && !changeable ? bd.mediumType() : 0;
  const deviceSpecific = bd && !changeable ? bd.deviceSpecific() : 0;
  const headerLength = ten ? 8 : 4;
  const bdLength = descriptors.reduce((n, d) => n + d.length, 0);
  const total = headerLength + bdLength + pages.reduce((n, p) => n + p.length, 0);
  const w = new ByteWriter(total);
  if (ten) {
    w.u16(total - 2)
      .u8(mediumType)
      .u8(deviceSpecific)
      .u8(0)
      .u8(0)
      .u16(bdLength);
  } else {
    // MODE SENSE(6) can only say 255 bytes; the allocation length is one byte as well.
    w.u8(Math.min(total - 1, 0xff))
      .u8(mediumType)
      .u8(deviceSpecific)
      .u8(bdLength);
  }
  for (const d of descriptors) w.bytes(d);
  for (const p of pages) w.bytes(p);
  return truncate(w.buf, q.allocationLength);
}

interface ModeSelectCdb {
  pf: boolean;
  sp: boolean;
  parameterListLength: number;
}

export function decodeModeSelect(cdb: Buffer, ten: boolean): ModeSelectCdb {
  const r = new ByteReader(cdb, 1);
  const b1 = r.u8();
  const parameterListLength = ten ? r.skip(5).u16() : r.skip(2).u8();
  return { pf: (b1 & 0x10) !== 0, sp: (b1 & 0x01) !== 0, parameterListLength };
}

interface ParsedPage {
  readonly spec: BoundModePage;
  readonly data: Buffer;
  readonly offset: number;
}

/**
 * Walks the pages of a MODE SELECT parameter list and checks each against its changeable mask
 * before anything is applied (SPC-4 6.13: a rejected list changes nothing it can avoid).
 */
function parsePages(core: SpcCore, list: Buffer, start: number): ParsedPage[] {
  const out: ParsedPage[] = [];
  let off = start;
  while (off < list.length) {
    if (list.length - off < 2) throw parameterListLengthError();
    const b0 = list[off];
    const spf = (b0 & 0x40) !== 0;
    const code = b0 & 0x3f;
    if (spf && list.length - off < 4) throw parameterListLengthError();
    const subpage = spf ? list[off + 1] : 0;
    const headerLength = spf ? 4 : 2;
    const total = headerLength + (spf ? list.readUInt16BE(off + 2) : list[off + 1]);
    const spec = core.modePages.find((p) => p.page === code && p.subpage === subpage);
    if (!spec) throw invalidParameter(spf ? off + 1 : off, spf ? undefined : 5);
    const mask = spec.encode('changeable');
    // SPC-4 6.13: the page length must be the one MODE SENSE reports (or, for a page whose
    // length follows its content, one the page accepts).
    const lengthOk = spec.acceptsLength
      ? total <= mask.length && spec.acceptsLength(total)
      : total === mask.length;
    if (!lengthOk) throw invalidParameter(off + (spf ? 2 : 1));
    if (off + total > list.length) throw parameterListLengthError();
    const data = list.subarray(off, off + total);
    const current = spec.encode('current');
    // Byte 0 carries PS (tolerated: MODE SENSE data is echoed back), SPF and the page code.
    for (let i = headerLength; i < total; i++) {
      const diff = (data[i] ^ current[i]) & ~mask[i];
      if (diff !== 0) throw invalidParameter(off + i, highestBit(diff));
    }
    out.push({ spec, data, offset: off });
    off += total;
  }
  return out;
}

/** A device's select() points into its page or descriptor; the client wants the list offset. */
function rebased<T>(offset: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SenseError && err.options.inParameterList && err.options.fieldPointer !== undefined) {
      throw new SenseError(err.sense, { ...err.options, fieldPointer: err.options.fieldPointer + offset });
    }
    throw err;
  }
}

/** Current mode data, to tell whether a MODE SELECT changed anything (2A/01 for the others). */
function snapshot(core: SpcCore): Buffer {
  const bd = core.blockDescriptor;
  const parts: Buffer[] = bd ? [Buffer.of(bd.deviceSpecific()), ...bd.blockDescriptors('current')] : [];
  for (const p of core.modePages) parts.push(p.encode('current'));
  return Buffer.concat(parts);
}

export function modeSelect(
  core: SpcCore,
  cdb: Buffer,
  dataOut: Buffer | null,
  nexus: Nexus,
  ten: boolean,
): ScsiResponse {
  const q = decodeModeSelect(cdb, ten);
  // SPC-4 6.13: PF=0 would mean vendor-specific pages; only the standard format is parsed.
  if (!q.pf) throw invalidCdbField(1, 4);
  if (q.sp) throw invalidCdbField(1, 0);
  if (q.parameterListLength === 0) return { status: ScsiStatus.GOOD, dataOutNeeded: 0 };
  const list = (dataOut ?? Buffer.alloc(0)).subarray(0, q.parameterListLength);
  const headerLength = ten ? 8 : 4;
  if (list.length < headerLength) throw parameterListLengthError();
  const r = new ByteReader(list, ten ? 3 : 2);
  const deviceSpecific = r.u8();
  const bdLengthAt = ten ? 6 : 3;
  if (ten && list[4] & 0x01) throw invalidParameter(4, 0); // LONGLBA: long descriptors unsupported
  const bdLength = ten ? list.readUInt16BE(bdLengthAt) : list[bdLengthAt];
  const bd = core.blockDescriptor;
  if (
    bdLength % SHORT_DESCRIPTOR_LENGTH !== 0 ||
    bdLength > SHORT_DESCRIPTOR_LENGTH ||
    (bdLength > 0 && !bd)
  ) {
    throw invalidParameter(bdLengthAt);
  }
  if (headerLength + bdLength > list.length) throw parameterListLengthError();
  const pages = parsePages(core, list, headerLength + bdLength);
  const before = snapshot(core);
  if (bd) {
    const descriptor = bdLength > 0 ? list.subarray(headerLength, headerLength + bdLength) : null;
    rebased(headerLength, () => bd.select(descriptor, deviceSpecific, nexus));
  }
  for (const p of pages) rebased(p.offset, () => p.spec.select(p.data, nexus));
  // SPC-4 6.13: other I_T nexuses learn of changed mode parameters through 2A/01.
  if (!before.equals(snapshot(core)))
    core.raiseUnitAttention(SENSE.MODE_PARAMETERS_CHANGED, { except: nexus });
  return { status: ScsiStatus.GOOD, dataOutNeeded: q.parameterListLength };
}

export const MODE_COMMANDS: readonly SpcCommandSpec[] = [
  {
    name: 'MODE SELECT(6)',
    opcode: 0x15,
    cdbLength: 6,
    direction: 'out',
    usage: [0xff, 0x11, 0x00, 0x00, 0xff, 0x00],
    timeout: 10,
    handler: (ctx: SpcContext) => modeSelect(ctx.core, ctx.cdb, ctx.task.dataOut, ctx.nexus, false),
  },
  {
    name: 'MODE SENSE(6)',
    opcode: 0x1a,
    cdbLength: 6,
    direction: 'in',
    usage: [0xff, 0x08, 0xff, 0xff, 0xff, 0x00],
    timeout: 10,
    allowedUnderWriteExclusive: true,
    handler: (ctx: SpcContext) => modeSenseData(ctx.core, ctx.cdb, false),
  },
  {
    name: 'MODE SELECT(10)',
    opcode: 0x55,
    cdbLength: 10,
    direction: 'out',
    usage: [0xff, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
    timeout: 10,
    handler: (ctx: SpcContext) => modeSelect(ctx.core, ctx.cdb, ctx.task.dataOut, ctx.nexus, true),
  },
  {
    name: 'MODE SENSE(10)',
    opcode: 0x5a,
    cdbLength: 10,
    direction: 'in',
    usage: [0xff, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
    timeout: 10,
    allowedUnderWriteExclusive: true,
    handler: (ctx: SpcContext) => modeSenseData(ctx.core, ctx.cdb, true),
  },
];
