/**
 * VPD pages the tape drive adds to 00h/80h/83h (which the SPC core builds from the identity).
 */
import { ByteWriter } from '../../util/bytes.js';
import { DeviceType } from '../../target/scsi/types.js';
import type { VpdPageSpec } from '../../target/scsi/types.js';
import type { TapeDrive } from './drive.js';

const WORM = 0x01;

/**
 * Sequential-Access Device Capabilities (SSC-4 VPD page B0h): page length 2, WORM set (the
 * drive takes WORM cartridges and enforces append-only writing on them); no tape stream
 * mirroring (TSMC 0).
 */
export const sequentialAccessCapabilitiesPage: VpdPageSpec<TapeDrive> = {
  name: 'Sequential-Access Device Capabilities',
  page: 0xb0,
  encode(): Buffer {
    const w = new ByteWriter(6);
    w.u8(DeviceType.SEQUENTIAL_ACCESS).u8(0xb0).u16(2).u8(WORM).u8(0);
    return w.buf;
  },
};

export const TAPE_VPD_PAGES: readonly VpdPageSpec<TapeDrive>[] = [sequentialAccessCapabilitiesPage];
