/**
 * The import side of the export stream: writing decoded plaintext back into the cartridge's
 * files (manifest order, each file filled to its recorded size), and, after a restart, cutting
 * the temporary cartridge back to a chunk boundary that is wholly on disk so the import goes on
 * from there instead of from the first chunk.
 *
 * Why a size check suffices on resume: a chunk is marked verified in the job record only after
 * its plaintext passed the manifest's SHA-256 and the files were fsynced (runImport), so every
 * byte before that chunk's end is durable and was checked. What a stop can leave behind is a
 * chunk applied but not recorded, or one half written: bytes past the last recorded boundary,
 * which are cut off. A file shorter than the record says (lost by a broken disk or a hand)
 * moves the resume point back to the last boundary still wholly present.
 */
import type { CartridgeStore } from '../vtl/image/types.js';
import type { ChunkRecord, FileEntry } from './job-store.js';
import { MigrationError } from './remote.js';

/** Writes the export stream back into files, in manifest order. */
export class StreamWriter {
  private i = 0;
  private written = 0;

  constructor(
    private readonly store: CartridgeStore,
    private readonly files: readonly FileEntry[],
  ) {}

  /**
   * Continues at stream offset `at` (a boundary `rollBack` returned): the files before it are
   * complete on disk, the one holding it has `at - offset` bytes.
   */
  resumeAt(at: number): void {
    if (at === 0) return;
    let i = 0;
    while (i < this.files.length && this.files[i].offset + this.files[i].size <= at) i++;
    this.i = i;
    this.written = i < this.files.length ? at - this.files[i].offset : 0;
  }

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

/**
 * Makes the temporary cartridge hold exactly the stream up to the end of a recorded chunk and
 * returns how many leading chunks that is (0: nothing usable, start over). `verified` is the
 * number of leading chunks the job record marks verified. Files past the boundary are cut or
 * removed, files the manifest does not name are removed, and the result is synced.
 */
export async function rollBack(
  store: CartridgeStore,
  files: readonly FileEntry[],
  chunks: readonly ChunkRecord[],
  verified: number,
): Promise<{ chunks: number; at: number }> {
  const sizes = new Map<string, number>();
  for (const f of files) sizes.set(f.name, await store.size(f.name));
  // The stream prefix on disk: files complete in manifest order, up to the first short one.
  // An empty file not there yet is created when the writer passes it, so it counts as present.
  let present = 0;
  for (const f of files) {
    const size = sizes.get(f.name) ?? -1;
    if (size >= f.size || f.size === 0) {
      present = f.offset + f.size;
      continue;
    }
    present = f.offset + Math.max(size, 0);
    break;
  }
  let k = verified;
  while (k > 0 && chunks[k - 1].plainOffset + chunks[k - 1].plainLength > present) k--;
  if (k === 0) return { chunks: 0, at: 0 };
  const at = chunks[k - 1].plainOffset + chunks[k - 1].plainLength;

  const named = new Set(files.map((f) => f.name));
  for (const name of await store.files()) if (!named.has(name)) await store.unlink(name);
  for (const f of files) {
    const size = sizes.get(f.name) ?? -1;
    if (f.offset + f.size <= at) {
      // Complete before the boundary (an empty file exactly at it was passed by the writer).
      if (size < 0) await store.writeAtomic(f.name, Buffer.alloc(0));
      else if (size > f.size) await store.truncate(f.name, f.size);
      continue;
    }
    const keep = Math.max(0, at - f.offset);
    if (keep === 0) await store.unlink(f.name);
    else if (size !== keep) await store.truncate(f.name, keep);
  }
  await store.sync();
  return { chunks: k, at };
}
