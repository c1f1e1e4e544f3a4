/**
 * FORMAT MEDIUM (SSC-4 FORMAT MEDIUM). The medium must be at the beginning of partition 0
 * (PBS rewinds first, st and LTFS LOAD first); afterwards it holds no data in any partition.
 * FORMAT 0 (default format) leaves one partition of the whole capacity; 1 (partition) and 2
 * (default format, then partition) lay down the layout of the medium partition page: what MODE
 * SELECT asked for on this cartridge, or else its present layout (partitions.ts; IBM LTO
 * semantics, POFM=1). Other values are INVALID FIELD IN CDB at byte 2. On LTO-9 and later a
 * format triggers media optimization again (PBS "slow format": FORMAT IMMED=1, then TEST UNIT
 * READY polls up to 2 hours). IMMED=0 returns once the optimization is done.
 */
import { ByteReader } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import { withMedium } from './common.js';
import type { SscContext } from './common.js';
import { dropPartitionAttributes } from './mam-store.js';
import { mediaGeneration } from './models.js';
import { plannedLayout } from './partitions.js';
import { SSC_SENSE } from './sense-codes.js';

const IMMED = 0x01;
/** FORMAT field values (SSC-4 table 'FORMAT field definition'). */
export const FormatType = { DEFAULT: 0, PARTITION: 1, DEFAULT_THEN_PARTITION: 2 } as const;
/** How often an IMMED=0 format checks whether optimization ended. */
const POLL_MS = 20;

const formatType = (cdb: Buffer): number => new ByteReader(cdb, 2).u8() & 0x0f;

function validateFormat(ctx: SscContext): void {
  if (formatType(ctx.cdb) > FormatType.DEFAULT_THEN_PARTITION)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 2, bitPointer: 3 });
}

const sameLayout = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

async function format(ctx: SscContext, image: TapeImage): Promise<HandlerResult> {
  const drive = ctx.device;
  // SSC-4: FORMAT MEDIUM anywhere but BOP of partition 0 is refused.
  const p = image.position();
  if (p.partition !== 0 || !p.bop) throw new SenseError(SENSE.POSITION_PAST_BEGINNING_OF_MEDIUM);
  drive.requireWritableImage();
  const layout = formatType(ctx.cdb) === FormatType.DEFAULT ? null : plannedLayout(drive, image);
  if (mediaGeneration(image.meta.mediaType)?.worm) {
    // SSC-4 WORM: nothing recorded may be lost. An empty cartridge keeping its single partition
    // is formatted already (PBS formats only empty WORM media); anything else is refused.
    const empty = image.partitionBytesUsed().every((u) => u === 0);
    if (!empty || !sameLayout(layout ?? [image.meta.capacity], image.partitionCapacities()))
      throw new SenseError(SSC_SENSE.WORM_OVERWRITE_ATTEMPTED);
    return;
  }
  await image.format(layout);
  drive.partitionPlan = null;
  // Attributes of partitions that no longer exist go with them (SPC-4 MAM is per partition).
  dropPartitionAttributes(image.meta, image.partitionCount);
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
