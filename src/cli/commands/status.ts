/** `vtl status`: the library, its drives (cartridge and head position) and every element. */
import type { CartridgeView, DriveView, LibraryListView, StatusView } from '../api/types.js';
import {
  CONNECTION_HELP,
  clientFor,
  hex4,
  parseCommand,
  printJson,
  processIo,
  runCommand,
  table,
  UsageError,
  type CommandIo,
} from './common.js';

export const STATUS_USAGE = `usage: vtl status [--json] [--api URL] [--token TOKEN]

Shows the library's target and portals, each drive with the cartridge in it and the head
position, and (with a changer) every element with its cartridge.

${CONNECTION_HELP}`;

export const LIBRARIES_USAGE = `usage: vtl libraries [--json] [--api URL] [--token TOKEN]

Lists the libraries the server runs, each its own iSCSI target; --library NAME (or
VTL_LIBRARY) picks one for the other commands.

${CONNECTION_HELP}`;

export async function librariesCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  let json = false;
  return runCommand(
    io,
    LIBRARIES_USAGE,
    () => json,
    async () => {
      const { values, positionals } = parseCommand(args, {});
      json = values.json === true;
      if (values.help) return io.out(LIBRARIES_USAGE);
      if (positionals.length > 0)
        throw new UsageError(`vtl libraries takes no arguments (got ${positionals.join(' ')})`);
      const list = await clientFor(values).get<LibraryListView>('/libraries');
      if (json) return printJson(io, list);
      io.out(`portals  ${list.portals.join(', ')}\n\n`);
      io.out(
        table(
          ['library', 'target', 'drives', 'changer', 'cartridges'],
          list.libraries.map((l) => [l.name, l.targetName, l.drives, l.changer ? 'yes' : 'no', l.cartridges]),
        ),
      );
    },
  );
}

export async function statusCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  let json = false;
  return runCommand(
    io,
    STATUS_USAGE,
    () => json,
    async () => {
      const { values, positionals } = parseCommand(args, {});
      json = values.json === true;
      if (values.help) return io.out(STATUS_USAGE);
      if (positionals.length > 0)
        throw new UsageError(`vtl status takes no arguments (got ${positionals.join(' ')})`);
      const status = await clientFor(values).get<StatusView>('/status');
      if (json) printJson(io, status);
      else io.out(formatStatus(status));
    },
  );
}

export function formatStatus(s: StatusView): string {
  const lines = [
    `library  ${s.library.name}`,
    `target   ${s.library.targetName}`,
    `portals  ${s.library.portals.join(', ')}`,
  ];
  const c = s.library.changer;
  lines.push(
    c
      ? `changer  LUN 0, ${c.model}, serial ${c.serial}, ${c.slots} slots, ${c.mailslots} mailslots` +
          (c.mailslotsLocked ? ' (mailslots locked)' : '')
      : 'changer  none',
  );
  let out = lines.join('\n') + '\n\n';
  out += table(
    ['lun', 'serial', 'drive', 'state', 'cartridge', 'position'],
    s.drives.map((d) => [d.lun, d.serial, `${d.vendor} ${d.product}`, d.state, d.cartridge, position(d)]),
  );
  if (s.elements) {
    out += '\n';
    out += table(
      ['element', 'address', 'cartridge', 'note'],
      s.elements
        .filter((e) => e.type !== 'transport')
        .map((e) => [e.name, hex4(e.address), e.cartridge?.barcode, e.cartridge ? note(e.cartridge) : '']),
    );
  }
  return out;
}

function position(d: DriveView): string {
  const p = d.position;
  if (!p) return '';
  const at = p.bop ? 'BOP' : p.eod ? 'EOD' : '';
  return `file ${p.fileNumber}, object ${p.objectNumber}${at ? ` (${at})` : ''}`;
}

/** Where a cartridge in a drive came from, a cleaning cartridge's uses, an imported one. */
export function note(c: CartridgeView): string {
  const parts: string[] = [];
  if (c.home && c.location.type === 'drive') parts.push(`from ${c.home.name}`);
  if (c.cleaningUsesLeft !== undefined) parts.push(`${c.cleaningUsesLeft} cleanings left`);
  if (c.imported) parts.push('imported');
  return parts.join(', ');
}
