/**
 * Changer log pages: TapeAlert (2Eh) with the library flags (TapeAlert specification, changer
 * flags 1-64), read by NetBackup for the robot (clients.md 1b). Reading the page with page
 * control 00b or 01b returns and clears the flags raised since the last read.
 */
import type { LogPageSpec, LogParameter } from '../../target/scsi/types.js';
import type { MediumChanger } from './changer.js';

/** TapeAlert parameters are one-byte flags in binary list format (FORMAT AND LINKING 11b). */
const TAPE_ALERT_CONTROL = 0x03;
const TAPE_ALERT_FLAGS = 64;

export const changerTapeAlertPage: LogPageSpec<MediumChanger> = {
  name: 'TapeAlert',
  page: 0x2e,
  subpage: 0,
  parameters(changer: MediumChanger, pc: number): LogParameter[] {
    const live = pc === 0 || pc === 1;
    const out: LogParameter[] = [];
    for (let flag = 1; flag <= TAPE_ALERT_FLAGS; flag++) {
      out.push({
        code: flag,
        control: TAPE_ALERT_CONTROL,
        value: Buffer.of(live && changer.tapeAlerts.has(flag) ? 1 : 0),
      });
    }
    if (live) changer.tapeAlerts.clear();
    return out;
  },
  reset(changer: MediumChanger): void {
    changer.tapeAlerts.clear();
  },
};

export const CHANGER_LOG_PAGES: readonly LogPageSpec<MediumChanger>[] = [changerTapeAlertPage];
