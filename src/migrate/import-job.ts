/**
 * One import: read the manifest, unwrap the data key, download chunks (up to `maxThreads` at
 * once; the cache holds at most that many), verify each object's MD5 and SHA-256 against the
 * manifest, decrypt, decompress, check the plaintext SHA-256 and append the files to a cartridge
 * built under a temporary label. After each chunk the files are synced and the chunk is marked
 * verified in the job record, so a restart goes on from the last applied chunk (the temporary
 * cartridge is cut back to it first, import-writer.ts). Only a complete, verified cartridge is
 * moved to its barcode, by a rename when the backend has one; a failure or a cancel removes
 * the temporary cartridge, so nothing partial reaches the library.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { VtlError } from '../util/errors.js';
import type { CartridgeStore, ImageBackend } from '../vtl/image/types.js';
import {
  decodeChunk,
  FLAG_COMPRESSED,
  FLAG_ENCRYPTED,
  hashFile,
  loadEncryptionKey,
  unwrapDataKey,
} from './format.js';
import { Semaphore, updateRate, withRetries, type JobContext } from './job-context.js';
import type { ChunkRecord, FileEntry, JobRecord } from './job-store.js';
import { manifestName, parseManifest, type Manifest } from './manifest.js';
import { MigrationError } from './remote.js';
import { cacheFile, layoutFiles } from './export-job.js';
import { rollBack, StreamWriter } from './import-writer.js';

/** A backend with the optional `rename` (an import places its cartridge without copying). */
export type RenamingBackend = ImageBackend & Required<Pick<ImageBackend, 'rename'>>;

export interface ImportOptions {
  /** Where the library should put the cartridge; passed to LibraryHooks.placeImported. */
  target?: 'vault' | 'mailslot';
  /** Replace a local cartridge with the same barcode (otherwise the import fails). */
  replace?: boolean;
  /** Import this remote folder instead of the one a job record or a listing names. */
  remoteDir?: string;
}

/** Temporary label for a cartridge being rebuilt (valid label, never a barcode a user picks). */
export function importTempLabel(jobId: string): string {
  return `_IMPORT-${jobId}`.slice(0, 32);
}

async function dataKeyFor(ctx: JobContext, m: Manifest, where: string): Promise<Buffer | null> {
  const enc = m.encryption;
  if (enc === null) return null;
  const first = m.chunks[0]?.name ?? manifestName(m.barcode);
  const dir = ctx.config.keystoreDir;
  if (dir === undefined) {
    throw new MigrationError(
      'ERR_KEY',
      `${where}: encrypted with key ${enc.keyName}; no keystoreDir is configured`,
      {
        chunk: first,
      },
    );
  }
  const name = ctx.config.encryptionKey ?? enc.keyName;
  const key = await loadEncryptionKey(dir, name);
  if (key.fingerprint !== enc.keyFingerprint) {
    throw new MigrationError(
      'ERR_KEY',
      `${where}: wrong key: chunks from ${first} on are encrypted for key ${enc.keyName} ` +
        `(sha256 ${enc.keyFingerprint.slice(0, 16)}…), keystore file ${name} is sha256 ${key.fingerprint.slice(0, 16)}…`,
      { chunk: first },
    );
  }
  try {
    return unwrapDataKey(key, Buffer.from(enc.wrappedKey, 'base64'));
  } catch (err) {
    if (err instanceof MigrationError) throw err;
    throw new MigrationError(
      'ERR_KEY',
      `${where}: cannot unwrap the data key with ${name}: ${(err as Error).message}`,
      {
        chunk: first,
      },
    );
  }
}

