/**
 * WRITE FILEMARKS(6) (SSC-4 WRITE FILEMARKS(6)). A count of zero only flushes: PBS `sync`
 * sends it to make everything written durable. With IMMED=0 the command returns after the data
 * and marks are synced, so a host that saw GOOD never loses them (DESIGN.md: synced means
 * acknowledged after WRITE FILEMARKS with IMMED=0). WSMK (setmarks) is outside the usage mask
 * (table.ts), so the dispatcher refuses it with INVALID FIELD IN CDB at byte 1 bit 1.
 */
import { crossedProgrammableEarlyWarning } from './pew.js';
import { ByteReader } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import type { SscContext } from './common.js';

const IMMED = 0x01;

export async function writeFilemarks6(ctx: SscContext, image: TapeImage): Promise<HandlerResult> {
  const drive = ctx.device;
  const r = new ByteReader(ctx.cdb, 1);
  const immed = (r.u8() & IMMED) !== 0;
  const count = r.u24();
  if (count > 0) {
    await drive.prepareWrite(image);
    await image.writeFilemarks(count);
  }
  // IMMED=1 may return with the marks still buffered, unless the drive is unbuffered (mode 0).
  if (!immed || count === 0 || drive.bufferedMode === 0) await image.sync();
  // Early warning is reported for filemarks as for data (PBS treats 0/00/02 as success here too).
  if (count > 0 && drive.beyondEarlyWarning(image)) {
    throw new SenseError(SENSE.END_OF_PARTITION_MEDIUM_DETECTED, { eom: true, information: 0 });
  }
  if (count > 0 && crossedProgrammableEarlyWarning(drive, image)) {
    throw new SenseError(SENSE.PROGRAMMABLE_EARLY_WARNING_DETECTED, { eom: true, information: 0 });
  }
}
