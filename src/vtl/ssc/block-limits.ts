/**
 * READ BLOCK LIMITS (SSC-4 READ BLOCK LIMITS). st reads it at every open and refuses larger
 * variable-mode writes itself; LTFS takes the maximum as its block size ceiling (so it must be at
 * least 512 KiB). It needs no cartridge. MLOC=1 asks for the 20-byte form with the MAXIMUM
 * LOGICAL OBJECT IDENTIFIER instead.
 */
import { ByteReader, ByteWriter } from '../../util/bytes.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import type { SscContext } from './common.js';

const MLOC = 0x01;
/** GRANULARITY 0: any block length from the minimum to the maximum (2^0 = 1 byte steps). */
const GRANULARITY = 0;
const MIN_BLOCK_LENGTH = 1;
/**
 * The largest logical object identifier LOCATE can reach: LOCATE(10) carries 32 bits, and the
 * short READ POSITION form reports no more.
 */
export const MAX_LOGICAL_OBJECT_IDENTIFIER = 0xffffffffn;

export function readBlockLimits(ctx: SscContext): HandlerResult {
  const mloc = (new ByteReader(ctx.cdb, 1).u8() & MLOC) !== 0;
  if (mloc) {
    const w = new ByteWriter(20);
    w.skip(12).u64(MAX_LOGICAL_OBJECT_IDENTIFIER);
    return w.buf;
  }
  const w = new ByteWriter(6);
  w.u8(GRANULARITY & 0x1f)
    .u24(ctx.device.maxBlockLength)
    .u16(MIN_BLOCK_LENGTH);
  return w.buf;
}
