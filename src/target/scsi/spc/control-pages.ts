/**
 * Mode pages the SPC core owns for every device type: Control (0Ah, SPC-4 7.5.8) and
 * Informational Exceptions Control (1Ch, SPC-4 7.5.13). A device profile may override either by
 * defining the same page and subpage.
 */
import { ByteWriter } from '../../../util/bytes.js';
import type { ModePageSpec, PageControl } from '../types.js';

/** Current control mode page values of one logical unit (nothing is saved: SAM-5 5.12 resets them). */
export class ControlState {
  /** D_SENSE: sense data in descriptor format. Default 0: PBS and st want fixed format. */
  dSense = false;

  reset(): void {
    this.dSense = false;
  }
}

const CONTROL_PAGE_LENGTH = 12;
const D_SENSE = 0x04;
/** GLTSD: log parameters are never saved implicitly (there is no saving). */
const GLTSD = 0x02;

/**
 * Control mode page. Only D_SENSE is changeable: TST is 000b (one task set), QUEUE ALGORITHM
 * MODIFIER 0 (restricted reordering: tasks run in order), QERR 00b, UA_INTLCK_CTRL 00b (a unit
 * attention is cleared when reported), SWP 0, TAS 0, BUSY TIMEOUT PERIOD 0 (undefined).
 */
export const controlModePage: ModePageSpec<ControlState> = {
  name: 'Control',
  page: 0x0a,
  subpage: 0x00,
  length: CONTROL_PAGE_LENGTH,
  encode(state: ControlState, pc: PageControl): Buffer {
    const w = new ByteWriter(CONTROL_PAGE_LENGTH);
    w.u8(0x0a).u8(CONTROL_PAGE_LENGTH - 2);
    if (pc === 'changeable') {
      w.u8(D_SENSE);
    } else {
      const dSense = pc === 'current' && state.dSense;
      w.u8(GLTSD | (dSense ? D_SENSE : 0));
    }
    return w.buf;
  },
  select(state: ControlState, page: Buffer): void {
    state.dSense = (page[2] & D_SENSE) !== 0;
  },
};

const IE_PAGE_LENGTH = 12;

/**
 * Informational exceptions control page, read-only: TapeAlert and the device's log pages carry
 * the exceptions; MRIE 0 says none is reported through sense data, DEXCPT 0 that the log pages
 * are kept (SPC-4 7.5.13).
 */
export const informationalExceptionsPage: ModePageSpec<ControlState> = {
  name: 'Informational Exceptions Control',
  page: 0x1c,
  subpage: 0x00,
  length: IE_PAGE_LENGTH,
  encode(): Buffer {
    const w = new ByteWriter(IE_PAGE_LENGTH);
    w.u8(0x1c).u8(IE_PAGE_LENGTH - 2);
    return w.buf;
  },
  select(): void {
    // Nothing is changeable: the framework has already refused any change against the mask.
  },
};

export const SPC_MODE_PAGES: readonly ModePageSpec<ControlState>[] = [
  controlModePage,
  informationalExceptionsPage,
];
