/**
 * A real crash: a child process writes, syncs, keeps writing and is killed with SIGKILL in the
 * middle. Reopening must succeed, keep every synced block and read back a clean prefix.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileBackend, openTapeImage } from '../../../src/vtl/image/index.js';
import type { Logger } from '../../../src/util/log.js';
import { block } from './blocks.js';

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
