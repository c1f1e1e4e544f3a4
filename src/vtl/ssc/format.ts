/**
 * FORMAT MEDIUM (SSC-4 FORMAT MEDIUM). The medium must be at the beginning of partition 0
 * (PBS rewinds first); afterwards it holds no data. FORMAT 0 (default) and 1/2 (partition as the
 * medium partition page says: with no additional partitions defined, one partition) leave one
 * empty partition; other values are INVALID FIELD IN CDB at byte 2. On LTO-9 and later a format
 * triggers media optimization again (PBS "slow format": FORMAT IMMED=1, then TEST UNIT READY
 * polls up to 2 hours). IMMED=0 returns once the optimization is done.
 */
import { ByteReader } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import { withMedium } from './common.js';
import type { SscContext } from './common.js';

const IMMED = 0x01;
/** FORMAT field values: default, partition, default then partition. */
const MAX_FORMAT = 2;
/** How often an IMMED=0 format checks whether optimization ended. */
const POLL_MS = 20;

function validateFormat(ctx: SscContext): void {
  const format = new ByteReader(ctx.cdb, 2).u8() & 0x0f;
  if (format > MAX_FORMAT)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 2, bitPointer: 3 });
}

async function format(ctx: SscContext, image: TapeImage): Promise<HandlerResult> {
  const drive = ctx.device;
  // SSC-4: FORMAT MEDIUM away from BOP of partition 0 is refused.
  if (!image.position().bop) throw new SenseError(SENSE.POSITION_PAST_BEGINNING_OF_MEDIUM);
  await drive.prepareWrite(image);
  await image.erase();
  await image.sync();
  drive.noteFormatted(image);
  await image.saveMeta();
}

const formatOnMedium = withMedium(format, { validate: validateFormat, mediumError: SENSE.WRITE_ERROR });

export async function formatMedium(ctx: SscContext): Promise<HandlerResult> {
  await formatOnMedium(ctx);
  if (ctx.cdb[1] & IMMED) return;
  while (ctx.device.optimizing && !ctx.task.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
