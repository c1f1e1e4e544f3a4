/**
 * IBM vendor mode pages 24h and 25h (IBM LTO SCSI Reference: "Vendor-Specific Control" and
 * "Behavior Configuration"). IBM's Windows tape driver reads them when it binds to a drive and
 * will not load without them (mhvtl added 25h for exactly that, clients.md 2). Nothing in them
 * is changeable here: MODE SELECT may echo them back unchanged, any change is refused by the
 * framework against the all-zero changeable mask.
 */
import { ByteWriter } from '../../util/bytes.js';
import type { ModePageSpec, PageControl } from '../../target/scsi/types.js';
import type { TapeDrive } from './drive.js';

const VENDOR_CONTROL_LENGTH = 8;
const BEHAVIOR_CONFIGURATION_LENGTH = 12;

function page(code: number, length: number, pc: PageControl, body: (w: ByteWriter) => void): Buffer {
  const w = new ByteWriter(length);
  w.u8(code).u8(length - 2);
  if (pc !== 'changeable') body(w);
  return w.buf;
}

/** 24h: page length 06h; no vendor control enabled (encryption is set through SPOUT, not here). */
export const ibmVendorControlPage: ModePageSpec<TapeDrive> = {
  name: 'IBM Vendor-Specific Control',
  page: 0x24,
  subpage: 0,
  length: VENDOR_CONTROL_LENGTH,
  encode: (_drive, pc) => page(0x24, VENDOR_CONTROL_LENGTH, pc, () => undefined),
  select(): void {
    // Nothing is changeable (see above).
  },
};

/** 25h: page length 0Ah; default behaviours (fence behaviour, clean behaviour, WORM behaviour 0). */
export const ibmBehaviorConfigurationPage: ModePageSpec<TapeDrive> = {
  name: 'IBM Behavior Configuration',
  page: 0x25,
  subpage: 0,
  length: BEHAVIOR_CONFIGURATION_LENGTH,
  encode: (_drive, pc) => page(0x25, BEHAVIOR_CONFIGURATION_LENGTH, pc, () => undefined),
  select(): void {
    // Nothing is changeable (see above).
  },
};

export const IBM_MODE_PAGES: readonly ModePageSpec<TapeDrive>[] = [
  ibmVendorControlPage,
  ibmBehaviorConfigurationPage,
];
