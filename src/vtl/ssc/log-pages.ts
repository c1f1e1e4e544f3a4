/**
 * Log pages of the first cut (SSC-4 log parameters): Sequential-Access Device (0Ch) with the host-side
 * byte counters, and TapeAlert (2Eh) with its 64 flags. The full set PBS and LTFS read (11h,
 * 12h, 17h, 30h, 31h) is a later issue.
 */
import type { LogPageSpec, LogParameter } from '../../target/scsi/types.js';
import type { TapeDrive } from './drive.js';

/** Page control 01b: cumulative values; threshold and default pages hold zeros. */
const CUMULATIVE = 1;

function counter(code: number, value: number): LogParameter {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return { code, value: b };
}

/**
 * Sequential-Access Device log page (SSC-4): 0000h bytes received from the host on writes,
 * 0001h bytes written to the medium (no compression is modelled, so the same), 0002h bytes
 * read from the medium, 0003h bytes sent to the host.
 */
export const sequentialAccessPage: LogPageSpec<TapeDrive> = {
  name: 'Sequential-Access Device',
  page: 0x0c,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    const c = pc === CUMULATIVE ? drive.counters : { bytesWritten: 0, bytesRead: 0 };
    return [
      counter(0x0000, c.bytesWritten),
      counter(0x0001, c.bytesWritten),
      counter(0x0002, c.bytesRead),
      counter(0x0003, c.bytesRead),
    ];
  },
  reset(drive: TapeDrive): void {
    drive.counters.bytesWritten = 0;
    drive.counters.bytesRead = 0;
  },
};

/** TapeAlert parameters are one-byte flags in binary list format (FORMAT AND LINKING 11b). */
const TAPE_ALERT_CONTROL = 0x03;
const TAPE_ALERT_FLAGS = 64;

/**
 * TapeAlert page (SSC-4 / TapeAlert specification): parameters 0001h-0040h, flag N set when
 * condition N occurred since the page was last read; reading the page (page control 00b or
 * 01b) clears them, which is why PBS prefers page 12h (a later issue). Live today: flag 09h,
 * write protect.
 */
export const tapeAlertPage: LogPageSpec<TapeDrive> = {
  name: 'TapeAlert',
  page: 0x2e,
  subpage: 0,
  parameters(drive: TapeDrive, pc: number): LogParameter[] {
    // Current flags for page control 00b and 01b: tapeinfo reads the page with PC=00b.
    const live = pc === 0 || pc === CUMULATIVE;
    const out: LogParameter[] = [];
    for (let flag = 1; flag <= TAPE_ALERT_FLAGS; flag++) {
      out.push({
        code: flag,
        control: TAPE_ALERT_CONTROL,
        value: Buffer.of(live && drive.tapeAlerts.has(flag) ? 1 : 0),
      });
    }
    if (live) drive.tapeAlerts.clear();
    return out;
  },
  reset(drive: TapeDrive): void {
    drive.tapeAlerts.clear();
  },
};

export const TAPE_LOG_PAGES: readonly LogPageSpec<TapeDrive>[] = [sequentialAccessPage, tapeAlertPage];
