/**
 * READ ELEMENT STATUS (SMC-3 6.11): element status data header, one element status page per run
 * of elements of one type, and the element descriptors (SMC-3 6.11.3-6.11.7), as PBS and mtx
 * parse them (clients.md 2 'Changer element reporting'):
 *
 * - element type 0 reports every type, in ascending element address order (TSM needs it);
 *   a type with no elements answers an 8-byte header with zero elements, never an error;
 * - VOLTAG adds the 36-byte primary volume tag (PVOLTAG), no alternate tag: 48-byte descriptors
 *   without DVCID, what mtx's 52-bytes-per-element buffer expects;
 * - DVCID adds the device identifier: for a drive code set 2 (ASCII), identifier type 1, 34
 *   bytes of vendor (8), product (16) and serial (10) equal to the drive's INQUIRY and VPD 80h,
 *   so PBS, NetBackup and Backup Exec map drive elements to drives; other elements carry an
 *   empty identifier (length 0) so every descriptor of a page keeps one length;
 * - a full drive has SVALID and the storage element it came from (mtx: "Storage Element N
 *   Loaded", PBS: the slot to unload to);
 * - the allocation length is honoured by dropping whole descriptors, and the header's NUMBER OF
 *   ELEMENTS AVAILABLE and BYTE COUNT OF REPORT AVAILABLE describe exactly what is sent (PBS
 *   refuses a byte count larger than the data). When not even one descriptor fits, the header
 *   announces the whole report, so a client probing with a short allocation (mtx) learns the
 *   size to ask for.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import { SenseError } from '../../target/scsi/sense.js';
import { invalidCdbField, truncate } from '../../target/scsi/spc/common.js';
import type { CommandContext } from '../../target/scsi/types.js';
import { ELEMENT_TYPE_CODE } from '../inventory/elements.js';
import type { ElementRef, ElementType } from '../inventory/elements.js';
import type { CartridgeRecord, DriveSlot } from '../inventory/types.js';
import type { MediumChanger } from './changer.js';
import { SMC_SENSE } from './sense-codes.js';

export const ELEMENT_STATUS_HEADER_LENGTH = 8;
export const ELEMENT_PAGE_HEADER_LENGTH = 8;
export const ELEMENT_DESCRIPTOR_BASE_LENGTH = 12;
export const VOLUME_TAG_LENGTH = 36;
export const DVCID_HEADER_LENGTH = 4;
/** Vendor (8) + product (16) + serial (10): PBS accepts no other length for identifier type 1. */
export const DVCID_IDENTIFIER_LENGTH = 34;

const CODE_SET_ASCII = 0x02;
const IDENTIFIER_TYPE_T10_VENDOR = 0x01;

// Element descriptor byte 2 flags (SMC-3 tables 'medium transport/storage/import export/data
// transfer element descriptor').
const FULL = 0x01;
const IMPEXP = 0x02;
const ACCESS = 0x08;
const EXENAB = 0x10;
const INENAB = 0x20;
// Byte 6 of a data transfer element descriptor.
const LU_VALID = 0x10;
// Byte 9.
const SVALID = 0x80;

/** SMC-3 MEDIUM TYPE (byte 9 bits 2-0): 1 data, 2 cleaning, 4 WORM. */
function mediumTypeCode(rec: CartridgeRecord): number {
  if (rec.mediaType === 'CLEANING') return 2;
  return rec.mediaType.endsWith('-WORM') ? 4 : 1;
}

export interface ReadElementStatusCdb {
  voltag: boolean;
  elementType: number;
  start: number;
  count: number;
  curdata: boolean;
  dvcid: boolean;
  allocationLength: number;
}

export function decodeReadElementStatus(cdb: Buffer): ReadElementStatusCdb {
  const r = new ByteReader(cdb, 1);
  const b1 = r.u8();
  const start = r.u16();
  const count = r.u16();
  const b6 = r.u8();
  return {
    voltag: (b1 & 0x10) !== 0,
    elementType: b1 & 0x0f,
    start,
    count,
    curdata: (b6 & 0x02) !== 0,
    dvcid: (b6 & 0x01) !== 0,
    allocationLength: r.u24(),
  };
}

interface Shape {
  readonly voltag: boolean;
  readonly dvcid: boolean;
}

export function descriptorLength(type: ElementType, shape: Shape): number {
  let n = ELEMENT_DESCRIPTOR_BASE_LENGTH;
  if (shape.voltag) n += VOLUME_TAG_LENGTH;
  if (shape.dvcid) n += DVCID_HEADER_LENGTH + (type === 'drive' ? DVCID_IDENTIFIER_LENGTH : 0);
  return n;
}

