/**
 * What every SSC handler shares: the handler shape, the medium-access wrapper that serialises
 * commands with cartridge moves, and the sense conditions of positioning (SSC-4 sequential
 * access model and the reply shapes of clients.md section 4).
 */
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { SenseCode } from '../../target/scsi/sense.js';
import type { CommandContext, HandlerResult } from '../../target/scsi/types.js';
import { VtlError } from '../../util/errors.js';
import type { SpaceResult, TapeImage } from '../image/types.js';
import type { TapeDrive } from './drive.js';

export type SscContext = CommandContext<TapeDrive>;
export type SscHandler = (ctx: SscContext) => HandlerResult | Promise<HandlerResult>;
export type MediumHandler = (ctx: SscContext, image: TapeImage) => HandlerResult | Promise<HandlerResult>;

/** What a damaged image (VtlError ERR_IMAGE: bad record header, CRC, index) means to the host. */
export interface MediumOptions {
  validate?: (ctx: SscContext) => void;
  /** MEDIUM ERROR reported when the image is damaged; default SEQUENTIAL POSITIONING ERROR. */
  mediumError?: SenseCode;
}

/**
 * A medium-access command: CDB fields are checked first (by `validate`, so a malformed CDB is
 * ILLEGAL REQUEST even without a cartridge), then readiness, then the handler runs with no
 * cartridge move in between. A damaged image surfaces as MEDIUM ERROR (a corrupt chunk is a
 * precise error, never an internal one), and is logged with the image's own explanation.
 */
export function withMedium(handler: MediumHandler, options: MediumOptions = {}): SscHandler {
  const mediumError = options.mediumError ?? SENSE.SEQUENTIAL_POSITIONING_ERROR;
  return (ctx) => {
    options.validate?.(ctx);
    const drive = ctx.device;
    return drive.exclusive(async () => {
      const image = drive.requireImage();
      try {
        return await handler(ctx, image);
      } catch (err) {
        if (err instanceof VtlError && err.code === 'ERR_IMAGE') {
          drive.logger.error('tape image damaged', { label: image.label, err });
          throw new SenseError(mediumError);
        }
        throw err;
      }
    });
  };
}

/**
 * Turns a SPACE/LOCATE stop into its sense (SSC-4 SPACE(6), clients.md 4): a filemark crossed
 * while spacing blocks is NO SENSE + FILEMARK 00/01; end of data is BLANK CHECK 00/05 (EOM set
 * only beyond early warning); beginning of partition is NO SENSE + EOM 00/04. INFORMATION is the
 * count not spaced, always positive (SSC: early termination of a SPACE "shall not result in a
 * negative information field value").
 */
export function spaceStop(
  drive: TapeDrive,
  image: TapeImage,
  result: SpaceResult,
  requested: number,
): SenseError | null {
  const residue = Math.abs(requested) - result.moved;
  switch (result.stop) {
    case null:
      return null;
    case 'filemark':
      return new SenseError(SENSE.FILEMARK_DETECTED, { filemark: true, information: residue });
    case 'eod':
      return new SenseError(SENSE.END_OF_DATA_DETECTED, {
        eom: drive.beyondEarlyWarning(image),
        information: residue,
      });
    case 'bop':
      return new SenseError(SENSE.BEGINNING_OF_PARTITION_MEDIUM_DETECTED, {
        eom: true,
        information: residue,
      });
  }
}
