/**
 * MOVE MEDIUM (SMC-3 6.6), EXCHANGE MEDIUM (SMC-3 6.2) and POSITION TO ELEMENT (SMC-3 6.8).
 *
 * MEDIUM TRANSPORT ADDRESS 0 names the default transport (SMC-3 6.6: PBS and mtx send the first
 * transport reported, mtx falls back to 0). Refusals, each with the sense mtx and PBS decode
 * (clients.md 4): an address the library lacks → ILLEGAL REQUEST 21/01 INVALID ELEMENT ADDRESS
 * with the field pointer at the address; source empty → 3B/0E; destination full → 3B/0D; a drive
 * whose initiator prevents medium removal → 53/02. A cartridge still loaded in a drive is
 * unloaded by the move itself (PBS and Bacula's mtx-changer do not eject first). INVERT is
 * outside the usage mask: LTO cartridges have one side.
 */
import { ByteReader } from '../../util/bytes.js';
import { SENSE, SenseError } from '../../target/scsi/sense.js';
import type { CommandContext } from '../../target/scsi/types.js';
import { MoveError } from '../inventory/inventory.js';
import type { ElementRef } from '../inventory/elements.js';
import type { MediumChanger } from './changer.js';
import { SMC_SENSE } from './sense-codes.js';

type SmcContext = CommandContext<MediumChanger>;

/** CDB byte offsets of the element address fields. */
const FIELD = { transport: 2, source: 4, destination: 6, 'second-destination': 8 } as const;

function checkTransport(changer: MediumChanger, address: number): void {
  if (address !== 0 && address !== changer.inventory.layout.addresses.transport)
    throw new SenseError(SMC_SENSE.INVALID_ELEMENT_ADDRESS, { fieldPointer: FIELD.transport });
}

function element(changer: MediumChanger, address: number, fieldPointer: number): ElementRef {
  const ref = changer.inventory.layout.at(address);
  if (!ref) throw new SenseError(SMC_SENSE.INVALID_ELEMENT_ADDRESS, { fieldPointer });
  return ref;
}

/** A refused move as the sense an initiator expects. */
export function moveSense(err: unknown): unknown {
  if (!(err instanceof MoveError)) return err;
  switch (err.reason) {
    case 'invalid-element':
      return new SenseError(SMC_SENSE.INVALID_ELEMENT_ADDRESS, { fieldPointer: FIELD[err.field] });
    case 'source-empty':
      return new SenseError(SMC_SENSE.MEDIUM_SOURCE_ELEMENT_EMPTY);
    case 'destination-full':
      return new SenseError(SMC_SENSE.MEDIUM_DESTINATION_ELEMENT_FULL);
    case 'removal-prevented':
      return new SenseError(SENSE.MEDIUM_REMOVAL_PREVENTED);
    case 'load-failed':
      return new SenseError(SMC_SENSE.MEDIA_LOAD_OR_EJECT_FAILED);
  }
}

export async function moveMedium(ctx: SmcContext): Promise<void> {
  const changer = ctx.device;
  const r = new ByteReader(ctx.cdb, 2);
  checkTransport(changer, r.u16());
  const from = element(changer, r.u16(), FIELD.source);
  const to = element(changer, r.u16(), FIELD.destination);
  try {
    await changer.inventory.move(from, to, 'changer');
  } catch (err) {
    throw moveSense(err);
  }
}

export async function exchangeMedium(ctx: SmcContext): Promise<void> {
  const changer = ctx.device;
  const r = new ByteReader(ctx.cdb, 2);
  checkTransport(changer, r.u16());
  const source = element(changer, r.u16(), FIELD.source);
  const first = element(changer, r.u16(), FIELD.destination);
  const second = element(changer, r.u16(), FIELD['second-destination']);
  try {
    await changer.inventory.exchange(source, first, second);
  } catch (err) {
    throw moveSense(err);
  }
}

/** POSITION TO ELEMENT: nothing moves in a virtual library, but the addresses are checked. */
export function positionToElement(ctx: SmcContext): void {
  const changer = ctx.device;
  const r = new ByteReader(ctx.cdb, 2);
  checkTransport(changer, r.u16());
  element(changer, r.u16(), FIELD.source);
}
