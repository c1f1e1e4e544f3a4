/**
 * The contract every ImageBackend passes (STYLE.md habit 11): the store operations themselves,
 * then tape semantics, chunking, capacity, crash recovery, overwriting in place and partitions
 * through TapeImage on top of it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VtlError, type VtlErrorCode } from '../../../src/util/errors.js';
import type { CartridgeStore, ImageBackend } from '../../../src/vtl/image/types.js';
import {
  createCartridge,
  openTapeImage,
  type ChunkedTapeImage,
  type TapeImageOptions,
} from '../../../src/vtl/image/index.js';
import { describeTapeSemantics } from './describe-tape-semantics.js';
import { describeOverwrite } from './describe-overwrite.js';
import { describePartitions } from './describe-partitions.js';

export interface BackendFixture {
  backend: ImageBackend;
  cleanup(): Promise<void>;
}

export async function expectVtlError(
  p: Promise<unknown>,
  code: VtlErrorCode,
  message?: RegExp,
): Promise<VtlError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VtlError);
  expect((err as VtlError).code).toBe(code);
  if (message) expect((err as VtlError).message).toMatch(message);
  return err as VtlError;
}

export { block } from './blocks.js';

export interface ImageContext {
  backend: ImageBackend;
  open(label?: string, options?: TapeImageOptions): Promise<ChunkedTapeImage>;
  create(options?: Partial<Parameters<typeof createCartridge>[1]>): Promise<ChunkedTapeImage>;
  store(label?: string): Promise<CartridgeStore>;
}

export function describeImageBackend(name: string, factory: () => Promise<BackendFixture>): void {
  describe(`ImageBackend contract: ${name}`, () => {
    let fx: BackendFixture;
    const opened: { close(): Promise<void> }[] = [];
    const ctx: ImageContext = {
      get backend() {
        return fx.backend;
      },
      async open(label = 'TAPE01', options = {}) {
        const img = await openTapeImage(fx.backend, label, options);
        opened.push({ close: () => img.close().catch(() => undefined) });
        return img;
      },
      async create(options = {}) {
        const label = options.label ?? 'TAPE01';
        await createCartridge(fx.backend, { label, mediaType: 'LTO6', ...options });
        return ctx.open(label, { readAhead: 4096, writeBehind: 8192 });
      },
      async store(label = 'TAPE01') {
        const s = await fx.backend.open(label, { create: false });
        opened.push({ close: () => s.close() });
        return s;
      },
    };

    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      for (const o of opened.splice(0)) await o.close();
      await fx.cleanup();
    });

    describe('CartridgeStore', () => {
      it('opens only existing cartridges unless asked to create, and lists and removes them', async () => {
        await expectVtlError(fx.backend.open('NOPE', { create: false }), 'ERR_IMAGE_NOT_FOUND');
        expect(await fx.backend.exists('NOPE')).toBe(false);
        const s = await fx.backend.open('B00002', { create: true });
        await s.append('x', Buffer.from('1'));
        await s.close();
        const t = await fx.backend.open('A00001', { create: true });
        await t.close();
        expect(await fx.backend.list()).toEqual(['A00001', 'B00002']);
        expect(await fx.backend.exists('B00002')).toBe(true);
        await fx.backend.remove('B00002');
        expect(await fx.backend.exists('B00002')).toBe(false);
        expect(await fx.backend.list()).toEqual(['A00001']);
      });

      it('refuses labels that would escape the backend', async () => {
        await expectVtlError(fx.backend.open('../ETC', { create: true }), 'ERR_LABEL', /path separator/);
        await expectVtlError(fx.backend.remove('..'), 'ERR_LABEL');
        await expectVtlError(fx.backend.exists('a/b'), 'ERR_LABEL');
      });

      it('appends, reads at offsets, truncates, replaces atomically and unlinks', async () => {
        const s = await fx.backend.open('A00001', { create: true });
        expect(await s.size('f')).toBe(-1);
        await s.append('f', Buffer.from('hello '));
        await s.append('f', [Buffer.from('wor'), Buffer.alloc(0), Buffer.from('ld')]);
        expect(await s.size('f')).toBe(11);
        expect((await s.read('f', 6, 5)).toString()).toBe('world');
        expect((await s.read('f', 8, 100)).toString()).toBe('rld');
        expect((await s.read('f', 11, 4)).length).toBe(0);
        await s.truncate('f', 5);
        expect(await s.size('f')).toBe(5);
        await s.append('f', Buffer.from('!'));
        expect((await s.read('f', 0, 100)).toString()).toBe('hello!');
        await s.writeAtomic('meta.json', Buffer.from('{"a":1}'));
        await s.writeAtomic('meta.json', Buffer.from('{"b":2}'));
        expect((await s.read('meta.json', 0, 100)).toString()).toBe('{"b":2}');
        expect(await s.files()).toEqual(['f', 'meta.json']);
        await s.sync();
        await s.unlink('f');
        await s.unlink('f');
        expect(await s.size('f')).toBe(-1);
        await expectVtlError(s.read('f', 0, 1), 'ERR_IMAGE', /file f does not exist/);
        await expectVtlError(s.append('../x', Buffer.from('1')), 'ERR_INVALID_ARGUMENT');
        await s.close();
        await expectVtlError(s.size('meta.json'), 'ERR_STATE');
        const again = await fx.backend.open('A00001', { create: false });
        expect((await again.read('meta.json', 0, 100)).toString()).toBe('{"b":2}');
        expect(await again.files()).toEqual(['meta.json']);
        await again.close();
      });

      it('writes in place at an offset, over existing bytes and past the end', async () => {
        const s = await fx.backend.open('A00001', { create: true });
        expect(typeof s.write).toBe('function');
        await s.write!('f', 0, Buffer.from('abcdefgh'));
        await s.write!('f', 2, [Buffer.from('XY'), Buffer.from('Z')]);
        expect((await s.read('f', 0, 100)).toString()).toBe('abXYZfgh');
        await s.write!('f', 6, Buffer.from('1234'));
        expect(await s.size('f')).toBe(10);
        await s.append('f', Buffer.from('!'));
        expect((await s.read('f', 0, 100)).toString()).toBe('abXYZf1234!');
        await s.truncate('f', 3);
        await s.append('f', Buffer.from('+'));
        expect((await s.read('f', 0, 100)).toString()).toBe('abX+');
        await s.sync(['f']);
        await s.close();
      });

      it('renames a cartridge in one step, refusing a label that exists', async () => {
        const rename = fx.backend.rename?.bind(fx.backend);
        expect(typeof rename).toBe('function');
        if (rename === undefined) return;
        const s = await fx.backend.open('_IMPORT-7', { create: true });
        await s.append('a.img', Buffer.from('payload'));
        await s.writeAtomic('cartridge.json', Buffer.from('{"v":1}'));
        await s.sync();
        await s.close();
        const other = await fx.backend.open('B00002', { create: true });
        await other.append('x', Buffer.from('keep'));
        await other.close();

        await expectVtlError(rename('_IMPORT-7', 'B00002'), 'ERR_IMAGE_EXISTS', /B00002/);
        expect(await fx.backend.list()).toEqual(['B00002', '_IMPORT-7']);
        const kept = await ctx.store('B00002');
        expect((await kept.read('x', 0, 10)).toString()).toBe('keep');
        expect(await kept.files()).toEqual(['x']);

        await rename('_IMPORT-7', 'A00001');
        expect(await fx.backend.list()).toEqual(['A00001', 'B00002']);
        expect(await fx.backend.exists('_IMPORT-7')).toBe(false);
        const moved = await ctx.store('A00001');
        expect(await moved.files()).toEqual(['a.img', 'cartridge.json']);
        expect((await moved.read('a.img', 0, 100)).toString()).toBe('payload');
        await moved.append('a.img', Buffer.from('+'));
        expect((await moved.read('a.img', 0, 100)).toString()).toBe('payload+');

        await expectVtlError(rename('_IMPORT-7', 'C00003'), 'ERR_IMAGE_NOT_FOUND', /_IMPORT-7/);
        await expectVtlError(rename('A00001', '../C'), 'ERR_LABEL');
        await expectVtlError(rename('A00001', 'A00001'), 'ERR_IMAGE_EXISTS');
        expect(await fx.backend.list()).toEqual(['A00001', 'B00002']);
      });

      it('keeps a read result unchanged when the file is cut and rewritten', async () => {
        const s = await fx.backend.open('A00001', { create: true });
        await s.append('f', Buffer.from('abcdef'));
        const r = await s.read('f', 2, 3);
        await s.truncate('f', 1);
        await s.append('f', Buffer.from('XYZXYZ'));
        expect(r.toString()).toBe('cde');
        await s.close();
      });
    });

    describe('cartridges', () => {
      it('creates cartridges with capacities by media type and refuses duplicates', async () => {
        const meta = await createCartridge(fx.backend, { label: 'A00001L9', mediaType: 'LTO9' });
        expect(meta).toMatchObject({
          formatVersion: 1,
          capacity: 18e12,
          earlyWarning: 18e10,
          chunkSize: 2 ** 30,
        });
        const m5 = await createCartridge(fx.backend, {
          label: 'A00002L5',
          mediaType: 'LTO5',
          chunkSize: 4096,
        });
        expect(m5).toMatchObject({ capacity: 1.5e12, earlyWarning: 1.5e10, chunkSize: 4096 });
        await expectVtlError(
          createCartridge(fx.backend, { label: 'A00001L9', mediaType: 'LTO9' }),
          'ERR_IMAGE_EXISTS',
        );
        await expectVtlError(createCartridge(fx.backend, { label: 'x/y', mediaType: 'LTO9' }), 'ERR_LABEL');
        await expectVtlError(
          createCartridge(fx.backend, { label: 'C1', mediaType: 'LTO9', chunkSize: 2 ** 33 }),
          'ERR_INVALID_ARGUMENT',
          /chunkSize 8589934592 is not an integer in 64\.\.4294967295/,
        );
        await expectVtlError(openTapeImage(fx.backend, 'MISSING'), 'ERR_IMAGE_NOT_FOUND');
        const img = await ctx.open('A00001L9');
        expect(img.meta).toEqual(meta);
        expect(img.position()).toEqual({
          partition: 0,
          objectNumber: 0,
          fileNumber: 0,
          bop: true,
          eod: true,
          beyondEarlyWarning: false,
        });
      });

      it('refuses a damaged cartridge.json naming the field', async () => {
        await createCartridge(fx.backend, { label: 'TAPE01', mediaType: 'LTO7' });
        const s = await ctx.store();
        const meta = JSON.parse((await s.read('cartridge.json', 0, 1 << 16)).toString()) as Record<
          string,
          unknown
        >;
        await s.writeAtomic('cartridge.json', Buffer.from(JSON.stringify({ ...meta, chunkSize: -1 })));
        await expectVtlError(
          ctx.open(),
          'ERR_IMAGE',
          /TAPE01: cartridge\.json: chunkSize -1 is not an integer/,
        );
        await s.writeAtomic('cartridge.json', Buffer.from(JSON.stringify({ ...meta, formatVersion: 2 })));
        await expectVtlError(ctx.open(), 'ERR_IMAGE', /formatVersion 2 is not supported/);
        await s.writeAtomic('cartridge.json', Buffer.from('{'));
        await expectVtlError(ctx.open(), 'ERR_IMAGE', /cartridge\.json: not valid JSON/);
        await s.unlink('cartridge.json');
        await expectVtlError(ctx.open(), 'ERR_IMAGE', /cartridge\.json is missing/);
      });
    });

    describeTapeSemantics(ctx);
    describeOverwrite(ctx);
    describePartitions(ctx);
  });
}
