/**
 * Child process for kill.test.ts: writes blocks, syncs, reports the synced count on stdout,
 * then keeps writing (flushed to the OS but never synced) until it is killed with SIGKILL.
 */
import { createCartridge, createFileBackend, openTapeImage } from '../../../src/vtl/image/index.js';
import { block } from './blocks.js';

const root = process.argv[2];
const backend = createFileBackend(root);
await createCartridge(backend, { label: 'KILL01', mediaType: 'LTO8', chunkSize: 256 * 1024 });
const img = await openTapeImage(backend, 'KILL01', { writeBehind: 64 * 1024 });
let n = 0;
for (; n < 500; n++) await img.writeBlock(block(n, 1000 + (n % 97)));
await img.writeFilemarks(1);
n++;
await img.sync();
process.stdout.write(`SYNCED ${n}\n`);
for (;;) {
  await img.writeBlock(block(n, 1000 + (n % 97)));
  n++;
  if (n % 1000 === 0) process.stdout.write(`WROTE ${n}\n`);
}
