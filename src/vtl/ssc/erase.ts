/**
 * ERASE(6) (SSC-4 ERASE(6)). LONG=0 writes end of data at the head (PBS fast format on
 * LTO-9, `mt erase` without argument); LONG=1 erases from the head to the end of the partition.
 * Either way nothing after the head remains and the head stays where the erase began, which is
 * now end of data; the result is synced before GOOD. IMMED is accepted (the erase is instant).
 */
import type { HandlerResult } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import type { SscContext } from './common.js';

export async function erase6(ctx: SscContext, image: TapeImage): Promise<HandlerResult> {
  // prepareWrite cuts everything after the head, which is all an erase does to this image.
  await ctx.device.prepareWrite(image);
  await image.erase();
  await image.sync();
}
