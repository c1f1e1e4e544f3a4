/**
 * READ(6) and WRITE(6) (SSC-4 READ(6), WRITE(6)), in variable-block mode (FIXED=0: one
 * block of TRANSFER LENGTH bytes) and fixed-block mode (FIXED=1: TRANSFER LENGTH blocks of the
 * mode block length). The reply shapes are those clients.md section 4 lists: st, PBS, LTFS and
 * Bacula branch on them.
 */
import { crossedProgrammableEarlyWarning } from './pew.js';
import { ByteReader } from '../../util/bytes.js';
import { SENSE, SenseError, type SenseCode } from '../../target/scsi/sense.js';
import type { HandlerResult } from '../../target/scsi/types.js';
import { ScsiStatus } from '../../target/scsi/types.js';
import type { TapeImage } from '../image/types.js';
import type { SscContext } from './common.js';
import type { TapeDrive } from './drive.js';
import { TapeAlertFlag } from './tape-alert.js';

const SILI = 0x02;
const FIXED = 0x01;

interface TransferCdb {
  readonly sili: boolean;
  readonly fixed: boolean;
  readonly length: number;
}

function decodeTransfer(cdb: Buffer): TransferCdb {
  const r = new ByteReader(cdb, 1);
  const flags = r.u8();
  return { sili: (flags & SILI) !== 0, fixed: (flags & FIXED) !== 0, length: r.u24() };
}

/**
 * SSC-4 READ(6): SILI together with FIXED is INVALID FIELD IN CDB; FIXED=1 needs a fixed block
 * length from MODE SELECT (block length 0 means variable mode only).
 */
export function validateRead6(ctx: SscContext): void {
  const { sili, fixed } = decodeTransfer(ctx.cdb);
  if (fixed && sili) throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1, bitPointer: 1 });
  if (fixed && ctx.device.blockLength === 0)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1, bitPointer: 0 });
}

export async function read6(ctx: SscContext, image: TapeImage): Promise<HandlerResult> {
  const { sili, fixed, length } = decodeTransfer(ctx.cdb);
  // A TRANSFER LENGTH of zero transfers nothing and does not move the medium.
  if (length === 0) return;
  return fixed ? readFixed(ctx, image, length) : readVariable(ctx, image, length, sili);
}

async function readVariable(
  ctx: SscContext,
  image: TapeImage,
  length: number,
  sili: boolean,
): Promise<HandlerResult> {
  const drive = ctx.device;
  // Transient: the block goes out in this command's Data-In (the transport copies or writes it
  // before returning), so the image may reuse its read-ahead memory. The data path decrypts
  // and decompresses (data-path.ts).
  const r = await drive.dataPath.read(ctx.nexus, image, true);
  // Encryption refusals (SSC-4 4.2.24): DATA PROTECT 74/xx, nothing transferred, head before it.
  if (r.kind === 'protected') throw encryptionRefusal(drive, r.sense, { information: length });
  if (r.kind === 'filemark') {
    // The head is now on the EOM side of the filemark; nothing was transferred.
    throw new SenseError(SENSE.FILEMARK_DETECTED, { filemark: true, information: length });
  }
  if (r.kind === 'eod') {
    throw new SenseError(SENSE.END_OF_DATA_DETECTED, {
      eom: drive.beyondEarlyWarning(image),
      information: length,
    });
  }
  const data = r.data;
  drive.counters.bytesRead += Math.min(data.length, length);
  drive.noteTransfer(data.length);
  if (data.length === length) return data;
  if (data.length < length) {
    // Short block: with SILI the transport's underflow residual says it; without, ILI and the
    // INFORMATION residue (st returns the short count from it; Bacula relies on that).
    if (sili) return data;
    throw new SenseError(SENSE.INCORRECT_LENGTH, { ili: true, information: length - data.length, data });
  }
  // Overlength block: LTO drives report it whatever SILI says (LTFS maps it to an overrun, PBS
  // must not accept a truncated block); INFORMATION is negative, the data is cut to the request.
  throw new SenseError(SENSE.INCORRECT_LENGTH, {
    ili: true,
    information: length - data.length,
    data: data.subarray(0, length),
  });
}

/**
 * Fixed mode: `count` blocks of the mode block length. A filemark, end of data or a block of
 * another length ends the transfer with the blocks read so far; INFORMATION counts the blocks
 * not read (the incorrect-length block is passed but not counted or transferred).
 */
