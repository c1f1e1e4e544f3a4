/**
 * Read-ahead window reuse: `transient` reads may be served from memory the image fills again
 * (no new buffer per window), while records read without it keep their bytes however much is
 * read after them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCartridge, createFileBackend, openTapeImage } from '../../../src/vtl/image/index.js';
import type { ReadResult, TapeImage } from '../../../src/vtl/image/types.js';
import { block } from './blocks.js';

const BLOCK = 1000;
const WINDOW = 4096; // four records (1032 bytes each on disk) per window

function dataOf(r: ReadResult): Buffer {
  if (r.kind !== 'data') throw new Error(`expected data, got ${r.kind}`);
  return r.data;
}

describe('read-ahead windows', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  async function tape(blocks: number): Promise<TapeImage> {
    const root = await mkdtemp(join(tmpdir(), 'vtl-ra-'));
    roots.push(root);
    const backend = createFileBackend(root);
    await createCartridge(backend, { label: 'RA0001', mediaType: 'LTO8', chunkSize: 1 << 20 });
    const img = await openTapeImage(backend, 'RA0001', { readAhead: WINDOW, writeBehind: 8192 });
    for (let i = 0; i < blocks; i++) await img.writeBlock(block(i, BLOCK));
    await img.rewind();
    return img;
  }

  it('serves transient reads from two alternating buffers', async () => {
    const img = await tape(40);
    const memory = new Set<ArrayBufferLike>();
    for (let i = 0; i < 40; i++) {
      const data = dataOf(await img.read({ transient: true }));
      expect(data.equals(block(i, BLOCK))).toBe(true);
      memory.add(data.buffer);
    }
    // Ten windows, two buffers (a fresh buffer per window before).
    expect(memory.size).toBe(2);
    await img.close();
  });

  it('a transient record stays intact through the next read', async () => {
    const img = await tape(40);
    let previous = dataOf(await img.read({ transient: true }));
    for (let i = 1; i < 40; i++) {
      const data = dataOf(await img.read({ transient: true }));
      expect(previous.equals(block(i - 1, BLOCK))).toBe(true);
      expect(data.equals(block(i, BLOCK))).toBe(true);
      previous = data;
    }
    await img.close();
  });

  it('never refills a window a kept record came from', async () => {
    const img = await tape(40);
    const kept: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      // Every third read is an ordinary one; the rest are transient and fill windows around it.
      const r = await img.read(i % 3 === 0 ? undefined : { transient: true });
      if (i % 3 === 0) kept.push(dataOf(r));
    }
    kept.forEach((data, k) => expect(data.equals(block(k * 3, BLOCK))).toBe(true));
    await img.close();
  });

  it('keeps ordinary reads valid after any amount of reading', async () => {
    const img = await tape(40);
    const all: Buffer[] = [];
    for (let i = 0; i < 40; i++) all.push(dataOf(await img.read()));
    await img.rewind();
    for (let i = 0; i < 40; i++) await img.read({ transient: true });
    all.forEach((data, i) => expect(data.equals(block(i, BLOCK))).toBe(true));
    await img.close();
  });
});
