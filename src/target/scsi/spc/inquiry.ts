/**
 * INQUIRY (SPC-4 6.6): standard data from the profile's identity and the VPD pages every device
 * has: 00h supported pages, 80h unit serial number, 83h device identification (SPC-4 7.8).
 */
import { ByteReader, ByteWriter } from '../../../util/bytes.js';
import type { DeviceIdentity, ScsiTask } from '../types.js';
import { invalidCdbField, truncate } from './common.js';
import type { BoundVpdPage, SpcCommandSpec, SpcContext } from './context.js';

/** Standard INQUIRY data length: through the version descriptors and reserved bytes 74-95. */
const STANDARD_LENGTH = 96;

/** SPC-4 table 140: version 06h claims SPC-4. */
const VERSION_SPC4 = 0x06;

export interface InquiryCdb {
  evpd: boolean;
  page: number;
  allocationLength: number;
}

export function decodeInquiry(cdb: Buffer): InquiryCdb {
  const r = new ByteReader(cdb, 1);
  const evpd = (r.u8() & 0x01) !== 0;
  const page = r.u8();
  return { evpd, page, allocationLength: r.u16() };
}

/**
 * Standard INQUIRY data (SPC-4 6.6.2). `qualifier` is 000b for a connected device, 011b for a
 * LUN with no device behind it (then the type is 1Fh).
 */
export function standardInquiry(identity: DeviceIdentity, qualifier = 0): Buffer {
  const w = new ByteWriter(STANDARD_LENGTH);
  w.u8(((qualifier & 0x07) << 5) | (identity.deviceType & 0x1f));
  w.u8(identity.removable ? 0x80 : 0x00);
  w.u8(VERSION_SPC4);
  // NORMACA 0 (NACA refused), HISUP 1 (SAM-5 LUN structure), RESPONSE DATA FORMAT 2.
  w.u8(0x10 | 0x02);
  w.u8(STANDARD_LENGTH - 5);
  w.u8(0x00); // SCCS ACC TPGS 3PC PROTECT: none
  w.u8(identity.mediumChanger ? 0x08 : 0x00); // MCHNGR: never on a drive (mtx attached mode)
  w.u8(0x02); // CMDQUE: tasks are queued and run in order
  w.ascii(identity.vendor, 8);
  w.ascii(identity.product, 16);
  w.ascii(identity.revision, 4);
  w.skip(20 + 2); // vendor specific 36-55, bytes 56-57
  for (const v of identity.versionDescriptors.slice(0, 8)) w.u16(v);
  return w.buf;
}

/** VPD page header (SPC-4 7.8.1): qualifier/type, page code, 2-byte page length. */
function vpdPage(identity: DeviceIdentity, page: number, body: Buffer): Buffer {
  const w = new ByteWriter(4 + body.length);
  w.u8(identity.deviceType & 0x1f)
    .u8(page)
    .u16(body.length)
    .bytes(body);
  return w.buf;
}

/** One designation descriptor (SPC-4 7.8.6.1). `protocol` set means PIV=1 with that identifier. */
function designator(
  codeSet: number,
  association: number,
  type: number,
  value: Buffer,
  protocol?: number,
): Buffer {
  const w = new ByteWriter(4 + value.length);
  w.u8(((protocol ?? 0) << 4) | codeSet);
  w.u8((protocol !== undefined ? 0x80 : 0) | (association << 4) | type);
  w.u8(0).u8(value.length).bytes(value);
  return w.buf;
}

const CODE_SET_BINARY = 1;
const CODE_SET_ASCII = 2;
const CODE_SET_UTF8 = 3;
const ASSOC_LU = 0;
const ASSOC_TARGET_PORT = 1;
const TYPE_T10_VENDOR = 1;
const TYPE_NAA = 3;
const TYPE_RELATIVE_PORT = 4;
const TYPE_SCSI_NAME = 8;
/** SPC-4 table 362: protocol identifier of iSCSI. */
const PROTOCOL_ISCSI = 5;

