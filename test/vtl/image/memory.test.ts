/**
 * Memory must not grow with the tape: after 200,000 blocks the image holds no structure with an
 * entry per block (only the filemark list, one size per chunk, and fixed-size buffers).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createCartridge,
  createFileBackend,
  openTapeImage,
  type ChunkedTapeImage,
} from '../../../src/vtl/image/index.js';
import { block } from './describe-image-backend.js';

interface Reach {
  largestCollection: number;
  bufferBytes: number;
}

/** Walks everything reachable from the image except its store (which holds the data by design). */
function reach(img: ChunkedTapeImage): Reach {
  const skip = (img as unknown as { store: object }).store;
  const seen = new Set<unknown>([skip]);
  const buffers = new Set<ArrayBufferLike>();
  const out: Reach = { largestCollection: 0, bufferBytes: 0 };
  const stack: unknown[] = [img];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!buffers.has(v.buffer)) {
        buffers.add(v.buffer);
        out.bufferBytes += v.buffer.byteLength;
      }
      continue;
    }
    if (Array.isArray(v)) out.largestCollection = Math.max(out.largestCollection, v.length);
    if (v instanceof Map || v instanceof Set) {
      out.largestCollection = Math.max(out.largestCollection, v.size);
      for (const x of v instanceof Map ? [...v.keys(), ...v.values()] : v) stack.push(x);
    }
    for (const key of Object.getOwnPropertyNames(v)) stack.push((v as Record<string, unknown>)[key]);
  }
  return out;
}

describe('memory use', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it('stays bounded while writing, locating and reading 200,000 blocks', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vtl-mem-'));
    roots.push(root);
    const backend = createFileBackend(root);
    await createCartridge(backend, { label: 'BIG001', mediaType: 'LTO9', chunkSize: 4 << 20 });
    const img = await openTapeImage(backend, 'BIG001');
    const data = block(1, 64);
    for (let i = 0; i < 200_000; i++) {
      await img.writeBlock(data);
      if (i % 2000 === 1999) await img.writeFilemarks(1);
    }
    const afterWrite = reach(img);
    expect(img.objectCount).toBe(200_100);
    expect(img.footprint()).toMatchObject({ filemarks: 100, chunks: 5 });
    // Neighbouring LOCATEs and reads hit the index window and the read-ahead window only.
    for (const n of [150_000, 3, 199_999, 77_777]) {
      await img.locate(n);
      expect((await img.read()).kind).not.toBe('eod');
    }
    await img.rewind();
    for (let i = 0; i < 50_000; i++) await img.read();
    const afterRead = reach(img);
    for (const r of [afterWrite, afterRead]) {
      // The walker does reach private state: the filemark list (100 entries) is the largest.
      expect(r.largestCollection).toBe(100);
      expect(r.bufferBytes).toBeLessThan(24 << 20);
    }
    expect(img.footprint().indexCacheEntries).toBeLessThanOrEqual(256);
    expect(img.position()).toMatchObject({ objectNumber: 50_000, fileNumber: 24 });
    await img.close();
  }, 120_000);
});
