/**
 * INITIALIZE ELEMENT STATUS (SMC-3 6.3), INITIALIZE ELEMENT STATUS WITH RANGE (SMC-3 6.4) and
 * PREVENT ALLOW MEDIUM REMOVAL on the changer (SPC-4 6.13 / SMC-3 6.9).
 *
 * The inventory is always exact (every move is persisted as it happens), so an inventory scan
 * only waits for moves and operator actions in progress; it never answers NOT READY 04/01.
 */
import { ByteReader } from '../../util/bytes.js';
import { SenseError } from '../../target/scsi/sense.js';
import type { CommandContext } from '../../target/scsi/types.js';
import type { MediumChanger } from './changer.js';
import { SMC_SENSE } from './sense-codes.js';

type SmcContext = CommandContext<MediumChanger>;

const RANGE = 0x01;

export async function initializeElementStatus(ctx: SmcContext): Promise<void> {
  await ctx.device.inventory.exclusive(() => undefined);
}

/** With RANGE=1 the STARTING ELEMENT ADDRESS must be an element (21/01 at byte 2 otherwise). */
export async function initializeElementStatusWithRange(ctx: SmcContext): Promise<void> {
  const r = new ByteReader(ctx.cdb, 1);
  const range = (r.u8() & RANGE) !== 0;
  const start = r.u16();
  if (range && !ctx.device.inventory.layout.at(start))
    throw new SenseError(SMC_SENSE.INVALID_ELEMENT_ADDRESS, { fieldPointer: 2 });
  await ctx.device.inventory.exclusive(() => undefined);
}

/**
 * PREVENT (byte 4 bits 1-0): 01b locks the import/export elements against the operator until
 * every I_T nexus that prevented allows again, or its nexus goes away, or a reset (SPC-4 6.13).
 * The robot still moves cartridges in and out of them. 1xb is outside the usage mask.
 */
export function preventAllowMediumRemoval(ctx: SmcContext): void {
  const prevent = (new ByteReader(ctx.cdb, 4).u8() & 0x03) === 0x01;
  ctx.device.inventory.setMailslotLock(ctx.nexus.key, prevent);
}
