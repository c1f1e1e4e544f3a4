/**
 * Record flags and key id through the TapeImage API (record.ts: bit 0 compressed, bit 1
 * encrypted; key id u32): what writeBlock records, read returns, after a reopen too, and what
 * is refused. The image never interprets the payload.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createCartridge,
  createFileBackend,
  createMemoryBackend,
  openTapeImage,
  RecordFlag,
  setWriteProtected,
} from '../../../src/vtl/image/index.js';
import type { ImageBackend } from '../../../src/vtl/image/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtl-flags-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const [name, make] of [
  ['memory', (): ImageBackend => createMemoryBackend()],
  ['file', (): ImageBackend => createFileBackend(dir)],
] as const) {
  describe(`${name} backend`, () => {
    it('flags and key id are recorded per block and returned by read, also after a reopen', async () => {
      const backend = make();
      await createCartridge(backend, { label: 'FLAG01L8', mediaType: 'LTO8' });
      let image = await openTapeImage(backend, 'FLAG01L8');
      await image.writeBlock(Buffer.from('plain'));
      await image.writeBlock(Buffer.from('zstd'), { flags: RecordFlag.compressed });
      await image.writeBlock(Buffer.from('sealed'), {
        flags: RecordFlag.compressed | RecordFlag.encrypted,
        keyId: 0xdeadbeef,
      });
      await image.close();
      image = await openTapeImage(backend, 'FLAG01L8');
      expect(await image.read()).toEqual({ kind: 'data', data: Buffer.from('plain') });
      expect(await image.read()).toEqual({ kind: 'data', data: Buffer.from('zstd'), flags: 1, keyId: 0 });
      expect(await image.read()).toEqual({
        kind: 'data',
        data: Buffer.from('sealed'),
        flags: 3,
        keyId: 0xdeadbeef,
      });
      expect(image.bytesUsed).toBe(5 + 4 + 6);
      await expect(image.writeBlock(Buffer.alloc(1), { flags: 0x80 })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      });
      await expect(image.writeBlock(Buffer.alloc(1), { keyId: -1 })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      });
      await image.close();
    });

    it('setWriteProtected flips the tab in cartridge.json; writes are then refused', async () => {
      const backend = make();
      await createCartridge(backend, { label: 'FLAG02L8', mediaType: 'LTO8' });
      expect((await setWriteProtected(backend, 'FLAG02L8', true)).writeProtected).toBe(true);
      const image = await openTapeImage(backend, 'FLAG02L8');
      expect(image.meta.writeProtected).toBe(true);
      await expect(image.writeBlock(Buffer.alloc(1))).rejects.toMatchObject({ code: 'ERR_STATE' });
      await image.close();
      await expect(setWriteProtected(backend, 'NONE01L8', true)).rejects.toMatchObject({
        code: 'ERR_IMAGE_NOT_FOUND',
      });
    });
  });
}
