/**
 * Where exports go: a `Remote` stores named objects under a root (an rclone remote or a plain
 * directory). Paths are relative to the root and use '/' (`BARCODE-20250101_120000/BARCODE.img.000001`).
 * Failures are RemoteError with an rclone-style exit code so one retry policy covers both
 * implementations (migrate.md 2.6).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** rclone 1.60 exit codes (migrate.md 2.6) used for every remote. */
export const EXIT = {
  GENERIC: 1,
  UNCATEGORISED: 2,
  DIR_NOT_FOUND: 3,
  FILE_NOT_FOUND: 4,
  TEMPORARY: 5,
  NO_RETRY: 6,
  FATAL: 7,
} as const;

export type MigrationErrorCode =
  | 'ERR_REMOTE' // the remote refused an operation (exit code attached)
  | 'ERR_VERIFY' // a hash did not match (md5 of an upload, sha256 of a download)
  | 'ERR_KEY' // the key cannot decrypt this export, or cannot be read
  | 'ERR_FORMAT' // a chunk or manifest is not what this version writes
  | 'ERR_MISSING' // a chunk or manifest is absent on the remote
  | 'ERR_CANCELLED' // the job was cancelled
  | 'ERR_CHANGED' // the cartridge changed while it was being exported
  | 'ERR_JOB'; // no such job, or the job is in the wrong state

/** A failure of the migration module; `chunk` names the object concerned, when one is. */
export class MigrationError extends Error {
  readonly code: MigrationErrorCode;
  readonly chunk: string | undefined;
  readonly exitCode: number | undefined;

  constructor(
    code: MigrationErrorCode,
    message: string,
    options: { chunk?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'MigrationError';
    this.code = code;
    this.chunk = options.chunk;
    this.exitCode = options.exitCode;
  }
}

export interface TransferOptions {
  /** Aborting kills the transfer (rclone: the process, by PID) and rejects with ERR_CANCELLED. */
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number) => void;
}

export interface RemoteHash {
  md5: string;
  /** `remote`: the backend's stored hash; `download`: computed by re-reading the object. */
  via: 'remote' | 'download';
}

export interface RemoteEntry {
  name: string;
  size: number;
  isDir: boolean;
}

export interface Remote {
  /** For logs and job records (`gdrive:vtl`, `/srv/vault`). */
  readonly description: string;
  upload(localPath: string, remotePath: string, options?: TransferOptions): Promise<void>;
  download(remotePath: string, localPath: string, options?: TransferOptions): Promise<void>;
  /** The object's MD5 as the remote reports it; never an empty string (migrate.md 0.3). */
  md5(remotePath: string, options?: TransferOptions): Promise<RemoteHash>;
  /** Entries directly under a directory ('' = the root); empty when it does not exist. */
  list(remoteDir: string, options?: TransferOptions): Promise<RemoteEntry[]>;
  /** Deletes one object; no error when absent. */
  deleteFile(remotePath: string, options?: TransferOptions): Promise<void>;
  /** Deletes a directory and everything in it; no error when absent. */
  purge(remoteDir: string, options?: TransferOptions): Promise<void>;
}

/** Joins a remote root and a relative path the way rclone reads them (`gdrive:` + `a/b`). */
export function joinRemote(root: string, path: string): string {
  if (path === '') return root;
  if (root.endsWith(':') || root.endsWith('/')) return root + path;
  return `${root}/${path}`;
}

/** Throws ERR_CANCELLED when the signal is aborted. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new MigrationError('ERR_CANCELLED', 'cancelled');
}

/** Sleeps, waking early (with ERR_CANCELLED) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new MigrationError('ERR_CANCELLED', 'cancelled'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new MigrationError('ERR_CANCELLED', 'cancelled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** MD5 of a local file, streamed. */
export async function md5File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('md5');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), h, { signal });
  return h.digest('hex');
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/**
 * The built-in remote: a plain directory, no rclone. Objects are written to a hidden temporary
 * name and renamed, so a reader never sees a partial object; the MD5 is computed from the file.
 */