function encodeDescriptor(
  changer: MediumChanger,
  el: ElementRef & { address: number },
  shape: Shape,
  w: ByteWriter,
): void {
  const inv = changer.inventory;
  const rec = inv.occupantOf(el);
  const drive: DriveSlot | null = el.type === 'drive' ? inv.drives[el.index] : null;
  let flags = rec ? FULL : 0;
  if (el.type !== 'transport') flags |= ACCESS;
  if (el.type === 'mailslot') flags |= EXENAB | INENAB | (rec?.imported ? IMPEXP : 0);
  w.u16(el.address).u8(flags).u8(0);
  w.u8(0).u8(0); // ADDITIONAL SENSE CODE / QUALIFIER: no exception
  const lun = drive?.lun;
  w.u8(lun !== undefined && lun >= 0 && lun <= 7 ? LU_VALID | lun : 0)
    .u8(0)
    .u8(0);
  const home = rec?.home;
  w.u8((rec && home ? SVALID : 0) | (rec ? mediumTypeCode(rec) : 0));
  w.u16(rec && home ? inv.layout.addressOf(home) : 0);
  if (shape.voltag) {
    // SMC-3 'volume tag information': 32-byte VOLUME IDENTIFIER (left-aligned, space padded), 2 reserved,
    // 2-byte VOLUME SEQUENCE NUMBER. Empty elements carry zeros.
    if (rec) w.ascii(rec.barcode, 32).u16(0).u16(0);
    else w.skip(VOLUME_TAG_LENGTH);
  }
  if (shape.dvcid) {
    if (drive) {
      w.u8(CODE_SET_ASCII).u8(IDENTIFIER_TYPE_T10_VENDOR).u8(0).u8(DVCID_IDENTIFIER_LENGTH);
      w.ascii(drive.vendor, 8).ascii(drive.product, 16).ascii(drive.serial, 10);
    } else {
      w.skip(DVCID_HEADER_LENGTH);
    }
  }
}

/** The element status data for a request (before transport truncation). */
export function elementStatusData(changer: MediumChanger, q: ReadElementStatusCdb): Buffer {
  const layout = changer.inventory.layout;
  const shape: Shape = { voltag: q.voltag, dvcid: q.dvcid };
  const selected = layout.all
    .filter(
      (e) => (q.elementType === 0 || ELEMENT_TYPE_CODE[e.type] === q.elementType) && e.address >= q.start,
    )
    .slice(0, q.count);

  // Lay out pages: a new page whenever the element type changes.
  let total = ELEMENT_STATUS_HEADER_LENGTH;
  let fitting = 0;
  let fittingBytes = total;
  for (const [i, e] of selected.entries()) {
    if (i === 0 || selected[i - 1].type !== e.type) total += ELEMENT_PAGE_HEADER_LENGTH;
    total += descriptorLength(e.type, shape);
    if (total <= q.allocationLength) {
      fitting = i + 1;
      fittingBytes = total;
    }
  }
  if (fitting === 0 && selected.length > 0) {
    // Not one descriptor fits: the header alone, announcing the whole report.
    const w = new ByteWriter(ELEMENT_STATUS_HEADER_LENGTH);
    w.u16(selected[0].address)
      .u16(selected.length)
      .u8(0)
      .u24(total - ELEMENT_STATUS_HEADER_LENGTH);
    return truncate(w.buf, q.allocationLength);
  }
  const sent = selected.slice(0, fitting);
  const w = new ByteWriter(fittingBytes);
  w.u16(sent.length > 0 ? sent[0].address : 0)
    .u16(sent.length)
    .u8(0)
    .u24(fittingBytes - ELEMENT_STATUS_HEADER_LENGTH);
  for (let i = 0; i < sent.length;) {
    const type = sent[i].type;
    let j = i;
    while (j < sent.length && sent[j].type === type) j++;
    const length = descriptorLength(type, shape);
    w.u8(ELEMENT_TYPE_CODE[type])
      .u8(shape.voltag ? 0x80 : 0x00) // PVOLTAG; AVOLTAG never
      .u16(length)
      .u8(0)
      .u24(length * (j - i));
    for (let k = i; k < j; k++) encodeDescriptor(changer, sent[k], shape, w);
    i = j;
  }
  return truncate(w.buf, q.allocationLength);
}

/**
 * READ ELEMENT STATUS. ELEMENT TYPE CODE above 4 is INVALID FIELD IN CDB (byte 1 bits 3-0); a
 * STARTING ELEMENT ADDRESS above every element the library has is INVALID ELEMENT ADDRESS
 * (21/01). CURDATA is honoured trivially: the status is always current and never needs motion.
 */
export function readElementStatus(ctx: CommandContext<MediumChanger>): Buffer {
  const q = decodeReadElementStatus(ctx.cdb);
  if (q.elementType > ELEMENT_TYPE_CODE.drive) throw invalidCdbField(1, 3);
  if (q.start > ctx.device.inventory.layout.highestAddress)
    throw new SenseError(SMC_SENSE.INVALID_ELEMENT_ADDRESS, { fieldPointer: 2 });
  return elementStatusData(ctx.device, q);
}