async function readFixed(ctx: SscContext, image: TapeImage, count: number): Promise<HandlerResult> {
  const drive = ctx.device;
  const blockLength = drive.blockLength;
  const parts: Buffer[] = [];
  const done = (): Buffer => Buffer.concat(parts, parts.length * blockLength);
  for (let i = 0; i < count; i++) {
    const r = await drive.dataPath.read(ctx.nexus, image, false);
    if (r.kind === 'protected') {
      throw encryptionRefusal(drive, r.sense, { information: count - i, data: done() });
    }
    if (r.kind === 'filemark') {
      throw new SenseError(SENSE.FILEMARK_DETECTED, { filemark: true, information: count - i, data: done() });
    }
    if (r.kind === 'eod') {
      throw new SenseError(SENSE.END_OF_DATA_DETECTED, {
        eom: drive.beyondEarlyWarning(image),
        information: count - i,
        data: done(),
      });
    }
    if (r.data.length !== blockLength) {
      throw new SenseError(SENSE.INCORRECT_LENGTH, { ili: true, information: count - i, data: done() });
    }
    parts.push(r.data);
    drive.counters.bytesRead += blockLength;
    drive.noteTransfer(blockLength);
  }
  return done();
}

/**
 * SSC-4 WRITE(6): FIXED=1 without a fixed block length, or a variable block longer than READ
 * BLOCK LIMITS reports, is INVALID FIELD IN CDB (st refuses such writes itself, EINVAL).
 */
export function validateWrite6(ctx: SscContext): void {
  const { fixed, length } = decodeTransfer(ctx.cdb);
  const drive = ctx.device;
  if (fixed && drive.blockLength === 0)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 1, bitPointer: 0 });
  if (!fixed && length > drive.maxBlockLength)
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 2 });
}

export async function write6(ctx: SscContext, image: TapeImage): Promise<HandlerResult> {
  const drive = ctx.device;
  const { fixed, length } = decodeTransfer(ctx.cdb);
  const blockLength = fixed ? drive.blockLength : length;
  const blocks = fixed ? length : 1;
  const needed = blockLength * blocks;
  const dataOut = ctx.task.dataOut;
  // Fewer bytes than the CDB calls for cannot make whole blocks (as LIO refuses such WRITEs).
  if (needed > 0 && (!dataOut || dataOut.length < needed))
    throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 2 });
  if (needed === 0) return;
  await drive.prepareWrite(image);

  for (let i = 0; i < blocks; i++) {
    const block =
      blocks === 1 && dataOut!.length === blockLength
        ? dataOut!
        : dataOut!.subarray(i * blockLength, (i + 1) * blockLength);
    // The data path compresses/encrypts; capacity is what it stores (data-path.ts). Physical end
    // of partition: VOLUME OVERFLOW with EOM, INFORMATION = what was not written (bytes in
    // variable mode, blocks in fixed mode; st then knows the whole request was lost).
    if (!(await drive.dataPath.write(ctx.nexus, image, block, drive.compression))) {
      throw new SenseError(SENSE.VOLUME_OVERFLOW, { eom: true, information: fixed ? blocks - i : length });
    }
    drive.counters.bytesWritten += blockLength;
    drive.noteTransfer(blockLength);
  }
  // BUFFERED MODE 0 (SSC-4 mode parameter header): GOOD only once the data is on the medium.
  if (drive.bufferedMode === 0) await image.sync();
  // Early warning: the data is written, and every WRITE in the zone says so with NO SENSE, EOM,
  // 00/02 and a zero residue (PBS: "logical end of media"; st: ENOSPC on the next write).
  if (drive.beyondEarlyWarning(image)) {
    throw new SenseError(SENSE.END_OF_PARTITION_MEDIUM_DETECTED, { eom: true, information: 0 });
  }
  // Programmable early warning (pew.ts): once, when this write reached the zone.
  if (crossedProgrammableEarlyWarning(drive, image)) {
    throw new SenseError(SENSE.PROGRAMMABLE_EARLY_WARNING_DETECTED, { eom: true, information: 0 });
  }
  return dataOut!.length === needed ? undefined : { status: ScsiStatus.GOOD, dataOutNeeded: needed };
}

/**
 * A block the encryption settings do not let the host read (74/xx, data-path.ts): the drive
 * also raises TapeAlert 3Dh ENCRYPTION POLICY VIOLATION (an event, cleared when page 2Eh is
 * read), so monitoring that only polls TapeAlert (NetBackup, PBS status) sees the failure.
 */
function encryptionRefusal(
  drive: TapeDrive,
  sense: SenseCode,
  detail: ConstructorParameters<typeof SenseError>[1],
): SenseError {
  drive.injectTapeAlert(TapeAlertFlag.ENCRYPTION_POLICY_VIOLATION);
  return new SenseError(sense, detail);
}
