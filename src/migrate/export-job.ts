/**
 * One export: the cartridge's files (every file of its CartridgeStore: chunk files, index,
 * cartridge.json, anything else), laid end to end as the plaintext "export stream", cut into
 * chunk objects of at most `chunkSize` bytes, each encoded (format.ts), uploaded, and checked by
 * MD5 on the remote; the manifest goes last.
 *
 * Why files and not the logical tape stream: copying the store's files makes the imported
 * cartridge byte-identical (index, counters, MAM attributes, partitions and whatever the image
 * format adds later come back as they were) with no re-encoding and no knowledge of the image
 * format here; the logical stream would need a rebuild through TapeImage that reproduces
 * neither chunk boundaries nor the index, and would have to learn every format change.
 *
 * Pipeline: one encoder fills the cache while up to `maxThreads` uploads run; the cache holds
 * at most maxThreads + 1 chunk files (the ones uploading and the one being filled), as
 * QUADStor does ("another chunkfile is filled up while the copy runs").
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { CartridgeStore } from '../vtl/image/types.js';
import {
  encodeChunk,
  loadEncryptionKey,
  plainLimit,
  unwrapDataKey,
  wrapDataKey,
  type PlainSource,
} from './format.js';
import { Semaphore, updateRate, withRetries, type JobContext } from './job-context.js';
import type { ChunkRecord, FileEntry, JobRecord } from './job-store.js';
import {
  exportChunkName,
  exportDirName,
  manifestName,
  type Manifest,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
} from './manifest.js';
import { MigrationError, md5File } from './remote.js';

/** Reads the export stream (files end to end) from a cartridge store. */
export class StoreSource implements PlainSource {
  constructor(
    private readonly store: CartridgeStore,
    private readonly files: readonly FileEntry[],
  ) {}

  async read(offset: number, target: Buffer): Promise<void> {
    let filled = 0;
    let i = this.fileAt(offset);
    while (filled < target.length) {
      const f = this.files[i];
      if (f === undefined)
        throw new MigrationError(
          'ERR_CHANGED',
          `read past the end of the export stream at ${offset + filled}`,
        );
      const at = offset + filled - f.offset;
      const want = Math.min(f.size - at, target.length - filled);
      if (want <= 0) {
        i++;
        continue;
      }
      const dest = target.subarray(filled, filled + want);
      let got: number;
      if (this.store.readInto !== undefined) {
        got = await this.store.readInto(f.name, at, dest);
      } else {
        const b = await this.store.read(f.name, at, want);
        b.copy(dest);
        got = b.length;
      }
      if (got !== want) {
        throw new MigrationError(
          'ERR_CHANGED',
          `${this.store.label}: ${f.name} is shorter than the ${f.size} bytes it had when the export started`,
        );
      }
      filled += want;
    }
  }

