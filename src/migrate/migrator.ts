/**
 * The Migrator: export and import jobs for one library. It reads cartridges only through the
 * ImageBackend, talks to the cloud only through a Remote, and asks the library for the rest
 * through LibraryHooks (placing an imported cartridge, a spare's barcode). At most `maxJobs`
 * jobs run at once; job records persist in `<jobDir>/jobs.json` and a restart resumes running
 * jobs from the last verified chunk (an import from the last chunk applied to its temporary
 * cartridge).
 */
import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { VtlError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { createCartridge, parseMeta } from '../vtl/image/index.js';
import type { CartridgeMeta, ImageBackend } from '../vtl/image/types.js';
import type { MigrationConfig } from './config.js';
import { runExport, verifyExportListing } from './export-job.js';
import { runPostVaultCmd, type HookResult } from './hook.js';
import { cartridgeFingerprint, importTempLabel, runImport, type ImportOptions } from './import-job.js';
import type { JobContext } from './job-context.js';
import { FINISHED, JobStore, type JobRecord } from './job-store.js';
import { manifestName } from './manifest.js';
import { RcloneRemote } from './rclone.js';
import { DirectoryRemote, MigrationError, type Remote } from './remote.js';

/** What the Migrator needs from the library; every hook is optional. */
export interface LibraryHooks {
  /** True while the cartridge must not be exported, replaced or deleted (loaded in a drive). */
  isBusy?(barcode: string): boolean | Promise<boolean>;
  /** An export is verified; `deleted` when the local cartridge was removed (deleteAfterExport). */
  onExported?(event: {
    jobId: string;
    barcode: string;
    remoteDir: string;
    deleted: boolean;
  }): void | Promise<void>;
  /** A free barcode for a spare cartridge like `template` (createSpare). */
  generateSpareBarcode?(template: CartridgeMeta): string | Promise<string>;
  /** The spare exists in the backend: put it in a free slot. */
  placeSpare?(barcode: string, meta: CartridgeMeta): void | Promise<void>;
  /** An imported cartridge is complete under its barcode: put it in the vault or a mailslot. */
  placeImported?(
    barcode: string,
    event: { jobId: string; target: 'vault' | 'mailslot' },
  ): void | Promise<void>;
}

export interface MigratorOptions {
  config: MigrationConfig;
  backend: ImageBackend;
  /** Directory for jobs.json (and the default cache). */
  jobDir: string;
  logger?: Logger;
  hooks?: LibraryHooks;
  /** A remote to use instead of the one `config.remote` names (embedding, tests). */
  remote?: Remote;
  /** Extra environment for rclone (`RCLONE_CONFIG_<NAME>_<KEY>`). */
  rcloneEnv?: Readonly<Record<string, string>>;
}

export interface MigratorEvents {
  job: [JobRecord];
  progress: [JobRecord];
}

/** A plain directory for an absolute path, rclone for anything else (`name:path`). */
export function createRemote(
  config: MigrationConfig,
  env?: Readonly<Record<string, string>>,
  logger?: Logger,
): Remote {
  if (isAbsolute(config.remote)) return new DirectoryRemote(config.remote);
  if (!config.remote.includes(':')) {
    throw new VtlError(
      'ERR_CONFIG',
      `migration.remote: ${JSON.stringify(config.remote)} is neither an rclone remote ("name:path") nor an absolute directory`,
    );
  }
  return new RcloneRemote({
    remote: config.remote,
    binary: config.rcloneBinary,
    flags: config.rcloneFlags,
    env,
    logger,
  });
}

const PROGRESS_INTERVAL_MS = 200;

interface Running {
  job: JobRecord;
  controller: AbortController;
  /** Why the controller was aborted. */
  reason: 'cancel' | 'close' | null;
  done: Promise<void>;
}

export class Migrator extends EventEmitter<MigratorEvents> {
  readonly remote: Remote;
  private readonly config: MigrationConfig;
  private readonly backend: ImageBackend;
  private readonly store: JobStore;
  private readonly log: Logger;
  private readonly hooks: LibraryHooks;
  private readonly cacheDir: string;
  private readonly running = new Map<string, Running>();
  private readonly waiters = new Map<string, ((j: JobRecord) => void)[]>();
  private readonly lastProgress = new Map<string, number>();
  private started: Promise<void> | null = null;
  private closed = false;

  constructor(options: MigratorOptions) {
    super();
    this.config = options.config;
    this.backend = options.backend;
    this.store = new JobStore(options.jobDir);
    this.log = (options.logger ?? silentLogger).child({ component: 'migrate' });
    this.hooks = options.hooks ?? {};
    this.cacheDir = options.config.cacheDir ?? join(options.jobDir, 'cache');
    this.remote = options.remote ?? createRemote(options.config, options.rcloneEnv, this.log);
  }

  /** Loads job records and resumes the jobs that were queued or running. Idempotent. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.store.load();
      await fsp.mkdir(this.cacheDir, { recursive: true });
      for (const name of await fsp.readdir(this.cacheDir))
        await fsp.rm(join(this.cacheDir, name), { force: true });
      for (const j of this.store.list()) {
        if (j.state === 'running') {
          this.log.info('resuming job after restart', { job: j.id, kind: j.kind, barcode: j.barcode });
          j.state = 'queued';
        }
      }
      await this.store.save();
      this.pump();
    })();
    return this.started;
  }

  jobs(): JobRecord[] {
    return this.store.list().map((j) => structuredClone(j));
  }

  job(id: string): JobRecord | undefined {
    const j = this.store.get(id);
    return j === undefined ? undefined : structuredClone(j);
  }

  /** Resolves when the job is completed, failed or cancelled (or the migrator closes). */
  async wait(id: string): Promise<JobRecord> {
    await this.start();
    const j = this.mustGet(id);
    if (FINISHED.has(j.state)) return structuredClone(j);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  /**
   * The library moved a cartridge to the vault: run the post-vault command (if configured) and
   * start its export.
   */
  async vaulted(barcode: string): Promise<{ job: JobRecord; hook: HookResult | null }> {
    await this.start();
    const cmd = this.config.postVaultCmd;
    const hook =
      cmd === undefined ? null : await runPostVaultCmd(cmd, barcode, this.config.postVaultTimeout, this.log);
    return { job: await this.exportCartridge(barcode), hook };
  }

  /** Queues an export; an imported cartridge ejected unchanged starts none (QUADStor). */
  async exportCartridge(barcode: string): Promise<JobRecord> {
    await this.start();
    this.checkOpen();
    if (!(await this.backend.exists(barcode)))
      throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${barcode}`);
    if (await this.hooks.isBusy?.(barcode))
      throw new MigrationError('ERR_JOB', `${barcode} is in use; unload it first`);
    const active = this.store.list().find((j) => j.barcode === barcode && !FINISHED.has(j.state));
    if (active !== undefined)
      throw new MigrationError('ERR_JOB', `${barcode} has ${active.kind} job ${active.id} ${active.state}`);
    const unchanged = await this.unchangedSinceImport(barcode);
    const now = new Date().toISOString();
    const job = this.store.add({
      kind: 'export',
      barcode,
      state: unchanged === null ? 'queued' : 'completed',
      createdAt: now,
      remoteDir: unchanged?.remoteDir ?? '',
      remote: this.remote.description,
      bytesDone: 0,
      bytesTotal: 0,
      rate: 0,
      chunks: [],
    });
    if (unchanged !== null) {
      job.finishedAt = now;
      job.note = `unchanged since import job ${unchanged.id}; export ${unchanged.remoteDir} is still valid`;
      if (this.config.deleteAfterImport) {
        await this.backend.remove(barcode);
        job.deleted = true;
      }
      await this.store.save();
      await this.hooks.onExported?.({
        jobId: job.id,
        barcode,
        remoteDir: job.remoteDir,
        deleted: job.deleted === true,
      });
      this.emit('job', structuredClone(job));
      return structuredClone(job);
    }
    await this.store.save();
    this.emit('job', structuredClone(job));
    this.pump();
    return structuredClone(job);
  }

  /** Queues an import of an export job's folder, or of a barcode's newest export. */
  async importCartridge(jobIdOrBarcode: string, options: ImportOptions = {}): Promise<JobRecord> {
    await this.start();
    this.checkOpen();
    const source = await this.findExport(jobIdOrBarcode, options.remoteDir);
    const active = this.store.list().find((j) => j.barcode === source.barcode && !FINISHED.has(j.state));
    if (active !== undefined) {
      throw new MigrationError(
        'ERR_JOB',
        `${source.barcode} has ${active.kind} job ${active.id} ${active.state}`,
      );
    }
    if (options.replace === true && (await this.hooks.isBusy?.(source.barcode))) {
      throw new MigrationError('ERR_JOB', `${source.barcode} is in use; unload it before replacing it`);
    }
    const job = this.store.add({
      kind: 'import',
      barcode: source.barcode,
      state: 'queued',
      createdAt: new Date().toISOString(),
      remoteDir: source.remoteDir,
      remote: this.remote.description,
      bytesDone: 0,
      bytesTotal: 0,
      rate: 0,
      chunks: [],
      importOptions: { target: options.target ?? 'vault', replace: options.replace === true },
      ...(source.jobId === undefined ? {} : { sourceJobId: source.jobId }),
    });
    await this.store.save();
    this.emit('job', structuredClone(job));
    this.pump();
    return structuredClone(job);
  }

  /** Cancels a queued or running job: stops transfers, removes partial remote objects and cache files. */
  async cancel(id: string): Promise<JobRecord> {
    await this.start();
    const job = this.mustGet(id);
    if (FINISHED.has(job.state)) throw new MigrationError('ERR_JOB', `job ${id} is ${job.state}`);
    const run = this.running.get(id);
    if (run === undefined) {
      job.state = 'cancelled';
      job.finishedAt = new Date().toISOString();
      // Queued after a restart, it may have left remote objects or a temporary cartridge.
      await this.cleanup(this.log.child({ job: job.id, barcode: job.barcode }), job);
      await this.store.save();
      this.finish(job);
      return structuredClone(job);
    }
    run.reason = 'cancel';
    run.controller.abort();
    await run.done;
    return structuredClone(job);
  }

  /** Removes completed, failed and cancelled records; returns how many. */
  async clear(): Promise<number> {
    await this.start();
    const n = this.store.clearFinished();
    await this.store.save();
    return n;
  }

  /** Stops running jobs without cancelling them (they resume on the next start). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.started === null) return;
    await this.started;
    const runs = [...this.running.values()];
    for (const r of runs) {
      r.reason = 'close';
      r.controller.abort();
    }
    await Promise.all(runs.map((r) => r.done));
    await this.store.save();
  }

  // ---- internals ------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) throw new VtlError('ERR_STATE', 'migrator is closed');
  }

  private mustGet(id: string): JobRecord {
    const j = this.store.get(id);
    if (j === undefined) throw new MigrationError('ERR_JOB', `no job ${id}`);
    return j;
  }

  private pump(): void {
    if (this.closed) return;
    for (const j of this.store.list()) {
      if (this.running.size >= this.config.maxJobs) return;
      if (j.state === 'queued' && !this.running.has(j.id)) this.launch(j);
    }
  }

  private launch(job: JobRecord): void {
    const controller = new AbortController();
    const run: Running = { job, controller, reason: null, done: Promise.resolve() };
    this.running.set(job.id, run);
    run.done = this.execute(run).finally(() => {
      this.running.delete(job.id);
      this.pump();
    });
  }

  private context(run: Running): JobContext {
    const job = run.job;
    return {
      config: this.config,
      backend: this.backend,
      remote: this.remote,
      cacheDir: this.cacheDir,
      logger: this.log.child({ job: job.id, barcode: job.barcode }),
      signal: run.controller.signal,
      save: () => this.store.save(),
      progress: () => {
        const now = Date.now();
        const last = this.lastProgress.get(job.id) ?? 0;
        if (now - last < PROGRESS_INTERVAL_MS && job.bytesDone < job.bytesTotal) return;
        this.lastProgress.set(job.id, now);
        this.emit('progress', structuredClone(job));
      },
    };
  }

  private async execute(run: Running): Promise<void> {
    const { job } = run;
    const ctx = this.context(run);
    job.state = 'running';
    job.startedAt = new Date().toISOString();
    delete job.lastError;
    await this.store.save();
    this.emit('job', structuredClone(job));
    try {
      if (job.kind === 'export') {
        await runExport(ctx, job);
        job.verified = true;
        await this.store.save();
        await this.afterExport(ctx, job);
      } else {
        await runImport(ctx, job, job.importOptions ?? {});
        job.fingerprint = await cartridgeFingerprint(this.backend, job.barcode);
        await this.hooks.placeImported?.(job.barcode, {
          jobId: job.id,
          target: job.importOptions?.target ?? 'vault',
        });
      }
      job.state = 'completed';
      job.bytesDone = job.bytesTotal;
    } catch (err) {
      const e = err as Error;
      if (run.reason === 'close') {
        job.state = 'running'; // resumes on the next start
        this.log.info('job interrupted by close', { job: job.id });
      } else if (run.reason === 'cancel') {
        job.state = 'cancelled';
        await this.cleanup(ctx.logger, job);
      } else {
        job.state = 'error';
        job.lastError = e.message;
        this.log.error('job failed', { job: job.id, barcode: job.barcode, error: e.message });
        await this.cleanup(ctx.logger, job);
      }
    } finally {
      for (const c of job.chunks) await fsp.rm(join(this.cacheDir, `${job.id}-${c.name}`), { force: true });
      if (job.state !== 'running') job.finishedAt = new Date().toISOString();
      await this.store.save();
      if (job.state !== 'running') this.finish(job);
    }
  }

  /**
   * After a failed or cancelled job: partial remote objects (export) or the temporary cartridge
   * (import). A verified export is never purged: once the local cartridge may have been deleted
   * (deleteAfterExport) the remote holds the only copy, so a later failure (a spare that cannot
   * be created, a hook) leaves it in place and says so.
   */
  private async cleanup(logger: Logger, job: JobRecord): Promise<void> {
    if (job.kind === 'export' && job.verified) {
      job.note = `${job.note ? `${job.note}; ` : ''}the verified export in ${job.remoteDir} was kept`;
      return;
    }
    try {
      if (job.kind === 'export' && job.remoteDir !== '') {
        await this.remote.purge(job.remoteDir);
      } else if (job.kind === 'import') {
        await this.backend.remove(importTempLabel(job.id));
      }
    } catch (err) {
      logger.warn('cleanup failed', { error: (err as Error).message });
    }
  }

  private async afterExport(ctx: JobContext, job: JobRecord): Promise<void> {
    const cfg = this.config;
    let meta: CartridgeMeta | null = null;
    if (cfg.createSpare) meta = await this.readMeta(job.barcode);
    if (cfg.deleteAfterExport) {
      // Never delete unless every chunk and the manifest are verified on the remote.
      await verifyExportListing(ctx, job);
      if (await this.hooks.isBusy?.(job.barcode)) {
        job.note = 'not deleted: the cartridge was in use when the export completed';
      } else {
        await this.backend.remove(job.barcode);
        job.deleted = true;
      }
    }
    if (cfg.createSpare && meta !== null) {
      const label = await (this.hooks.generateSpareBarcode?.(meta) ?? this.defaultSpareBarcode(meta));
      const spare = await createCartridge(this.backend, {
        label,
        mediaType: meta.mediaType,
        capacity: meta.capacity,
        earlyWarning: meta.earlyWarning,
        chunkSize: meta.chunkSize,
      });
      job.spare = label;
      await this.hooks.placeSpare?.(label, spare);
    }
    await this.hooks.onExported?.({
      jobId: job.id,
      barcode: job.barcode,
      remoteDir: job.remoteDir,
      deleted: job.deleted === true,
    });
  }

  private async readMeta(label: string): Promise<CartridgeMeta> {
    const store = await this.backend.open(label, { create: false });
    try {
      const size = await store.size('cartridge.json');
      return parseMeta(label, await store.read('cartridge.json', 0, Math.max(size, 0)));
    } finally {
      await store.close();
    }
  }

  /** `SP0001L8` for an LTO-8 template: an unused number, the template's media suffix kept. */
  private async defaultSpareBarcode(meta: CartridgeMeta): Promise<string> {
    const suffix = /(L[0-9A-Z]|M8)$/.exec(meta.label)?.[1] ?? '';
    const taken = new Set(await this.backend.list());
    for (let n = 1; n < 10_000; n++) {
      const label = `SP${String(n).padStart(4, '0')}${suffix}`;
      if (!taken.has(label)) return label;
    }
    throw new MigrationError('ERR_JOB', 'no free spare barcode SP0001..SP9999');
  }

  private finish(job: JobRecord): void {
    const snap = structuredClone(job);
    this.emit('job', snap);
    for (const w of this.waiters.get(job.id) ?? []) w(structuredClone(job));
    this.waiters.delete(job.id);
  }

  private async unchangedSinceImport(barcode: string): Promise<JobRecord | null> {
    const imp = [...this.store.list()]
      .reverse()
      .find((j) => j.barcode === barcode && j.kind === 'import' && j.state === 'completed');
    if (imp?.fingerprint === undefined) return null;
    const exportedSince = this.store
      .list()
      .some(
        (j) =>
          j.kind === 'export' &&
          j.barcode === barcode &&
          Number(j.id) > Number(imp.id) &&
          j.state === 'completed',
      );
    if (exportedSince) return null;
    return (await cartridgeFingerprint(this.backend, barcode)) === imp.fingerprint ? imp : null;
  }

  /** The remote folder to import: a job id, a barcode's newest local export record, or a listing. */
  private async findExport(
    key: string,
    remoteDir: string | undefined,
  ): Promise<{ barcode: string; remoteDir: string; jobId?: string }> {
    if (remoteDir !== undefined) {
      const m = /^(.+)-\d{8}_\d{6}$/.exec(remoteDir.split('/').pop() ?? '');
      if (m === null)
        throw new MigrationError('ERR_JOB', `remote folder ${remoteDir} is not BARCODE-YYYYMMDD_HHMMSS`);
      return { barcode: m[1], remoteDir };
    }
    // A verified export is importable even when what came after it (a spare, a hook) failed.
    const importable = (j: JobRecord): boolean =>
      j.kind === 'export' && (j.state === 'completed' || j.verified === true);
    const byId = this.store.get(key);
    if (byId !== undefined) {
      if (!importable(byId)) {
        throw new MigrationError(
          'ERR_JOB',
          `job ${key} is ${byId.kind === 'export' ? `an export ${byId.state}` : 'an import'}`,
        );
      }
      return { barcode: byId.barcode, remoteDir: byId.remoteDir, jobId: byId.id };
    }
    const local = [...this.store.list()].reverse().find((j) => importable(j) && j.barcode === key);
    if (local !== undefined) return { barcode: key, remoteDir: local.remoteDir, jobId: local.id };
    // Exported by another server or before the records were cleared: newest folder with a manifest.
    const pattern = new RegExp(`^${key.replace(/[.]/g, '\\.')}-\\d{8}_\\d{6}$`);
    const dirs = (await this.remote.list(''))
      .filter((e) => e.isDir && pattern.test(e.name))
      .map((e) => e.name);
    for (const dir of dirs.sort().reverse()) {
      const inside = await this.remote.list(dir);
      if (inside.some((e) => e.name === manifestName(key))) return { barcode: key, remoteDir: dir };
    }
    throw new MigrationError(
      'ERR_JOB',
      `no job ${key} and no finished export of ${key} on ${this.remote.description}`,
    );
  }
}
