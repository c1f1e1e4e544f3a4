/**
 * A real backend that keeps every cartridge's files in Buffers: the same CartridgeStore
 * semantics as the file backend (it passes the same contract suite), for tests and for
 * embedders that want throwaway cartridges. Contents survive close/open within one backend
 * instance; `sync` has nothing to make durable.
 */
import { VtlError } from '../../util/errors.js';
import type { CartridgeStore, ImageBackend } from './types.js';
import { validateLabel } from './label.js';

/** A growable byte array: appends amortise to one copy per byte. */
class MemFile {
  buf = Buffer.alloc(0);
  length = 0;

  append(parts: readonly Buffer[]): void {
    this.write(this.length, parts);
  }

  /** Writes at `offset`; a gap before it (offset past the end) reads as zeros. */
  write(offset: number, parts: readonly Buffer[]): void {
    const end = offset + parts.reduce((n, b) => n + b.length, 0);
    if (end > this.buf.length) {
      const next = Buffer.alloc(Math.max(end, this.buf.length * 2, 4096));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    let at = offset;
    for (const p of parts) at += p.copy(this.buf, at);
    this.length = Math.max(this.length, end);
  }
}

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

/** Runs `fn` now; its result or exception becomes the promise's outcome. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()));
}

class MemoryCartridgeStore implements CartridgeStore {
  private closed = false;

  constructor(
    readonly label: string,
    private readonly files_: Map<string, MemFile>,
  ) {}

  files(): Promise<string[]> {
    return this.op(() => [...this.files_.keys()].sort());
  }

  size(name: string): Promise<number> {
    return this.op(() => this.files_.get(checkName(name))?.length ?? -1);
  }

  read(name: string, offset: number, length: number): Promise<Buffer> {
    return this.op(() => {
      const f = this.file(name);
      const end = Math.min(f.length, offset + length);
      // A copy: later truncates and appends reuse the same bytes.
      return end > offset ? Buffer.from(f.buf.subarray(offset, end)) : Buffer.alloc(0);
    });
  }

  append(name: string, data: Buffer | readonly Buffer[]): Promise<void> {
    return this.op(() => {
      let f = this.files_.get(checkName(name));
      if (f === undefined) this.files_.set(name, (f = new MemFile()));
      f.append(Buffer.isBuffer(data) ? [data] : data);
    });
  }

  write(name: string, offset: number, data: Buffer | readonly Buffer[]): Promise<void> {
    return this.op(() => {
      let f = this.files_.get(checkName(name));
      if (f === undefined) this.files_.set(name, (f = new MemFile()));
      f.write(offset, Buffer.isBuffer(data) ? [data] : data);
    });
  }

  truncate(name: string, length: number): Promise<void> {
    return this.op(() => {
      const f = this.file(name);
      if (length > f.length) {
        f.append([Buffer.alloc(length - f.length)]);
      } else {
        f.buf.fill(0, length, f.length);
        f.length = length;
      }
    });
  }

  writeAtomic(name: string, data: Buffer): Promise<void> {
    return this.op(() => {
      const f = new MemFile();
      f.append([data]);
      this.files_.set(checkName(name), f);
    });
  }

  unlink(name: string): Promise<void> {
    return this.op(() => {
      this.files_.delete(checkName(name));
    });
  }

  sync(also: readonly string[] = []): Promise<void> {
    return this.op(() => {
      for (const name of also) checkName(name);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private file(name: string): MemFile {
    const f = this.files_.get(checkName(name));
    if (f === undefined) throw new VtlError('ERR_IMAGE', `${this.label}: file ${name} does not exist`);
    return f;
  }

  private op<T>(fn: () => T): Promise<T> {
    return settle(() => {
      if (this.closed) throw new VtlError('ERR_STATE', `${this.label}: cartridge store is closed`);
      return fn();
    });
  }
}

class MemoryBackend implements ImageBackend {
  private readonly cartridges = new Map<string, Map<string, MemFile>>();

  open(label: string, options: { create: boolean }): Promise<CartridgeStore> {
    return settle(() => {
      validateLabel(label);
      let files = this.cartridges.get(label);
      if (files === undefined) {
        if (!options.create) throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${label} in memory`);
        files = new Map<string, MemFile>();
        this.cartridges.set(label, files);
      }
      return new MemoryCartridgeStore(label, files);
    });
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.cartridges.keys()].sort());
  }

  remove(label: string): Promise<void> {
    return settle(() => {
      this.cartridges.delete(validateLabel(label));
    });
  }

  exists(label: string): Promise<boolean> {
    return settle(() => this.cartridges.has(validateLabel(label)));
  }

  /** Moves the cartridge's file map to the new label (the files are not copied). */
  rename(from: string, to: string): Promise<void> {
    return settle(() => {
      const files = this.cartridges.get(validateLabel(from));
      validateLabel(to);
      if (files === undefined) throw new VtlError('ERR_IMAGE_NOT_FOUND', `no cartridge ${from} in memory`);
      if (this.cartridges.has(to)) throw new VtlError('ERR_IMAGE_EXISTS', `cartridge ${to} exists in memory`);
      this.cartridges.delete(from);
      this.cartridges.set(to, files);
    });
  }
}

export function createMemoryBackend(): ImageBackend {
  return new MemoryBackend();
}
