/**
 * VirtualLibrary: the embeddable whole — tape drives over an image backend, served as LUNs of
 * one iSCSI target. `npm start`, `vtl serve` and tests all start one of these.
 *
 * LUN 0 is reserved for the medium changer (a later issue); drives are LUNs 1..N.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { IscsiTarget } from '../target/iscsi-target.js';
import type { LogicalUnit } from '../target/scsi/types.js';
import { createTransport } from '../target/transport/index.js';
import type { Portal } from '../target/transport/types.js';
import { VtlError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { mediaTypeFromBarcode } from './barcode.js';
import { parseLibraryConfig, type LibraryConfig, type LibraryConfigInput } from './config.js';
import { createCartridge, openTapeImage } from './image/cartridge.js';
import { createFileBackend } from './image/file-backend.js';
import { createMemoryBackend } from './image/memory-backend.js';
import type { ImageBackend } from './image/types.js';
import { createTapeDrive } from './ssc/index.js';
import type { TapeDrive } from './ssc/drive.js';

export interface LibraryDrive {
  readonly lun: number;
  readonly serial: string;
  readonly drive: TapeDrive;
  readonly lu: LogicalUnit;
}

export interface StartOptions {
  logger?: Logger;
  /** An image backend to use instead of the one the config names (e.g. shared between libraries). */
  backend?: ImageBackend;
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

/** A stable 10-character serial per target and LUN, so restarts keep device identities. */
export function defaultDriveSerial(targetName: string, lun: number): string {
  const h = createHash('sha256').update(`${targetName}\0drive\0${lun}`).digest();
  return (
    'V' +
    BigInt('0x' + h.subarray(0, 8).toString('hex'))
      .toString(36)
      .toUpperCase()
      .padStart(9, '0')
      .slice(0, 9)
  );
}

export class VirtualLibrary {
  private stopped = false;

  private constructor(
    readonly config: LibraryConfig,
    readonly backend: ImageBackend,
    readonly drives: readonly LibraryDrive[],
    private readonly target: IscsiTarget,
    private readonly logger: Logger,
  ) {}

  /** Validates the config, opens or creates the cartridges drives load, and starts serving. */
  static async start(
    input: LibraryConfigInput | LibraryConfig = {},
    options: StartOptions = {},
  ): Promise<VirtualLibrary> {
    const config = parseLibraryConfig(input);
    const logger = (options.logger ?? silentLogger).child({ component: 'library' });
    const backend =
      options.backend ??
      (config.backend === 'memory' ? createMemoryBackend() : createFileBackend(resolve(config.dataDir)));
    const portals = config.portals.map(parsePortal);

    const drives: LibraryDrive[] = [];
    try {
      for (const [index, dc] of config.drives.entries()) {
        const lun = index + 1;
        const serial = dc.serial ?? defaultDriveSerial(config.targetName, lun);
        const { drive, lu } = createTapeDrive({
          model: dc.model,
          serial,
          logger: options.logger ?? silentLogger,
        });
        drives.push({ lun, serial, drive, lu });
        if (dc.load) {
          if (!(await backend.exists(dc.load))) {
            await createCartridge(backend, {
              label: dc.load,
              mediaType: mediaTypeFromBarcode(dc.load),
              chunkSize: config.chunkSize,
            });
            logger.info('cartridge created', { barcode: dc.load });
          }
          await drive.load(await openTapeImage(backend, dc.load));
          logger.info('cartridge loaded', { barcode: dc.load, lun });
        }
      }
    } catch (err) {
      await Promise.allSettled(drives.map((d) => d.lu.close()));
      throw err;
    }

    const target = new IscsiTarget({
      targets: [
        {
          name: config.targetName,
          ...(config.alias !== undefined ? { alias: config.alias } : {}),
          luns: new Map(drives.map((d) => [d.lun, d.lu])),
          ...(config.auth.chap
            ? {
                chap: {
                  ...config.auth.chap,
                  ...(config.auth.mutualChap ? { mutual: config.auth.mutualChap } : {}),
                },
              }
            : {}),
          ...(config.auth.allowedInitiators ? { allowedInitiators: config.auth.allowedInitiators } : {}),
        },
      ],
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
      await Promise.allSettled(drives.map((d) => d.lu.close()));
      throw err;
    }
    return new VirtualLibrary(config, backend, drives, target, logger);
  }

  get targetName(): string {
    return this.config.targetName;
  }

  /** Bound portals (the real port when 0 was configured). */
  get portals(): Portal[] {
    return this.target.portals;
  }

  /** Stops serving, then syncs and closes every drive. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.target.stop();
    const results = await Promise.allSettled(this.drives.map((d) => d.lu.close()));
    for (const [i, r] of results.entries()) {
      if (r.status === 'rejected')
        this.logger.error('drive close failed', { lun: this.drives[i].lun, err: r.reason });
    }
    this.logger.info('library stopped');
  }
}
