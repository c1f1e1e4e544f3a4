/**
 * Child process for kill.test.ts scenarios; prints SYNCED <objects> once its data is synced,
 * then either waits or keeps writing (never synced) until it is killed with SIGKILL.
 *
 *   overwrite <root> <stop|continue>: pass 1 of 3000 blocks and a filemark, synced; REWIND;
 *     pass 2 of 1000 blocks (same sizes, so pass 1's records line up behind it with valid
 *     CRCs and the very object numbers pass 2 would give them) and a filemark, synced.
 *   partitions <root>: two partitions; 300 blocks in each, synced; then more blocks in
 *     partition 1.
 */
import { createCartridge, createFileBackend, openTapeImage } from '../../../src/vtl/image/index.js';
import { block } from './blocks.js';

export const PASS2_SEED = 100_000;
export const size = (n: number): number => 1000 + (n % 97);

const [mode, root, then] = process.argv.slice(2);
const backend = createFileBackend(root);

if (mode === 'overwrite') {
  await createCartridge(backend, { label: 'KILL02', mediaType: 'LTO8', chunkSize: 256 * 1024 });
  const img = await openTapeImage(backend, 'KILL02', { writeBehind: 64 * 1024 });
  for (let n = 0; n < 3000; n++) await img.writeBlock(block(n, size(n)));
  await img.writeFilemarks(1);
  await img.sync();
  await img.rewind();
  let n = 0;
  for (; n < 1000; n++) await img.writeBlock(block(PASS2_SEED + n, size(n)));
  await img.writeFilemarks(1);
  n++;
  await img.sync();
  process.stdout.write(`SYNCED ${n}\n`);
  if (then === 'continue') {
    for (;;) {
      await img.writeBlock(block(PASS2_SEED + n, size(n)));
      n++;
      if (n % 200 === 0) process.stdout.write(`WROTE ${n}\n`);
    }
  }
} else if (mode === 'partitions') {
  await createCartridge(backend, { label: 'KILL03', mediaType: 'LTO8', chunkSize: 256 * 1024 });
  const img = await openTapeImage(backend, 'KILL03', { writeBehind: 64 * 1024 });
  await img.format([1e9, 2e9]);
  for (const p of [0, 1]) {
    await img.locate(0, p);
    for (let n = 0; n < 300; n++) await img.writeBlock(block(p * 1000 + n, size(n)));
  }
  await img.sync();
  process.stdout.write(`SYNCED 300\n`);
  for (let n = 300; ; n++) {
    await img.writeBlock(block(1000 + n, size(n)));
    if (n % 200 === 0) process.stdout.write(`WROTE ${n}\n`);
  }
}
process.stdout.write('WAITING\n');
setInterval(() => undefined, 1000); // stay alive until killed
