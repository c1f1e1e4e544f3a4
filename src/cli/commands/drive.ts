/** `vtl drive tapealert`: fault injection on a tape drive (issue 5 'TapeAlert ... by fault injection'). */
import type { TapeAlertView } from '../api/types.js';
import {
  CONNECTION_HELP,
  clientFor,
  parseCommand,
  printJson,
  processIo,
  runCommand,
  UsageError,
  type CommandIo,
} from './common.js';

export const DRIVE_USAGE = `usage:
  vtl drive tapealert LUN FLAG
        Raise TapeAlert flag FLAG (1..64, decimal or 0x hex: 20 and 0x14 are CLEAN NOW) on the
        drive at LUN. The drive's TapeAlert log page (2Eh) shows it once; reading clears it.

${CONNECTION_HELP}`;

/** A decimal or 0x-hex number as the operator typed it; NaN otherwise. */
function number(text: string): number {
  return /^(0x[0-9a-f]+|\d+)$/i.test(text) ? Number(text) : NaN;
}

export async function driveCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  let json = false;
  return runCommand(
    io,
    DRIVE_USAGE,
    () => json,
    async () => {
      const [sub, ...rest] = args;
      const { values, positionals } = parseCommand(rest, {});
      json = values.json === true;
      if (values.help || sub === '-h' || sub === '--help') return io.out(DRIVE_USAGE);
      if (sub !== 'tapealert') {
        throw new UsageError(
          sub === undefined ? 'vtl drive needs tapealert' : `unknown subcommand ${JSON.stringify(sub)}`,
        );
      }
      if (positionals.length !== 2) throw new UsageError('vtl drive tapealert takes a LUN and a flag');
      const [lun, flagText] = positionals;
      if (!/^\d+$/.test(lun)) throw new UsageError(`LUN ${JSON.stringify(lun)}: drives are LUNs 1, 2, ...`);
      const flag = number(flagText);
      if (Number.isNaN(flag))
        throw new UsageError(`flag ${JSON.stringify(flagText)} is not a number (1..64)`);
      const res = await clientFor(values).post<TapeAlertView>(`/drives/${lun}/tapealert`, { flag });
      if (json) return printJson(io, res);
      const hex = (f: number): string => `0x${f.toString(16).padStart(2, '0')}`;
      io.out(
        `raised TapeAlert flag ${res.flag} (${hex(res.flag)}) on drive LUN ${res.drive.lun} ` +
          `(serial ${res.drive.serial}); flags set now: ${res.flags.join(', ')}\n`,
      );
    },
  );
}
