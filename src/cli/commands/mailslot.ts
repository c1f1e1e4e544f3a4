/**
 * `vtl mailslot insert|remove`: the operator at the library's door. Mailslots are numbered from 1,
 * as `mtx status` shows them.
 */
import type { CartridgeResultView } from '../api/types.js';
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

export const MAILSLOT_USAGE = `usage:
  vtl mailslot insert BARCODE [--slot N]
        Put a cartridge from the vault into a mailslot (the first free one, or mailslot N).
  vtl mailslot remove BARCODE | --slot N
        Take a cartridge out of its mailslot into the vault.

${CONNECTION_HELP}`;

export async function mailslotCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  let json = false;
  return runCommand(
    io,
    MAILSLOT_USAGE,
    () => json,
    async () => {
      const [sub, ...rest] = args;
      const { values, positionals } = parseCommand(rest, { slot: { type: 'string' } });
      json = values.json === true;
      if (values.help || sub === '-h' || sub === '--help') return io.out(MAILSLOT_USAGE);
      const slot = values.slot === undefined ? undefined : slotNumber(values.slot);
      let res: CartridgeResultView;
      switch (sub) {
        case 'insert': {
          if (positionals.length !== 1) throw new UsageError('vtl mailslot insert takes one barcode');
          res = await clientFor(values).post<CartridgeResultView>('/mailslots/insert', {
            barcode: positionals[0],
            ...(slot !== undefined ? { mailslot: slot } : {}),
          });
          break;
        }
        case 'remove': {
          if (positionals.length + (slot === undefined ? 0 : 1) !== 1)
            throw new UsageError('vtl mailslot remove takes one barcode or --slot N');
          res = await clientFor(values).post<CartridgeResultView>(
            '/mailslots/remove',
            slot !== undefined ? { mailslot: slot } : { barcode: positionals[0] },
          );
          break;
        }
        default:
          throw new UsageError(
            sub === undefined
              ? 'vtl mailslot needs insert or remove'
              : `unknown subcommand ${JSON.stringify(sub)}`,
          );
      }
      if (json) return printJson(io, res);
      const c = res.cartridge;
      io.out(
        sub === 'insert'
          ? `${c.barcode} is in ${c.location.name}\n`
          : `${c.barcode} taken out to the vault\n`,
      );
    },
  );
}

function slotNumber(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`--slot ${JSON.stringify(text)}: mailslots are numbered from 1`);
  return Number(text);
}