/** Downloads and parses the manifest of a remote export folder. */
export async function fetchManifest(ctx: JobContext, job: JobRecord): Promise<Manifest> {
  const name = manifestName(job.barcode);
  const path = cacheFile(ctx, job, name);
  const where = `${ctx.remote.description}/${job.remoteDir}`;
  try {
    await withRetries(ctx, name, () =>
      ctx.remote.download(`${job.remoteDir}/${name}`, path, { signal: ctx.signal }),
    );
    return parseManifest(await fsp.readFile(path, 'utf8'), where);
  } catch (err) {
    if (err instanceof MigrationError && err.code === 'ERR_MISSING') {
      throw new MigrationError('ERR_MISSING', `${where}: no ${name} (an unfinished export)`, { chunk: name });
    }
    throw err;
  } finally {
    await fsp.rm(path, { force: true });
  }
}

/** Runs an import; resolves once the cartridge is complete under its barcode. */
export async function runImport(ctx: JobContext, job: JobRecord, options: ImportOptions): Promise<Manifest> {
  const m = await fetchManifest(ctx, job);
  const where = `${ctx.remote.description}/${job.remoteDir}`;
  if (m.barcode !== job.barcode) {
    throw new MigrationError('ERR_FORMAT', `${where}: manifest is for ${m.barcode}, not ${job.barcode}`);
  }
  const temp = importTempLabel(job.id);
  if (await alreadyPlaced(ctx, job, m, temp)) return m;
  if (!options.replace && (await ctx.backend.exists(job.barcode))) {
    throw new MigrationError(
      'ERR_JOB',
      `cartridge ${job.barcode} exists locally; import with replace to overwrite it`,
    );
  }
  const dataKey = await dataKeyFor(ctx, m, where);
  const flags = (m.compression !== null ? FLAG_COMPRESSED : 0) | (m.encryption !== null ? FLAG_ENCRYPTED : 0);
  job.bytesTotal = m.totalBytes;
  const { store, first, at } = await openTemp(ctx, job, m, temp);
  const runStart = Date.now();
  const startBytes = job.bytesDone;
  try {
    const writer = new StreamWriter(store, m.files);
    writer.resumeAt(at);
    const slots = new Semaphore(ctx.config.maxThreads);
    const exportId = Buffer.from(m.exportId, 'hex');
    const downloads = new Map<number, Promise<string>>();
    // The first failure is the one to report; the others are its cancellation echo.
    let firstError: unknown = null;
    const inner = new AbortController();
    const stop = (): void => inner.abort();
    ctx.signal.addEventListener('abort', stop, { once: true });
    const sub: JobContext = { ...ctx, signal: inner.signal };
    // Start downloads in order, each waiting for a cache slot; decoding consumes them in order.
    const fetchChunk = async (i: number): Promise<string> => {
      const c = job.chunks[i];
      const path = cacheFile(ctx, job, c.name);
      await slots.acquire(inner.signal);
      await withRetries(
        sub,
        c.name,
        async () => {
          c.attempts++;
          await ctx.remote.download(`${job.remoteDir}/${c.name}`, path, { signal: inner.signal });
          const h = await hashFile(path, inner.signal);
          if (h.size !== c.size || h.md5 !== c.md5 || h.sha256 !== c.sha256) {
            throw new MigrationError(
              'ERR_VERIFY',
              `${c.name}: corrupt: ${h.size} bytes md5 ${h.md5} sha256 ${h.sha256.slice(0, 16)}…, ` +
                `manifest says ${c.size} bytes md5 ${c.md5} sha256 ${c.sha256?.slice(0, 16)}…`,
              { chunk: c.name },
            );
          }
        },
        (err) => {
          c.lastError = err.message;
        },
      ).catch(async (err: unknown) => {
        await fsp.rm(path, { force: true });
        slots.release();
        if (err instanceof MigrationError && err.code === 'ERR_MISSING') {
          throw new MigrationError('ERR_MISSING', `${c.name}: missing on ${where}`, { chunk: c.name });
        }
        throw err;
      });
      return path;
    };
    const startAhead = (from: number): void => {
      for (let i = from; i < job.chunks.length && i < from + ctx.config.maxThreads; i++) {
        if (!downloads.has(i)) {
          const p = fetchChunk(i);
          p.catch((err: unknown) => {
            firstError ??= err;
            inner.abort();
          });
          downloads.set(i, p);
        }
      }
    };
    try {
      for (let i = first; i < job.chunks.length; i++) {
        startAhead(i);
        const c = job.chunks[i];
        const path = await (downloads.get(i) ?? Promise.reject(new Error('unreachable')));
        try {
          const plainSha = await decodeChunk({
            path,
            chunk: c.name,
            expect: {
              index: c.index,
              count: m.chunks.length,
              exportId,
              plainOffset: c.plainOffset,
              plainLength: c.plainLength,
              flags,
            },
            dataKey,
            sink: (b) => writer.write(b),
            signal: inner.signal,
          });
          if (plainSha !== c.plainSha256) {
            throw new MigrationError('ERR_VERIFY', `${c.name}: plaintext sha256 differs from the manifest`, {
              chunk: c.name,
            });
          }
        } finally {
          await fsp.rm(path, { force: true });
          slots.release();
        }
        // Durable before recorded: a restart trusts every chunk the record marks verified.
        await store.sync();
        c.state = 'verified';
        delete c.lastError;
        job.bytesDone += c.plainLength;
        await ctx.save();
        updateRate(job, runStart, startBytes);
        ctx.progress();
      }
    } catch (err) {
      const real = firstError ?? err;
      inner.abort();
      await Promise.allSettled([...downloads.values()]);
      for (const c of job.chunks) await fsp.rm(cacheFile(ctx, job, c.name), { force: true });
      if (ctx.signal.aborted) throw new MigrationError('ERR_CANCELLED', 'cancelled');
      throw real;
    } finally {
      ctx.signal.removeEventListener('abort', stop);
    }
    await writer.finish();
    await store.sync();
    await store.close();
    await place(ctx.backend, temp, job.barcode, m.files, options.replace === true);
  } catch (err) {
    await store.close();
    // A stop (cancel or close) leaves the temporary cartridge: a close resumes from it, a
    // cancel has the Migrator remove it.
    if (!ctx.signal.aborted) await ctx.backend.remove(temp);
    throw err;
  }
  await ctx.save();
  return m;
}

