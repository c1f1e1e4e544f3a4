/**
 * Throughput of the tape image with the file backend (not a test): sequential writes then
 * sequential reads of 4 KiB and 256 KiB blocks on a temporary directory.
 *
 *   npx tsx bench/image-throughput.ts [dir] [MiB per run]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCartridge, createFileBackend, openTapeImage } from '../src/vtl/image/index.js';

const base = process.argv[2] ?? tmpdir();
const totalMiB = Number(process.argv[3] ?? 2048);

async function run(blockSize: number): Promise<void> {
  const root = mkdtempSync(join(base, 'vtl-bench-'));
  try {
    const backend = createFileBackend(root);
    await createCartridge(backend, { label: 'BENCH01', mediaType: 'LTO9' });
    const image = await openTapeImage(backend, 'BENCH01');
    const blocks = Math.floor((totalMiB * 1024 * 1024) / blockSize);
    const block = Buffer.alloc(blockSize, 0x5a);
    let t = process.hrtime.bigint();
    for (let i = 0; i < blocks; i++) await image.writeBlock(block);
    await image.writeFilemarks(0); // flush the write-behind buffer, no fsync
    const writeSec = Number(process.hrtime.bigint() - t) / 1e9;
    t = process.hrtime.bigint();
    await image.sync();
    const syncSec = Number(process.hrtime.bigint() - t) / 1e9;
    await image.rewind();
    t = process.hrtime.bigint();
    let bytes = 0;
    for (;;) {
      const r = await image.read();
      if (r.kind !== 'data') break; // EOD
      bytes += r.data.length;
    }
    const readSec = Number(process.hrtime.bigint() - t) / 1e9;
    await image.close();
    const mb = (blocks * blockSize) / 1e6;
    const line = (what: string, sec: number): string =>
      `${String(blockSize / 1024).padStart(4)} KiB ${what}: ${(mb / sec).toFixed(0).padStart(6)} MB/s ${(
        blocks / sec
      )
        .toFixed(0)
        .padStart(8)} blocks/s`;
    console.log(line('write', writeSec) + `   (then sync: ${syncSec.toFixed(2)} s)`);
    console.log(line('read ', readSec));
    if (bytes !== blocks * blockSize)
      throw new Error(`read back ${bytes} bytes, wrote ${blocks * blockSize}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

for (const size of [4096, 262144]) await run(size);