/** SCSI name string of an iSCSI target port (SPC-4 7.8.6.11, RFC 7143 iSCSI names): `name,t,0xTPGT`. */
export function targetPortName(name: string, portalGroupTag: number): string {
  return `${name},t,0x${portalGroupTag.toString(16).padStart(4, '0')}`;
}

/** SCSI name strings are null-terminated and padded to a multiple of four (SPC-4 7.8.6.11). */
function scsiNameString(s: string): Buffer {
  const raw = Buffer.from(s, 'utf8');
  const b = Buffer.alloc((raw.length + 4) & ~3);
  raw.copy(b);
  return b;
}

/** Device identification (83h): what udev, PBS, LTFS and multipath tell LUNs apart by. */
function deviceIdentification(identity: DeviceIdentity, task: ScsiTask): Buffer {
  const t10 = new ByteWriter(8 + 16 + identity.serial.length);
  t10.ascii(identity.vendor, 8).ascii(identity.product, 16).ascii(identity.serial, identity.serial.length);
  const rel = Buffer.alloc(4);
  rel.writeUInt16BE(task.target.portalGroupTag & 0xffff, 2);
  return Buffer.concat([
    designator(CODE_SET_BINARY, ASSOC_LU, TYPE_NAA, identity.naa),
    designator(CODE_SET_ASCII, ASSOC_LU, TYPE_T10_VENDOR, t10.buf),
    designator(CODE_SET_BINARY, ASSOC_TARGET_PORT, TYPE_RELATIVE_PORT, rel, PROTOCOL_ISCSI),
    designator(
      CODE_SET_UTF8,
      ASSOC_TARGET_PORT,
      TYPE_SCSI_NAME,
      scsiNameString(targetPortName(task.target.name, task.target.portalGroupTag)),
      PROTOCOL_ISCSI,
    ),
  ]);
}

/** The VPD pages of a unit: the core's three, then the device's own, ascending. */
export function vpdTable(identity: DeviceIdentity, extra: readonly BoundVpdPage[]): BoundVpdPage[] {
  const core: BoundVpdPage[] = [
    {
      name: 'Supported VPD Pages',
      page: 0x00,
      encode: () => vpdPage(identity, 0x00, Buffer.from(pages.map((p) => p.page))),
    },
    {
      name: 'Unit Serial Number',
      page: 0x80,
      encode: () => vpdPage(identity, 0x80, Buffer.from(identity.serial, 'latin1')),
    },
    {
      name: 'Device Identification',
      page: 0x83,
      encode: (task) => vpdPage(identity, 0x83, deviceIdentification(identity, task)),
    },
  ];
  const byPage = new Map<number, BoundVpdPage>();
  for (const p of [...core, ...extra]) if (!byPage.has(p.page)) byPage.set(p.page, p);
  const pages = [...byPage.values()].sort((a, b) => a.page - b.page);
  return pages;
}

function inquiry(ctx: SpcContext): Buffer {
  const { evpd, page, allocationLength } = decodeInquiry(ctx.cdb);
  if (!evpd) {
    // SPC-4 6.6.1: a page code without EVPD is an invalid field.
    if (page !== 0) throw invalidCdbField(2);
    return truncate(standardInquiry(ctx.core.identity), allocationLength);
  }
  const vpd = vpdTable(ctx.core.identity, ctx.core.vpdPages).find((p) => p.page === page);
  if (!vpd) throw invalidCdbField(2);
  return truncate(vpd.encode(ctx.task), allocationLength);
}

export const INQUIRY_COMMANDS: readonly SpcCommandSpec[] = [
  {
    name: 'INQUIRY',
    opcode: 0x12,
    cdbLength: 6,
    direction: 'in',
    // EVPD only: CMDDT (bit 1) is obsolete and refused through the mask.
    usage: [0xff, 0x01, 0xff, 0xff, 0xff, 0x00],
    timeout: 10,
    allowedWithUnitAttention: true,
    allowedUnderReservation: true,
    handler: inquiry,
  },
];
