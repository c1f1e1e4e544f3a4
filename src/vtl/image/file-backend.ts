/**
 * The default backend: one directory per cartridge under a root directory. Reads and writes are
 * positioned (one pwritev per call); an append writes at the end this store knows (the size
 * is read once when a descriptor is opened: one store writes a cartridge at a time). O_APPEND
 * is not used because Linux pwrite ignores the offset on such descriptors, and the image
 * overwrites chunk files in place. `sync` fsyncs every file written since the last sync and,
 * when files were created, renamed or removed, the directory, so that what was synced
 * survives a crash or power loss.
 */
import { constants as C, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { VtlError } from '../../util/errors.js';
import type { CartridgeStore, ImageBackend } from './types.js';
import { isValidLabel, validateLabel } from './label.js';

/** Open descriptors kept per cartridge; a tape has many chunk files but touches one or two. */
const MAX_OPEN_FILES = 16;

function checkName(name: string): string {
  if (
    name.length === 0 ||
    name.includes('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    name.startsWith('.')
  ) {
    throw new VtlError('ERR_INVALID_ARGUMENT', `file name ${JSON.stringify(name)} is not a plain file name`);
  }
  return name;
}

async function fsyncDir(dir: string): Promise<void> {
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

const isErrno = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException | null)?.code === code;

interface OpenFile {
  fh: FileHandle;
  /** File size as this store left it (appends go here). */
  size: number;
}

class FileCartridgeStore implements CartridgeStore {
  /** Least recently used first (Map iteration order). */
  private readonly handles = new Map<string, OpenFile>();
  private readonly unsynced = new Set<string>();
  private dirChanged = false;
  private closed = false;

  constructor(
    readonly label: string,
    private readonly dir: string,
  ) {}

  async files(): Promise<string[]> {
    this.checkOpen();
    const names = await fsp.readdir(this.dir);
    return names.filter((n) => !n.startsWith('.')).sort();
  }

  async size(name: string): Promise<number> {
    this.checkOpen();
    try {
      // Not cached: another store may have the same cartridge open (a repair tool, a test).
      const st = await fsp.stat(join(this.dir, checkName(name)));
      return st.size;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return -1;
      throw err;
    }
  }

  async read(name: string, offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    const got = await this.readInto(name, offset, buf);
    return got === length ? buf : buf.subarray(0, got);
  }

  async readInto(name: string, offset: number, target: Buffer): Promise<number> {
    const { fh } = await this.handle(name, false);
    const length = target.length;
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(target, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got;
  }

  async append(name: string, data: Buffer | readonly Buffer[]): Promise<void> {
    const f = await this.handle(name, true);
    await this.writeAt(name, f, f.size, data);
  }

  async write(name: string, offset: number, data: Buffer | readonly Buffer[]): Promise<void> {
    await this.writeAt(name, await this.handle(name, true), offset, data);
  }

  async truncate(name: string, length: number): Promise<void> {
    const f = await this.handle(name, false);
    await f.fh.truncate(length);
    f.size = length;
    this.unsynced.add(name);
  }

  async writeAtomic(name: string, data: Buffer): Promise<void> {
    this.checkOpen();
    const path = join(this.dir, checkName(name));
    const tmp = join(this.dir, `.${name}.tmp`);
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.forget(name);
    await fsp.rename(tmp, path);
    await this.syncDir();
  }

  async unlink(name: string): Promise<void> {
    await this.forget(checkName(name));
    this.checkOpen();
    try {
      await fsp.unlink(join(this.dir, name));
      this.dirChanged = true;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }

  async sync(also: readonly string[] = []): Promise<void> {
    this.checkOpen();
    for (const name of also) this.unsynced.add(checkName(name));
    for (const name of [...this.unsynced]) {
      const open = this.handles.get(name);
      if (open !== undefined) {
        await open.fh.datasync();
      } else {
        // Closed to stay under MAX_OPEN_FILES: fsync through a new descriptor flushes the
        // same inode's pages.
        try {
          const fh = await fsp.open(join(this.dir, name), 'r');
          try {
            await fh.datasync();
          } finally {
            await fh.close();
          }
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      }
      this.unsynced.delete(name);
    }
    if (this.dirChanged) await this.syncDir();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((h) => h.fh.close()));
  }

  private async syncDir(): Promise<void> {
    await fsyncDir(this.dir);
    this.dirChanged = false;
  }

  private async forget(name: string): Promise<void> {
    const f = this.handles.get(name);
    this.handles.delete(name);
    this.unsynced.delete(name);
    if (f !== undefined) await f.fh.close();
  }

  /** Writes all of `data` at `offset`; a short write continues where it stopped. */
  private async writeAt(
    name: string,
    f: OpenFile,
    offset: number,
    data: Buffer | readonly Buffer[],
  ): Promise<void> {
    let parts = Buffer.isBuffer(data) ? [data] : data.filter((b) => b.length > 0);
    let at = offset;
    let left = parts.reduce((n, b) => n + b.length, 0);
    this.unsynced.add(name);
    while (left > 0) {
      const { bytesWritten } =
        parts.length === 1
          ? await f.fh.write(parts[0], 0, parts[0].length, at)
          : await f.fh.writev(parts, at);
      left -= bytesWritten;
      at += bytesWritten;
      let skip = bytesWritten;
      while (skip > 0 && parts.length > 0) {
        const first = parts[0];
        if (first.length <= skip) {
          skip -= first.length;
          parts = parts.slice(1);
        } else {
          parts = [first.subarray(skip), ...parts.slice(1)];
          skip = 0;
        }
      }
    }
    if (at > f.size) f.size = at;
  }

  private checkOpen(): void {
    if (this.closed) throw new VtlError('ERR_STATE', `${this.label}: cartridge store is closed`);
  }

  private async handle(name: string, create: boolean): Promise<OpenFile> {
    this.checkOpen();
    checkName(name);
    const open = this.handles.get(name);
    if (open !== undefined) {
      this.handles.delete(name);
      this.handles.set(name, open);
      return open;
    }
    let fh: FileHandle;
    try {
      fh = await fsp.open(join(this.dir, name), C.O_RDWR | (create ? C.O_CREAT : 0), 0o644);
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new VtlError('ERR_IMAGE', `${this.label}: file ${name} does not exist`);
      throw err;
    }
    if (create) this.dirChanged = true;
    const f = { fh, size: (await fh.stat()).size };
    this.handles.set(name, f);
    if (this.handles.size > MAX_OPEN_FILES) {
      const [oldest, h] = this.handles.entries().next().value as [string, OpenFile];
      this.handles.delete(oldest);
      await h.fh.close();
    }
    return f;
  }
}

class FileBackend implements ImageBackend {
  constructor(private readonly root: string) {}

  async open(label: string, options: { create: boolean }): Promise<CartridgeStore> {
    const dir = join(this.root, validateLabel(label));
    if (options.create) {
      const made = await fsp.mkdir(dir, { recursive: true });
      // A new cartridge directory must survive power loss like its files: fsync the parent.
      if (made !== undefined) await fsyncDir(this.root);
    } else if (!(await this.exists(label))) {
      throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${label} in ${this.root}`);
    }
    return new FileCartridgeStore(label, dir);
  }

  async list(): Promise<string[]> {
    try {
      const entries = await fsp.readdir(this.root, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory() && isValidLabel(e.name))
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
  }

  async remove(label: string): Promise<void> {
    await fsp.rm(join(this.root, validateLabel(label)), { recursive: true, force: true });
  }

  async exists(label: string): Promise<boolean> {
    try {
      return (await fsp.stat(join(this.root, validateLabel(label)))).isDirectory();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /**
   * One rename(2) of the cartridge directory, then an fsync of the root so the new name
   * survives power loss. rename(2) would silently replace an empty directory at `to`, and
   * Node has no renameat2(RENAME_NOREPLACE), so `to` is checked first; a cartridge created
   * there in between has files by the time it counts and fails the rename (ENOTEMPTY).
   */
  async rename(from: string, to: string): Promise<void> {
    const src = join(this.root, validateLabel(from));
    const dest = join(this.root, validateLabel(to));
    if (!(await this.exists(from)))
      throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${from} in ${this.root}`);
    if (await this.exists(to))
      throw new VtlError('ERR_IMAGE_EXISTS', `cartridge ${to} exists in ${this.root}`);
    try {
      await fsp.rename(src, dest);
    } catch (err) {
      if (isErrno(err, 'ENOTEMPTY') || isErrno(err, 'EEXIST')) {
        throw new VtlError('ERR_IMAGE_EXISTS', `cartridge ${to} exists in ${this.root}`);
      }
      if (isErrno(err, 'ENOENT'))
        throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${from} in ${this.root}`);
      throw err;
    }
    await fsyncDir(this.root);
  }
}

/** A backend keeping each cartridge in `<root>/<LABEL>/`. The root is created on first use. */
export function createFileBackend(root: string): ImageBackend {
  return new FileBackend(root);
}