/** The job record describes this manifest's export (chunk for chunk), so its progress applies. */
function sameExport(job: JobRecord, m: Manifest): boolean {
  return (
    job.exportId === m.exportId &&
    job.chunks.length === m.chunks.length &&
    job.chunks.every((c, i) => {
      const e = m.chunks[i];
      return (
        c.name === e.name &&
        c.sha256 === e.sha256 &&
        c.plainOffset === e.plainOffset &&
        c.plainLength === e.plainLength
      );
    })
  );
}

function leadingVerified(chunks: readonly ChunkRecord[]): number {
  let n = 0;
  while (n < chunks.length && chunks[n].state === 'verified') n++;
  return n;
}

/**
 * The temporary cartridge to build into and where to start: after a restart of this job, past
 * the chunks already applied (cut back to what is wholly on disk); otherwise an empty one.
 */
async function openTemp(
  ctx: JobContext,
  job: JobRecord,
  m: Manifest,
  temp: string,
): Promise<{ store: CartridgeStore; first: number; at: number }> {
  const verified = sameExport(job, m) ? leadingVerified(job.chunks) : 0;
  if (verified > 0 && (await ctx.backend.exists(temp))) {
    const store = await ctx.backend.open(temp, { create: false });
    let back: { chunks: number; at: number };
    try {
      back = await rollBack(store, m.files, job.chunks, verified);
    } catch (err) {
      await store.close();
      throw err;
    }
    if (back.chunks > 0) {
      for (const c of job.chunks.slice(back.chunks)) c.state = 'pending';
      job.bytesDone = back.at;
      await ctx.save();
      ctx.logger.info('resuming import', {
        applied: back.chunks,
        chunks: job.chunks.length,
        next: job.chunks[back.chunks]?.name ?? null,
      });
      return { store, first: back.chunks, at: back.at };
    }
    await store.close();
  }
  job.exportId = m.exportId;
  job.chunks = m.chunks.map((c) => ({ ...c, state: 'pending', attempts: 0 }));
  job.bytesDone = 0;
  await ctx.save();
  await ctx.backend.remove(temp);
  return { store: await ctx.backend.open(temp, { create: true }), first: 0, at: 0 };
}

