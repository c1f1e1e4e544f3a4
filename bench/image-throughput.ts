/**
 * Throughput of the tape image with the file backend (not a test): per block size, a first
 * write pass over a fresh cartridge, then REWIND and a second write pass over the same tape (what
 * a host does when it reuses a scratch tape, and what every bench round after the first does),
 * then a sequential read. The second pass is the one that shows whether chunk files are
 * overwritten in place (page cache reused) or cut and grown again (fresh pages each pass).
 *
 *   npx tsx bench/image-throughput.ts [dir] [MiB per pass] [passes]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCartridge, createFileBackend, openTapeImage } from '../src/vtl/image/index.js';

const base = process.argv[2] ?? tmpdir();
const totalMiB = Number(process.argv[3] ?? 2048);
const passes = Math.max(1, Number(process.argv[4] ?? 3));

const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

async function run(blockSize: number): Promise<void> {
  const root = mkdtempSync(join(base, 'vtl-bench-'));
  try {
    const backend = createFileBackend(root);
    await createCartridge(backend, { label: 'BENCH01', mediaType: 'LTO9' });
    const image = await openTapeImage(backend, 'BENCH01');
    const blocks = Math.floor((totalMiB * 1024 * 1024) / blockSize);
    const block = Buffer.alloc(blockSize, 0x5a);
    const mb = (blocks * blockSize) / 1e6;
    const line = (what: string, sec: number): string =>
      `${String(blockSize / 1024).padStart(4)} KiB ${what}: ${(mb / sec).toFixed(0).padStart(6)} MB/s ${(
        blocks / sec
      )
        .toFixed(0)
        .padStart(8)} blocks/s`;
    for (let pass = 1; pass <= passes; pass++) {
      // REWIND then write from BOP: the tape is overwritten from its start, as a host reusing it.
      await image.rewind();
      let t = process.hrtime.bigint();
      for (let i = 0; i < blocks; i++) await image.writeBlock(block);
      await image.writeFilemarks(0); // flush the write-behind buffer, no fsync
      const writeSec = seconds(t);
      t = process.hrtime.bigint();
      await image.sync();
      console.log(line(`write pass ${pass}`, writeSec) + `   (then sync: ${seconds(t).toFixed(2)} s)`);
    }
    await image.rewind();
    const t = process.hrtime.bigint();
    let bytes = 0;
    for (;;) {
      const r = await image.read({ transient: true });
      if (r.kind !== 'data') break; // EOD
      bytes += r.data.length;
    }
    console.log(line('read        ', seconds(t)));
    await image.close();
    if (bytes !== blocks * blockSize)
      throw new Error(`read back ${bytes} bytes, wrote ${blocks * blockSize}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

for (const size of [4096, 262144]) await run(size);
