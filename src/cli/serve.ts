/**
 * `vtl serve`: load and validate the config, start the library and its management API (the
 * `vtl status|cartridge|mailslot` commands talk to it), and shut down cleanly on SIGINT/SIGTERM
 * (API closed first, then every drive synced before exit).
 */
import { loadLibraryConfig, parseLibraryConfig } from '../vtl/config.js';
import { VirtualLibrary } from '../vtl/library.js';
import { VtlError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { startManagementApi, type ManagementApi } from './api/server.js';

export interface ServeArgs {
  configFile?: string | undefined;
  dataDir?: string | undefined;
  portals?: string[] | undefined;
  transport?: string | undefined;
  logLevel?: string | undefined;
  /** HOST:PORT for the management API, overriding `management.host`/`port` of the config. */
  apiListen?: string | undefined;
}

export async function serve(args: ServeArgs): Promise<number> {
  const overrides: Record<string, unknown> = {};
  if (args.dataDir !== undefined) overrides.dataDir = args.dataDir;
  if (args.portals !== undefined) overrides.portals = args.portals;
  if (args.transport !== undefined) overrides.transport = args.transport;
  if (args.logLevel !== undefined) overrides.log = { level: args.logLevel };
  let config = args.configFile
    ? await loadLibraryConfig(args.configFile, overrides)
    : parseLibraryConfig(overrides, 'command line');
  if (args.apiListen !== undefined) {
    config = parseLibraryConfig(
      { ...config, management: { ...config.management, ...apiListen(args.apiListen) } },
      '--api-listen',
    );
  }
  const logger = createLogger({ level: config.log.level });
  const library = await VirtualLibrary.start(config, { logger });
  for (const p of library.portals) {
    logger.info('listening', {
      portal: `${p.host}:${p.port}`,
      target: library.targetName,
      transport: config.transport,
    });
  }
  let api: ManagementApi;
  try {
    api = await startManagementApi(library, {
      host: config.management.host,
      port: config.management.port,
      token: config.management.token,
      logger,
    });
  } catch (err) {
    await library.stop();
    throw err;
  }
  logger.info('management api listening', { url: api.url, auth: config.management.token ? 'token' : 'none' });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        logger.warn('second signal: exiting without waiting for the drives to sync', { signal });
        process.exit(130);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      api
        .close()
        .then(() => library.stop())
        .then(resolve, (err: unknown) => {
          logger.error('shutdown failed', { err });
          resolve();
        });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  logger.info('stopped');
  return 0;
}

/** `--api-listen HOST:PORT` on top of the config's management section (its token kept). */
function apiListen(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || !/^\d{1,5}$/.test(text.slice(i + 1)) || port > 65535) {
    throw new VtlError(
      'ERR_CONFIG',
      `--api-listen ${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:3270)`,
    );
  }
  return { host: text.slice(0, i), port };
}