/**
 * A restart after the cartridge was placed but before the job was recorded complete: every
 * chunk verified, no temporary cartridge, and the barcode holds the manifest's files.
 */
async function alreadyPlaced(ctx: JobContext, job: JobRecord, m: Manifest, temp: string): Promise<boolean> {
  if (job.chunks.length === 0 || !sameExport(job, m) || leadingVerified(job.chunks) !== job.chunks.length) {
    return false;
  }
  if ((await ctx.backend.exists(temp)) || !(await ctx.backend.exists(job.barcode))) return false;
  const store = await ctx.backend.open(job.barcode, { create: false });
  try {
    const now = await layoutFiles(store);
    return (
      now.length === m.files.length &&
      now.every((f, i) => f.name === m.files[i].name && f.size === m.files[i].size)
    );
  } finally {
    await store.close();
  }
}

/**
 * Moves the rebuilt cartridge to its barcode: a rename when the backend has one (no second
 * write, never both labels at once), else a copy followed by removing the temporary one.
 */
async function place(
  backend: ImageBackend,
  temp: string,
  label: string,
  files: readonly FileEntry[],
  replace: boolean,
): Promise<void> {
  if (replace) await backend.remove(label);
  else if (await backend.exists(label)) {
    throw new MigrationError('ERR_JOB', `cartridge ${label} appeared locally during the import`);
  }
  if (backend.rename !== undefined) {
    try {
      await backend.rename(temp, label);
    } catch (err) {
      if (err instanceof VtlError && err.code === 'ERR_IMAGE_EXISTS') {
        throw new MigrationError('ERR_JOB', `cartridge ${label} appeared locally during the import`);
      }
      throw err;
    }
    return;
  }
  const from = await backend.open(temp, { create: false });
  const to = await backend.open(label, { create: true });
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (const f of files) {
      if (f.size === 0) {
        await to.writeAtomic(f.name, Buffer.alloc(0));
        continue;
      }
      for (let off = 0; off < f.size;) {
        const part = buf.subarray(0, Math.min(buf.length, f.size - off));
        const got =
          from.readInto !== undefined
            ? await from.readInto(f.name, off, part)
            : (await from.read(f.name, off, part.length)).copy(part);
        if (got !== part.length)
          throw new MigrationError('ERR_FORMAT', `${f.name}: short read while placing ${label}`);
        await to.append(f.name, part);
        off += got;
      }
    }
    await to.sync();
  } catch (err) {
    await to.close();
    await backend.remove(label);
    throw err;
  } finally {
    await from.close();
    await to.close();
  }
  await backend.remove(temp);
}

/**
 * What the cartridge's recorded data looks like: data and index file names and sizes plus the
 * bytes-written counter. Equal fingerprints mean nothing was written since the import (QUADStor:
 * ejecting an unchanged imported cartridge starts no new migration).
 */
export async function cartridgeFingerprint(backend: ImageBackend, label: string): Promise<string> {
  const store = await backend.open(label, { create: false });
  try {
    const h = createHash('sha256');
    for (const name of [...(await store.files())].sort()) {
      if (name.endsWith('.json')) continue;
      h.update(`${name}\0${await store.size(name)}\n`);
    }
    const metaSize = await store.size('cartridge.json');
    if (metaSize > 0) {
      const meta = JSON.parse((await store.read('cartridge.json', 0, metaSize)).toString('utf8')) as {
        counters?: { bytesWritten?: number };
      };
      h.update(`bytesWritten\0${meta.counters?.bytesWritten ?? 0}`);
    }
    return h.digest('hex');
  } finally {
    await store.close();
  }
}
