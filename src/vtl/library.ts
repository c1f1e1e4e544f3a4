/**
 * VirtualLibrary: the embeddable whole — one or several tape libraries (src/vtl/tape-library.ts),
 * each served as its own iSCSI target on the same portals. `npm start`, `vtl serve` and tests
 * all start one of these.
 *
 * In each library LUN 0 is the medium changer when one is configured (slots, mailslots, an
 * inventory of barcoded cartridges); drives are LUNs 1..N.
 */
import { IscsiTarget, type TargetConfig } from '../target/iscsi-target.js';
import { createTransport } from '../target/transport/index.js';
import type { Portal } from '../target/transport/types.js';
import { VtlError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { parseLibraryConfig, type LibraryConfig, type LibraryConfigInput } from './config.js';
import type { ImageBackend } from './image/types.js';
import type { Inventory } from './inventory/inventory.js';
import { TapeLibrary, type LibraryDrive } from './tape-library.js';

export { TapeLibrary, defaultDriveSerial } from './tape-library.js';
export type { LibraryDrive, ChangerInfo } from './tape-library.js';
export { LibraryMigration } from './library-migration.js';

export interface StartOptions {
  logger?: Logger;
  /**
   * An image backend to use instead of the one the config names. Only for a single library:
   * libraries never share cartridges.
   */
  backend?: ImageBackend;
  /** Extra environment for rclone in every library's migration (`RCLONE_CONFIG_<NAME>_<KEY>`). */
  rcloneEnv?: Readonly<Record<string, string>>;
}

/** Parses "host:port" and "[v6]:port". */
export function parsePortal(text: string): Portal {
  const i = text.lastIndexOf(':');
  const host = text.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || !host || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new VtlError('ERR_CONFIG', `portal ${JSON.stringify(text)} is not HOST:PORT`);
  }
  return { host, port };
}

export class VirtualLibrary {
  private stopped = false;

  private constructor(
    readonly config: LibraryConfig,
    /** Every library this server runs, in config order; each is its own iSCSI target. */
    readonly libraries: readonly TapeLibrary[],
    private readonly target: IscsiTarget,
    private readonly logger: Logger,
  ) {}

  /** Validates the config, opens every library (cartridges, inventory) and starts serving. */
  static async start(
    input: LibraryConfigInput | LibraryConfig = {},
    options: StartOptions = {},
  ): Promise<VirtualLibrary> {
    const config = parseLibraryConfig(input);
    const logger = (options.logger ?? silentLogger).child({ component: 'library' });
    if (options.backend && config.libraries.length > 1) {
      throw new VtlError('ERR_CONFIG', 'StartOptions.backend serves one library; this config has several');
    }
    const portals = config.portals.map(parsePortal);
    const libraries: TapeLibrary[] = [];
    const closeAll = () => Promise.allSettled(libraries.map((l) => l.close()));
    try {
      for (const spec of config.libraries) {
        libraries.push(
          await TapeLibrary.open(spec, config, {
            ...(options.logger ? { logger: options.logger } : {}),
            ...(options.backend ? { backend: options.backend } : {}),
            ...(options.rcloneEnv ? { migration: { rcloneEnv: options.rcloneEnv } } : {}),
          }),
        );
      }
    } catch (err) {
      await closeAll();
      throw err;
    }

    const target = new IscsiTarget({
      targets: libraries.map((lib) => targetConfig(lib)),
      transport: createTransport(config.transport),
      portals,
      maxRecvDataSegmentLength: config.iscsi.maxRecvDataSegmentLength,
      maxBurstLength: config.iscsi.maxBurstLength,
      firstBurstLength: config.iscsi.firstBurstLength,
      maxOutstandingR2T: config.iscsi.maxOutstandingR2T,
      initialR2T: config.iscsi.initialR2T,
      immediateData: config.iscsi.immediateData,
      commandWindow: config.iscsi.commandWindow,
      maxConnections: config.iscsi.maxConnections,
      nopInterval: Math.round(config.iscsi.nopInterval * 1000),
      nopTimeout: Math.round(config.iscsi.nopTimeout * 1000),
      logger: options.logger ?? silentLogger,
    });
    try {
      await target.start();
    } catch (err) {
      await closeAll();
      throw err;
    }
    return new VirtualLibrary(config, libraries, target, logger);
  }

  /** The library named `name`, or the only/first one when no name is given. */
  library(name?: string): TapeLibrary {
    if (name === undefined) return this.libraries[0];
    const lib = this.libraries.find((l) => l.name === name);
    if (!lib) {
      throw new VtlError(
        'ERR_NOT_FOUND',
        `no library named "${name}"; this server runs ${this.libraries.map((l) => `"${l.name}"`).join(', ')}`,
      );
    }
    return lib;
  }

  /** The first library's target name (the only one in the single-library form). */
  get targetName(): string {
    return this.libraries[0].targetName;
  }

  /** The first library's drives. */
  get drives(): readonly LibraryDrive[] {
    return this.libraries[0].drives;
  }

  /** The first library's inventory, when it has a changer. */
  get inventory(): Inventory | null {
    return this.libraries[0].inventory;
  }

  /** The first library's image backend. */
  get backend(): ImageBackend {
    return this.libraries[0].backend;
  }

  /** Bound portals (the real port when 0 was configured). */
  get portals(): Portal[] {
    return this.target.portals;
  }

  /** Stops serving, then syncs and closes every library. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.target.stop();
    await Promise.allSettled(this.libraries.map((l) => l.close()));
    this.logger.info('library stopped');
  }
}

function targetConfig(lib: TapeLibrary): TargetConfig {
  const { auth, alias } = lib.spec;
  return {
    name: lib.targetName,
    ...(alias !== undefined ? { alias } : {}),
    luns: lib.luns(),
    ...(auth.chap ? { chap: { ...auth.chap, ...(auth.mutualChap ? { mutual: auth.mutualChap } : {}) } } : {}),
    ...(auth.allowedInitiators ? { allowedInitiators: auth.allowedInitiators } : {}),
  };
}