  private fileAt(offset: number): number {
    let lo = 0;
    let hi = this.files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.files[mid].offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** The store's files with sizes and stream offsets, in name order. */
export async function layoutFiles(store: CartridgeStore): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  let offset = 0;
  for (const name of [...(await store.files())].sort()) {
    const size = await store.size(name);
    if (size < 0) continue;
    out.push({ name, size, offset });
    offset += size;
  }
  return out;
}

async function checkUnchanged(job: JobRecord, store: CartridgeStore): Promise<void> {
  const now = await layoutFiles(store);
  const was = job.files ?? [];
  const same =
    now.length === was.length && now.every((f, i) => f.name === was[i].name && f.size === was[i].size);
  if (!same) {
    throw new MigrationError(
      'ERR_CHANGED',
      `${job.barcode} changed since its export started (files or sizes differ); export it again`,
    );
  }
}

/** Fixes the layout, chunk ranges, remote folder and data key of a new export. */
async function plan(ctx: JobContext, job: JobRecord, store: CartridgeStore): Promise<Buffer | null> {
  const cfg = ctx.config;
  const files = await layoutFiles(store);
  const total = files.reduce((n, f) => n + f.size, 0);
  const encrypted = cfg.encryptionKey !== undefined;
  const compressed = cfg.compress;
  const limit = plainLimit(cfg.chunkSize, compressed, encrypted);
  const count = Math.max(1, Math.ceil(total / limit));
  const chunks: ChunkRecord[] = [];
  for (let i = 0; i < count; i++) {
    const plainOffset = i * limit;
    chunks.push({
      index: i + 1,
      name: exportChunkName(job.barcode, i + 1),
      plainOffset,
      plainLength: Math.min(limit, total - plainOffset),
      state: 'pending',
      attempts: 0,
    });
  }
  let dataKey: Buffer | null = null;
  job.encryption = null;
  if (cfg.encryptionKey !== undefined && cfg.keystoreDir !== undefined) {
    const key = await loadEncryptionKey(cfg.keystoreDir, cfg.encryptionKey);
    dataKey = randomBytes(32);
    job.encryption = {
      keyName: key.name,
      keyFingerprint: key.fingerprint,
      wrappedKey: wrapDataKey(key, dataKey).toString('base64'),
    };
  }
  job.exportId = randomBytes(16).toString('hex');
  job.remoteDir = exportDirName(job.barcode, new Date());
  job.chunkSize = cfg.chunkSize;
  job.compressionLevel = compressed ? cfg.compressionLevel : null;
  job.files = files;
  job.chunks = chunks;
  job.bytesTotal = total;
  job.bytesDone = 0;
  await ctx.save();
  return dataKey;
}

/**
 * The data key of a resumed export, unwrapped with the keystore's private key. A keystore that
 * holds only the public half cannot recover it: the export restarts with a new key.
 */
async function resumeKey(ctx: JobContext, job: JobRecord): Promise<Buffer | null> {
  const enc = job.encryption;
  if (enc === null || enc === undefined) return null;
  const dir = ctx.config.keystoreDir;
  if (dir === undefined)
    throw new MigrationError('ERR_KEY', `export ${job.id} is encrypted but no keystoreDir is configured`);
  const key = await loadEncryptionKey(dir, enc.keyName);
  if (key.fingerprint !== enc.keyFingerprint) {
    throw new MigrationError(
      'ERR_KEY',
      `keystore key ${enc.keyName} is not the key export ${job.id} started with`,
    );
  }
  if (key.privateKey !== null) return unwrapDataKey(key, Buffer.from(enc.wrappedKey, 'base64'));
  ctx.logger.warn('public-only key: restarting the export with a new data key', { job: job.id });
  const dataKey = randomBytes(32);
  enc.wrappedKey = wrapDataKey(key, dataKey).toString('base64');
  for (const c of job.chunks) c.state = 'pending';
  job.bytesDone = 0;
  await ctx.save();
  return dataKey;
}

export function cacheFile(ctx: JobContext, job: JobRecord, name: string): string {
  return join(ctx.cacheDir, `${job.id}-${name}`);
}

/** Runs (or resumes) an export until every chunk and the manifest are verified. */
export async function runExport(ctx: JobContext, job: JobRecord): Promise<Manifest> {
  const store = await ctx.backend.open(job.barcode, { create: false });
  try {
    let dataKey: Buffer | null;
    if (job.files === undefined || job.exportId === undefined) {
      dataKey = await plan(ctx, job, store);
    } else {
      await checkUnchanged(job, store);
      dataKey = await resumeKey(ctx, job);
    }
    await uploadChunks(ctx, job, new StoreSource(store, job.files ?? []), dataKey);
    await checkUnchanged(job, store);
    const meta = await readCartridgeMeta(store);
    return await uploadManifest(ctx, job, meta);
  } finally {
    await store.close();
  }
}

async function readCartridgeMeta(store: CartridgeStore): Promise<Record<string, unknown>> {
  const size = await store.size('cartridge.json');
  if (size < 0) return {};
  try {
    return JSON.parse((await store.read('cartridge.json', 0, size)).toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return {};
  }
}

async function uploadChunks(
  ctx: JobContext,
  job: JobRecord,
  source: StoreSource,
  dataKey: Buffer | null,
): Promise<void> {
  const cfg = ctx.config;
  const cacheSlots = new Semaphore(cfg.maxThreads + 1);
  const uploadSlots = new Semaphore(cfg.maxThreads);
  const inner = new AbortController();
  const stop = (): void => inner.abort();
  ctx.signal.addEventListener('abort', stop, { once: true });
  const inFlight = new Map<number, number>();
  const verifiedBytes = (): number =>
    job.chunks.reduce((n, c) => n + (c.state === 'verified' ? c.plainLength : 0), 0);
  const runStart = Date.now();
  const startBytes = verifiedBytes();
  const report = (): void => {
    let partial = 0;
    for (const v of inFlight.values()) partial += v;
    job.bytesDone = verifiedBytes() + partial;
    updateRate(job, runStart, startBytes);
    ctx.progress();
  };
  const tasks = new Set<Promise<void>>();
  let failure: unknown = null;
  const fail = (err: unknown): void => {
    failure ??= err;
    inner.abort();
  };
  try {
    for (const c of job.chunks) {
      if (c.state === 'verified') continue;
      if (failure !== null) break;
      try {
        await cacheSlots.acquire(inner.signal);
      } catch (err) {
        fail(err);
        break;
      }
      const path = cacheFile(ctx, job, c.name);
      try {
        const enc = await encodeChunk({
          source,
          header: {
            index: c.index,
            count: job.chunks.length,
            exportId: Buffer.from(job.exportId ?? '', 'hex'),
            plainOffset: c.plainOffset,
            plainLength: c.plainLength,
          },
          compressionLevel: job.compressionLevel ?? null,
          dataKey,
          outPath: path,
          signal: inner.signal,
        });
        if (enc.size > (job.chunkSize ?? Infinity)) {
          throw new MigrationError(
            'ERR_FORMAT',
            `${c.name}: encoded to ${enc.size} bytes, over chunkSize ${job.chunkSize}`,
          );
        }
        Object.assign(c, enc);
      } catch (err) {
        await fsp.rm(path, { force: true });
        cacheSlots.release();
        fail(err);
        break;
      }
      const task = (async (): Promise<void> => {
        try {
          await uploadSlots.acquire(inner.signal);
          try {
            await uploadOne(ctx, job, c, path, inner.signal, (bytes, total) => {
              inFlight.set(c.index, total > 0 ? Math.floor((c.plainLength * bytes) / total) : 0);
              report();
            });
          } finally {
            uploadSlots.release();
          }
          inFlight.delete(c.index);
          c.state = 'verified';
          delete c.lastError;
          await ctx.save();
          report();
        } catch (err) {
          inFlight.delete(c.index);
          fail(err);
        } finally {
          await fsp.rm(path, { force: true });
          cacheSlots.release();
        }
      })();
      tasks.add(task);
      void task.finally(() => tasks.delete(task));
    }
    while (tasks.size > 0) await Promise.all([...tasks]);
  } finally {
    ctx.signal.removeEventListener('abort', stop);
  }
  if (failure !== null) {
    if (ctx.signal.aborted) throw new MigrationError('ERR_CANCELLED', 'cancelled');
    throw failure as Error;
  }
  report();
}

/** Uploads one staged object and checks its MD5 on the remote, with the retry policy. */
async function uploadOne(
  ctx: JobContext,
  job: JobRecord,
  c: { name: string; md5?: string; attempts: number; lastError?: string },
  path: string,
  signal: AbortSignal,
  onProgress?: (bytes: number, total: number) => void,
): Promise<void> {
  const remotePath = `${job.remoteDir}/${c.name}`;
  const sub: JobContext = { ...ctx, signal };
  await withRetries(
    sub,
    remotePath,
    async () => {
      c.attempts++;
      await ctx.remote.upload(path, remotePath, { signal, onProgress });
      if (ctx.config.skipMd5Check) return;
      const got = await ctx.remote.md5(remotePath, { signal });
      if (got.md5 !== c.md5) {
        throw new MigrationError(
          'ERR_VERIFY',
          `${c.name}: md5 on the remote is ${got.md5} (${got.via}), the uploaded file's is ${c.md5}`,
          { chunk: c.name },
        );
      }
    },
    (err) => {
      c.lastError = err.message;
      void ctx.save();
    },
  ).catch((err: unknown) => {
    if (err instanceof MigrationError && (err.code === 'ERR_CANCELLED' || err.chunk !== undefined)) throw err;
    const e = err as Error;
    throw new MigrationError(
      err instanceof MigrationError ? err.code : 'ERR_REMOTE',
      `${c.name}: ${e.message}`,
      { chunk: c.name, exitCode: (err as MigrationError).exitCode, cause: err },
    );
  });
}

async function uploadManifest(
  ctx: JobContext,
  job: JobRecord,
  cartridge: Record<string, unknown>,
): Promise<Manifest> {
  const enc = job.encryption;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    formatVersion: MANIFEST_VERSION,
    exportId: job.exportId ?? '',
    barcode: job.barcode,
    createdAt: job.createdAt,
    completedAt: new Date().toISOString(),
    cartridge,
    files: job.files ?? [],
    totalBytes: job.bytesTotal,
    chunkSize: job.chunkSize ?? ctx.config.chunkSize,
    compression:
      job.compressionLevel === null || job.compressionLevel === undefined
        ? null
        : { algorithm: 'zstd', level: job.compressionLevel },
    encryption:
      enc === null || enc === undefined
        ? null
        : { algorithm: 'AES-256-GCM', keyWrap: 'RSA-OAEP-SHA-256', ...enc },
    chunks: job.chunks.map((c) => ({
      index: c.index,
      name: c.name,
      size: c.size ?? 0,
      md5: c.md5 ?? '',
      sha256: c.sha256 ?? '',
      plainOffset: c.plainOffset,
      plainLength: c.plainLength,
      plainSha256: c.plainSha256 ?? '',
    })),
  };
  const name = manifestName(job.barcode);
  const path = cacheFile(ctx, job, name);
  await fsp.writeFile(path, JSON.stringify(manifest, null, 1) + '\n');
  try {
    const rec = { name, md5: await md5File(path), attempts: 0 };
    await uploadOne(ctx, job, rec, path, ctx.signal);
  } finally {
    await fsp.rm(path, { force: true });
  }
  return manifest;
}

/**
 * Before anything local is deleted: every chunk and the manifest are on the remote with the
 * sizes recorded (one listing; per-object MD5s were checked as they were uploaded).
 */
export async function verifyExportListing(ctx: JobContext, job: JobRecord): Promise<void> {
  const listed = new Map(
    (await ctx.remote.list(job.remoteDir, { signal: ctx.signal })).map((e) => [e.name, e.size]),
  );
  for (const c of job.chunks) {
    const size = listed.get(c.name);
    if (c.state !== 'verified' || size !== c.size) {
      throw new MigrationError(
        'ERR_MISSING',
        `${c.name}: not verified on ${ctx.remote.description}/${job.remoteDir}`,
        {
          chunk: c.name,
        },
      );
    }
  }
  if (!listed.has(manifestName(job.barcode))) {
    throw new MigrationError(
      'ERR_MISSING',
      `${manifestName(job.barcode)}: missing on ${ctx.remote.description}/${job.remoteDir}`,
    );
  }
}
