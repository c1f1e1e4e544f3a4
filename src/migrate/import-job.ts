/**
 * One import: read the manifest, unwrap the data key, download chunks (up to `maxThreads` at
 * once; the cache holds at most that many), verify each object's MD5 and SHA-256 against the
 * manifest, decrypt, decompress, check the plaintext SHA-256 and append the files to a cartridge
 * built under a temporary label. Only a complete, verified cartridge is moved to its barcode;
 * any failure removes the temporary cartridge, so nothing partial reaches the library.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
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
import type { FileEntry, JobRecord } from './job-store.js';
import { manifestName, parseManifest, type Manifest } from './manifest.js';
import { MigrationError } from './remote.js';
import { cacheFile } from './export-job.js';

/** A backend that can rename a cartridge (optional; without it the files are copied). */
export interface RenamingBackend extends ImageBackend {
  rename(from: string, to: string): Promise<void>;
}

function canRename(b: ImageBackend): b is RenamingBackend {
  return typeof (b as Partial<RenamingBackend>).rename === 'function';
}

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

/** Writes the export stream back into files, in manifest order. */
class StreamWriter {
  private i = 0;
  private written = 0;

  constructor(
    private readonly store: CartridgeStore,
    private readonly files: readonly FileEntry[],
  ) {}

  async write(data: Buffer): Promise<void> {
    let pos = 0;
    while (pos < data.length) {
      const f = this.files[this.i];
      if (f === undefined) throw new MigrationError('ERR_FORMAT', 'more data than the manifest files hold');
      const room = f.size - this.written;
      if (room === 0) {
        await this.next();
        continue;
      }
      const n = Math.min(room, data.length - pos);
      await this.store.append(f.name, data.subarray(pos, pos + n));
      this.written += n;
      pos += n;
    }
  }

  private async next(): Promise<void> {
    const f = this.files[this.i];
    if (f.size === 0) await this.store.writeAtomic(f.name, Buffer.alloc(0));
    this.i++;
    this.written = 0;
  }

  /** Creates trailing empty files and checks every file got its full size. */
  async finish(): Promise<void> {
    while (this.i < this.files.length) {
      const f = this.files[this.i];
      if (this.written !== f.size) {
        throw new MigrationError('ERR_FORMAT', `${f.name}: rebuilt ${this.written} of ${f.size} bytes`);
      }
      await this.next();
    }
  }
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
  if (!options.replace && (await ctx.backend.exists(job.barcode))) {
    throw new MigrationError(
      'ERR_JOB',
      `cartridge ${job.barcode} exists locally; import with replace to overwrite it`,
    );
  }
  const dataKey = await dataKeyFor(ctx, m, where);
  const flags = (m.compression !== null ? FLAG_COMPRESSED : 0) | (m.encryption !== null ? FLAG_ENCRYPTED : 0);
  job.bytesTotal = m.totalBytes;
  job.bytesDone = 0;
  job.chunks = m.chunks.map((c) => ({ ...c, state: 'pending', attempts: 0 }));
  await ctx.save();

  const temp = importTempLabel(job.id);
  await ctx.backend.remove(temp);
  const store = await ctx.backend.open(temp, { create: true });
  const runStart = Date.now();
  try {
    const writer = new StreamWriter(store, m.files);
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
      for (let i = 0; i < job.chunks.length; i++) {
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
        c.state = 'verified';
        job.bytesDone += c.plainLength;
        updateRate(job, runStart, 0);
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
    await ctx.backend.remove(temp);
    throw err;
  }
  await ctx.save();
  return m;
}

/** Moves the rebuilt cartridge to its barcode: a rename when the backend has one, else a copy. */
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
  if (canRename(backend)) {
    await backend.rename(temp, label);
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
