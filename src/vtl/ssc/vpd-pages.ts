/**
 * VPD pages the tape drive adds to 00h/80h/83h (which the SPC core builds from the identity):
 * the SSC-4 pages B0h-B2h every personality has, and IBM's vendor pages C0h/C1h (IBM LTO SCSI
 * Reference, "Drive Component Revision Levels" and "Drive Serial Numbers") for IBM ones, which
 * sg_vpd -a walks and IBM's Windows driver reads.
 */
import { ByteWriter } from '../../util/bytes.js';
import { DeviceType } from '../../target/scsi/types.js';
import type { VpdPageSpec } from '../../target/scsi/types.js';
import type { TapeDrive } from './drive.js';
import { SUPPORTED_TAPE_ALERT_FLAGS } from './tape-alert.js';

const WORM = 0x01;

/** VPD page header (SPC-4 7.8.1) around a body. */
function vpd(page: number, body: Buffer): Buffer {
  const w = new ByteWriter(4 + body.length);
  return w.u8(DeviceType.SEQUENTIAL_ACCESS).u8(page).u16(body.length).bytes(body).buf;
}

/** ASCII field, left-aligned and space padded. */
function field(s: string, n: number): Buffer {
  const b = Buffer.alloc(n, 0x20);
  b.write(s.slice(0, n), 'latin1');
  return b;
}

/**
 * Sequential-Access Device Capabilities (SSC-4 VPD page B0h): page length 2, WORM set (the
 * drive takes WORM cartridges and enforces append-only writing on them); no tape stream
 * mirroring (TSMC 0).
 */
export const sequentialAccessCapabilitiesPage: VpdPageSpec<TapeDrive> = {
  name: 'Sequential-Access Device Capabilities',
  page: 0xb0,
  encode: () => vpd(0xb0, Buffer.of(WORM, 0)),
};

/**
 * Manufacturer-assigned Serial Number (SSC-4 VPD page B1h): the serial the manufacturer gave the
 * drive, here the unit serial number itself (it is also what the changer reports per drive).
 */
export const manufacturerSerialPage: VpdPageSpec<TapeDrive> = {
  name: 'Manufacturer-assigned Serial Number',
  page: 0xb1,
  encode: (drive) => vpd(0xb1, Buffer.from(drive.serial, 'latin1')),
};

/**
 * TapeAlert Supported Flags (SSC-4 VPD page B2h): page length 000Ch, one bit per flag from
 * flag 1 (byte 4 bit 7) to flag 64 (byte 11 bit 0), bytes 12-15 reserved.
 */
export const tapeAlertSupportedFlagsPage: VpdPageSpec<TapeDrive> = {
  name: 'TapeAlert Supported Flags',
  page: 0xb2,
  encode(): Buffer {
    const body = Buffer.alloc(12);
    for (const f of SUPPORTED_TAPE_ALERT_FLAGS) body[(f - 1) >> 3] |= 0x80 >> ((f - 1) & 7);
    return vpd(0xb2, body);
  },
};

/** Firmware build date of every personality (IBM C0h DATE field). */
const FIRMWARE_DATE = '20240301';
const FIRMWARE_TIME = '120000 ';

/**
 * IBM Drive Component Revision Levels (VPD C0h): page length 27h; CODE NAME (12 ASCII: the
 * firmware level, as in INQUIRY), TIME (7), DATE (8, YYYYMMDD), PLATFORM (12).
 */
export const ibmComponentRevisionPage: VpdPageSpec<TapeDrive> = {
  name: 'IBM Drive Component Revision Levels',
  page: 0xc0,
  encode: (drive) =>
    vpd(
      0xc0,
      Buffer.concat([
        field(drive.model.revision, 12),
        field(FIRMWARE_TIME, 7),
        field(FIRMWARE_DATE, 8),
        field(drive.model.product, 12),
      ]),
    ),
};

/**
 * IBM Drive Serial Numbers (VPD C1h): page length 18h; MANUFACTURING SERIAL NUMBER and
 * REPORTED SERIAL NUMBER, 12 ASCII each.
 */
export const ibmSerialNumbersPage: VpdPageSpec<TapeDrive> = {
  name: 'IBM Drive Serial Numbers',
  page: 0xc1,
  encode: (drive) => vpd(0xc1, Buffer.concat([field(drive.serial, 12), field(drive.serial, 12)])),
};

export const TAPE_VPD_PAGES: readonly VpdPageSpec<TapeDrive>[] = [
  sequentialAccessCapabilitiesPage,
  manufacturerSerialPage,
  tapeAlertSupportedFlagsPage,
];

export const IBM_VPD_PAGES: readonly VpdPageSpec<TapeDrive>[] = [
  ibmComponentRevisionPage,
  ibmSerialNumbersPage,
];
