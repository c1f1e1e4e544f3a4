/**
 * `vtl cartridge create|list|delete|protect|unprotect`: the operator's cartridge actions (issue 3
 * 'Operator actions'; the write-protect tab of issue 5).
 */
import type { CartridgeListView, DeletedView, WriteProtectView } from '../api/types.js';
import { note } from './status.js';
import {
  CONNECTION_HELP,
  clientFor,
  parseCommand,
  printJson,
  processIo,
  runCommand,
  table,
  UsageError,
  type CommandIo,
} from './common.js';

export const CARTRIDGE_USAGE = `usage:
  vtl cartridge create BARCODE|RANGE... [--vault]
        Create blank cartridges in free storage slots (or outside the library with --vault),
        e.g. \`vtl cartridge create E01021L8..E01030L8 CLN002L1\`. All or none.
  vtl cartridge list
        Every cartridge and where it is (slot, drive, mailslot or vault).
  vtl cartridge delete BARCODE
        Delete a cartridge in a slot or the vault, with its data.
  vtl cartridge protect BARCODE | vtl cartridge unprotect BARCODE
        Slide the cartridge's write-protect tab on or off (refused while it is in a drive).
        A protected cartridge loads with the WP bit set and refuses writes (DATA PROTECT 27/00).

${CONNECTION_HELP}`;

export async function cartridgeCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  let json = false;
  return runCommand(
    io,
    CARTRIDGE_USAGE,
    () => json,
    async () => {
      const [sub, ...rest] = args;
      const { values, positionals } = parseCommand(rest, { vault: { type: 'boolean' } });
      json = values.json === true;
      if (values.help || sub === '-h' || sub === '--help') return io.out(CARTRIDGE_USAGE);
      if (values.vault && sub !== 'create')
        throw new UsageError('--vault only goes with `vtl cartridge create`');
      const client = clientFor(values);
      switch (sub) {
        case 'create': {
          if (positionals.length === 0) throw new UsageError('name at least one barcode or range');
          const res = await client.post<CartridgeListView>('/cartridges', {
            barcodes: positionals,
            to: values.vault ? 'vault' : 'slots',
          });
          if (json) return printJson(io, res);
          io.out(`created ${res.cartridges.length} cartridge${res.cartridges.length === 1 ? '' : 's'}\n`);
          return io.out(listTable(res));
        }
        case 'list': {
          if (positionals.length > 0) throw new UsageError('vtl cartridge list takes no arguments');
          const res = await client.get<CartridgeListView>('/cartridges');
          if (json) return printJson(io, res);
          return io.out(res.cartridges.length ? listTable(res) : 'no cartridges\n');
        }
        case 'delete': {
          if (positionals.length !== 1) throw new UsageError('vtl cartridge delete takes one barcode');
          const res = await client.delete<DeletedView>(`/cartridges/${encodeURIComponent(positionals[0])}`);
          if (json) return printJson(io, res);
          return io.out(`deleted ${res.deleted.barcode} (was in ${res.deleted.from.name})\n`);
        }
        case 'protect':
        case 'unprotect': {
          if (positionals.length !== 1) throw new UsageError(`vtl cartridge ${sub} takes one barcode`);
          const res = await client.post<WriteProtectView>(
            `/cartridges/${encodeURIComponent(positionals[0])}/write-protect`,
            { on: sub === 'protect' },
          );
          if (json) return printJson(io, res);
          const c = res.cartridge;
          return io.out(`${c.barcode} is ${c.writeProtected ? 'write-protected' : 'writable'}\n`);
        }
        default:
          throw new UsageError(
            sub === undefined
              ? 'vtl cartridge needs create, list, delete, protect or unprotect'
              : `unknown subcommand ${JSON.stringify(sub)}`,
          );
      }
    },
  );
}

function listTable(res: CartridgeListView): string {
  return table(
    ['barcode', 'media', 'location', 'address', 'note'],
    res.cartridges.map((c) => [
      c.barcode,
      c.mediaType,
      c.location.name,
      c.location.type === 'vault'
        ? ''
        : `0x${c.location.address.toString(16).toUpperCase().padStart(4, '0')}`,
      note(c),
    ]),
  );
}
