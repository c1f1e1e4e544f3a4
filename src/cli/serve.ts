/**
 * `vtl serve`: load and validate the config, start the library, and shut down cleanly on
 * SIGINT/SIGTERM (every drive synced before exit).
 */
import { loadLibraryConfig, parseLibraryConfig } from '../vtl/config.js';
import { VirtualLibrary } from '../vtl/library.js';
import { createLogger } from '../util/log.js';

export interface ServeArgs {
  configFile?: string | undefined;
  dataDir?: string | undefined;
  portals?: string[] | undefined;
  transport?: string | undefined;
  logLevel?: string | undefined;
}

export async function serve(args: ServeArgs): Promise<number> {
  const overrides: Record<string, unknown> = {};
  if (args.dataDir !== undefined) overrides.dataDir = args.dataDir;
  if (args.portals !== undefined) overrides.portals = args.portals;
  if (args.transport !== undefined) overrides.transport = args.transport;
  if (args.logLevel !== undefined) overrides.log = { level: args.logLevel };
  const config = args.configFile
    ? await loadLibraryConfig(args.configFile, overrides)
    : parseLibraryConfig(overrides, 'command line');
  const logger = createLogger({ level: config.log.level });
  const library = await VirtualLibrary.start(config, { logger });
  for (const p of library.portals) {
    logger.info('listening', {
      portal: `${p.host}:${p.port}`,
      target: library.targetName,
      transport: config.transport,
    });
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        logger.warn('second signal: exiting without waiting for the drives to sync', { signal });
        process.exit(130);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      library.stop().then(resolve, (err: unknown) => {
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
