#!/usr/bin/env node
/**
 * The `vtl` command. `vtl serve` runs a library server from a JSON config (or the embedded
 * defaults); `status`, `cartridge`, `drive`, `mailslot`, `export`, `import` and `jobs` talk to a
 * running server's management API.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { VtlError } from '../util/errors.js';
import { serve } from './serve.js';
import { cartridgeCommand } from './commands/cartridge.js';
import { CONNECTION_HELP } from './commands/common.js';
import { driveCommand } from './commands/drive.js';
import { mailslotCommand } from './commands/mailslot.js';
import { exportCommand, importCommand, jobsCommand } from './commands/migrate.js';
import { librariesCommand, statusCommand } from './commands/status.js';

const USAGE = `usage: vtl <command> [options]

commands:
  serve [--config FILE] [--data-dir DIR] [--portal HOST:PORT]... [--transport native|net]
        [--log-level debug|info|warn|error] [--api-listen HOST:PORT]
        Run the virtual tape library as an iSCSI target. Without --config it uses the
        embedded defaults: data in ./vtl-data, iSCSI on 127.0.0.1:3260, target
        iqn.2026-11.org.iscsi-vtl:vtl with an IBM 03584 changer at LUN 0 (24 slots holding
        E01001L8..E01020L8 and CLN001L1, 4 mailslots) and two empty LTO-8 drives at LUNs 1
        and 2. A config with "libraries": [...] runs several, each its own target. The management
        API listens on 127.0.0.1:3270 (config "management": {host, port, token}; a token is
        required off loopback); --api-listen overrides host and port.
  status
        The library, its drives and (with a changer) every element and its cartridge.
  libraries
        The libraries this server runs (name, target, drives, changer).
  cartridge create BARCODE|RANGE... [--vault] | cartridge list | cartridge delete BARCODE
        Create cartridges in free slots (or the vault), list them, delete one.
  cartridge protect BARCODE | cartridge unprotect BARCODE
        Slide a cartridge's write-protect tab on or off (not while it is in a drive).
  drive tapealert LUN FLAG
        Fault injection: raise TapeAlert flag 1..64 on a drive (log page 2Eh shows it once).
  mailslot insert BARCODE [--slot N] | mailslot remove BARCODE|--slot N
        Put a cartridge from the vault into a mailslot, or take one out to the vault.
  export BARCODE [--wait]
        Export a cartridge to the library's cloud remote (config "migration"). An initiator
        moving a cartridge into a mailslot does the same: it goes to the vault and is exported.
  import JOB|BARCODE [--mailslot] [--replace] [--wait]
        Import an export back into the vault (or a free mailslot). --wait shows a progress bar.
  jobs [-L] [ID] | jobs cancel ID | jobs clear
        Migration jobs (short, or long with -L); cancel one; clear the finished ones.

${CONNECTION_HELP}
options:
  -h, --help      this text
  -v, --version   the package version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (command === 'serve') {
    const { values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string', short: 'c' },
        'data-dir': { type: 'string' },
        portal: { type: 'string', multiple: true },
        transport: { type: 'string' },
        'log-level': { type: 'string' },
        'api-listen': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    return serve({
      configFile: values.config,
      dataDir: values['data-dir'],
      portals: values.portal,
      transport: values.transport,
      logLevel: values['log-level'],
      apiListen: values['api-listen'],
    });
  }
  if (command === 'status') return statusCommand(rest);
  if (command === 'libraries') return librariesCommand(rest);
  if (command === 'cartridge') return cartridgeCommand(rest);
  if (command === 'mailslot') return mailslotCommand(rest);
  if (command === 'drive') return driveCommand(rest);
  if (command === 'export') return exportCommand(rest);
  if (command === 'import') return importCommand(rest);
  if (command === 'jobs') return jobsCommand(rest);
  process.stderr.write(`vtl: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof VtlError || (err instanceof Error && err.name === 'TypeError' && 'code' in err)) {
      process.stderr.write(`vtl: ${err.message}\n`);
    } else {
      process.stderr.write(`vtl: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exitCode = 1;
  },
);
