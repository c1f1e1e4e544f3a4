/**
 * A real crash: a child process writes, syncs, keeps writing and is killed with SIGKILL in the
 * middle. Reopening must succeed, keep every synced block and read back a clean prefix — also
 * when the tape was being overwritten in place (a second, shorter pass over a longer first one)
 * and when it has two partitions.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chunkFileName,
  createFileBackend,
  indexFileName,
  openTapeImage,
  type ChunkedTapeImage,
} from '../../../src/vtl/image/index.js';
import type { Logger } from '../../../src/util/log.js';
import { block } from './blocks.js';
import { PASS2_SEED, size } from './kill-scenario-child.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('kill -9', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it('keeps synced data and cuts the torn tail', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vtl-kill-'));
    roots.push(root);
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'kill-child.ts'), root], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let synced = -1;
    let wrote = 0;
    await new Promise<void>((resolve, reject) => {
      let text = '';
      child.on('error', reject);
      child.on('exit', (code, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}`)),
      );
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        const s = /SYNCED (\d+)/.exec(text);
        if (s) synced = Number(s[1]);
        const w = [...text.matchAll(/WROTE (\d+)/g)].pop();
        if (w) wrote = Number(w[1]);
        if (wrote >= 20_000) child.kill('SIGKILL');
      });
    });
    expect(synced).toBe(501);
    const repairs: unknown[] = [];
    const logger = {
      warn: (_m: string, f?: Record<string, unknown>) => repairs.push(f?.repair),
    } as unknown as Logger;
    const img = await openTapeImage(createFileBackend(root), 'KILL01', { logger });
    expect(img.objectCount).toBeGreaterThanOrEqual(20_000 - 100);
    let n = 0;
    for (;;) {
      const r = await img.read();
      if (r.kind === 'eod') break;
      if (n === 500) expect(r.kind).toBe('filemark');
      else expect(r.kind === 'data' && r.data.equals(block(n, 1000 + (n % 97)))).toBe(true);
      n++;
    }
    expect(n).toBe(img.objectCount);
    // A torn record at the tail (the kill can land between two appends of one record) is cut;
    // any cut lies past everything that was synced.
    for (const r of repairs.filter((x) => String(x).startsWith('cut the data'))) {
      const end = /the tape ends at object (\d+)/.exec(String(r));
      expect(end, String(r)).not.toBeNull();
      expect(Number(end![1])).toBeGreaterThanOrEqual(synced);
    }
    await img.close();
  }, 60_000);
});

/** Runs kill-scenario-child.ts and kills it with SIGKILL once `killWhen` accepts its output. */
async function runAndKill(
  args: string[],
  killWhen: (out: { synced: number; wrote: number; waiting: boolean }) => boolean,
): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'kill-scenario-child.ts'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen = { synced: -1, wrote: 0, waiting: false };
  await new Promise<void>((resolve, reject) => {
    let text = '';
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}`)),
    );
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      const s = /SYNCED (\d+)/.exec(text);
      if (s) seen.synced = Number(s[1]);
      const w = [...text.matchAll(/WROTE (\d+)/g)].pop();
      if (w) seen.wrote = Number(w[1]);
      seen.waiting = text.includes('WAITING');
      if (killWhen(seen)) child.kill('SIGKILL');
    });
  });
  return seen.synced;
}

/** Collects the repairs a reopen logs. */
function repairLog(): { logger: Logger; repairs: string[] } {
  const repairs: string[] = [];
  const logger = {
    warn: (_m: string, f?: Record<string, unknown>) => repairs.push(String(f?.repair)),
  } as unknown as Logger;
  return { logger, repairs };
}

describe('kill -9 while overwriting a tape (logical cut, write epochs)', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });
  const tempRoot = async (): Promise<string> => {
    const root = await mkdtemp(join(tmpdir(), 'vtl-kill-'));
    roots.push(root);
    return root;
  };

  /** Reads the whole tape: every block must be pass 2's, in order; returns the object count. */
  async function expectPass2Only(img: ChunkedTapeImage): Promise<number> {
    let n = 0;
    for (;;) {
      const r = await img.read();
      if (r.kind === 'eod') break;
      if (n === 1000) expect(r.kind, `object ${n}`).toBe('filemark');
      else
        expect(r.kind === 'data' && r.data.equals(block(PASS2_SEED + n, size(n))), `object ${n}`).toBe(true);
      n++;
    }
    return n;
  }

  it('a shorter second pass, synced, then kill -9: the tape ends exactly at pass 2 end', async () => {
    const root = await tempRoot();
    const synced = await runAndKill(['overwrite', root, 'stop'], (o) => o.waiting);
    expect(synced).toBe(1001);
    const { logger, repairs } = repairLog();
    const img = await openTapeImage(createFileBackend(root), 'KILL02', { logger });
    expect(repairs).toEqual([]);
    expect(img.objectCount).toBe(1001);
    expect(await expectPass2Only(img)).toBe(1001);
    // Pass 1's tail is still on disk (it is overwritten by the next pass, not cut each time).
    expect(img.staleBytes()[0]).toBeGreaterThan(1_000_000);
    await img.close();
  }, 60_000);

  it('kill -9 while pass 2 goes on past its sync: only pass 2 records, at least up to the sync', async () => {
    const root = await tempRoot();
    const synced = await runAndKill(['overwrite', root, 'continue'], (o) => o.wrote >= 2400);
    const { logger, repairs } = repairLog();
    const img = await openTapeImage(createFileBackend(root), 'KILL02', { logger });
    expect(img.objectCount).toBeGreaterThanOrEqual(2400 - 100);
    expect(await expectPass2Only(img)).toBe(img.objectCount);
    for (const r of repairs.filter((x) => x.startsWith('cut the data'))) {
      expect(Number(/the tape ends at object (\d+)/.exec(r)?.[1])).toBeGreaterThanOrEqual(synced);
    }
    await img.close();
  }, 60_000);

  for (const after of [0, 5]) {
    it(`a torn record ${after} records after pass 2's sync cuts the tape there, never before the sync`, async () => {
      const root = await tempRoot();
      const synced = await runAndKill(['overwrite', root, 'continue'], (o) => o.wrote >= 1400);
      // Tear one record written after the sync (its last bytes never reached the disk). The
      // index is read directly: opening the image would recover and sync the unsynced records.
      const torn = synced + after;
      const store = await createFileBackend(root).open('KILL02', { create: false });
      expect(await store.size(indexFileName('KILL02'))).toBeGreaterThan(16 + (torn + 1) * 32);
      const idx = await store.read(indexFileName('KILL02'), 16 + torn * 32, 32);
      const chunk = chunkFileName('KILL02', idx.readUInt32BE(0));
      const end = idx.readUInt32BE(4) + 32 + idx.readUInt32BE(8);
      await store.write!(chunk, end - 100, Buffer.alloc(100, 0));
      await store.close();
      const { logger, repairs } = repairLog();
      const img = await openTapeImage(createFileBackend(root), 'KILL02', { logger });
      expect(img.objectCount).toBe(torn);
      expect(repairs[0]).toMatch(/^re-checking \d+ records written after the last sync$/);
      // At the synced point the tape simply ends (what follows is not part of it); past it
      // the torn record and everything after it are cut off.
      const cuts = repairs.filter((r) => r.startsWith('cut the data'));
      if (after === 0) expect(cuts).toEqual([]);
      else
        expect(cuts).toEqual([expect.stringMatching(new RegExp(`CRC32C mismatch.*ends at object ${torn}$`))]);
      expect(await expectPass2Only(img)).toBe(torn);
      // Writing again continues pass 2 (a new epoch over the torn bytes); reopening shows it.
      await img.writeBlock(block(7, 77));
      await img.close();
      const again = await openTapeImage(createFileBackend(root), 'KILL02');
      expect(again.objectCount).toBe(torn + 1);
      await again.locate(torn);
      const last = await again.read();
      expect(last.kind === 'data' && last.data.equals(block(7, 77))).toBe(true);
      expect(await again.read()).toEqual({ kind: 'eod' });
      await again.close();
    }, 60_000);
  }

  it('two partitions: synced data of both survives kill -9; partition 1 keeps a clean prefix', async () => {
    const root = await tempRoot();
    const synced = await runAndKill(['partitions', root], (o) => o.wrote >= 1000);
    expect(synced).toBe(300);
    const img = await openTapeImage(createFileBackend(root), 'KILL03');
    expect(img.partitionCount).toBe(2);
    expect(img.partitionCapacities()).toEqual([1e9, 2e9]);
    expect(img.objectCount).toBe(300);
    for (let n = 0; n < 300; n++) {
      const r = await img.read();
      expect(r.kind === 'data' && r.data.equals(block(n, size(n))), `p0 object ${n}`).toBe(true);
    }
    expect(await img.read()).toEqual({ kind: 'eod' });
    await img.locate(0, 1);
    expect(img.objectCount).toBeGreaterThanOrEqual(1000 - 100);
    for (let n = 0; n < img.objectCount; n++) {
      const r = await img.read();
      expect(r.kind === 'data' && r.data.equals(block(1000 + n, size(n))), `p1 object ${n}`).toBe(true);
    }
    expect(img.position()).toMatchObject({ partition: 1, eod: true });
    await img.close();
  }, 60_000);
});