export class DirectoryRemote implements Remote {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = root;
  }

  private path(rel: string): string {
    const parts = rel.split('/').filter((p) => p !== '');
    if (parts.some((p) => p === '..' || p === '.' || p.includes(sep) || p.includes('\0'))) {
      throw new MigrationError(
        'ERR_REMOTE',
        `remote path ${JSON.stringify(rel)} is not a plain relative path`,
        {
          exitCode: EXIT.GENERIC,
        },
      );
    }
    return join(this.root, ...parts);
  }

  private fail(op: string, rel: string, err: unknown): never {
    if (err instanceof MigrationError) throw err;
    if ((err as Error | null)?.name === 'AbortError') throw new MigrationError('ERR_CANCELLED', 'cancelled');
    const code = errno(err);
    if (code === 'ENOENT' && op !== 'upload to') {
      throw new MigrationError('ERR_MISSING', `${rel} is missing on ${this.description}`, {
        exitCode: EXIT.FILE_NOT_FOUND,
        chunk: rel,
      });
    }
    const exitCode =
      code === 'ENOENT'
        ? EXIT.FILE_NOT_FOUND
        : code === 'EAGAIN' || code === 'EBUSY' || code === 'EINTR'
          ? EXIT.TEMPORARY
          : EXIT.UNCATEGORISED;
    throw new MigrationError('ERR_REMOTE', `${op} ${this.description}/${rel}: ${(err as Error).message}`, {
      exitCode,
      cause: err,
    });
  }

  async upload(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<void> {
    const dest = this.path(remotePath);
    const tmp = join(dirname(dest), `.${remotePath.split('/').pop() ?? 'object'}.partial`);
    try {
      await fsp.mkdir(dirname(dest), { recursive: true });
      await copyWithProgress(localPath, tmp, options);
      await fsp.rename(tmp, dest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      this.fail('upload to', remotePath, err);
    }
  }

  async download(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
    try {
      await copyWithProgress(this.path(remotePath), localPath, options);
    } catch (err) {
      this.fail('download of', remotePath, err);
    }
  }

  async md5(remotePath: string, options: TransferOptions = {}): Promise<RemoteHash> {
    try {
      return { md5: await md5File(this.path(remotePath), options.signal), via: 'download' };
    } catch (err) {
      this.fail('md5 of', remotePath, err);
    }
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    try {
      const entries = await fsp.readdir(this.path(remoteDir), { withFileTypes: true });
      const out: RemoteEntry[] = [];
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const size = e.isDirectory() ? -1 : (await fsp.stat(join(this.path(remoteDir), e.name))).size;
        out.push({ name: e.name, size, isDir: e.isDirectory() });
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      this.fail('list of', remoteDir, err);
    }
  }

  async deleteFile(remotePath: string): Promise<void> {
    try {
      await fsp.rm(this.path(remotePath), { force: true });
    } catch (err) {
      this.fail('delete of', remotePath, err);
    }
  }

  async purge(remoteDir: string): Promise<void> {
    if (remoteDir.split('/').filter((p) => p !== '').length === 0) {
      throw new MigrationError('ERR_REMOTE', 'refusing to purge the remote root', { exitCode: EXIT.GENERIC });
    }
    try {
      await fsp.rm(this.path(remoteDir), { recursive: true, force: true });
    } catch (err) {
      this.fail('purge of', remoteDir, err);
    }
  }
}

async function copyWithProgress(from: string, to: string, options: TransferOptions): Promise<void> {
  const total = (await fsp.stat(from)).size;
  let done = 0;
  const src = createReadStream(from, { highWaterMark: 1 << 20 });
  if (options.onProgress !== undefined) {
    const report = options.onProgress;
    src.on('data', (b: Buffer | string) => {
      done += b.length;
      report(done, total);
    });
  }
  await pipeline(src, createWriteStream(to), { signal: options.signal });
}
