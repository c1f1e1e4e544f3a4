import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileBackend, createMemoryBackend } from '../../../src/vtl/image/index.js';
import { describeImageBackend } from './describe-image-backend.js';

describeImageBackend('memory', () =>
  Promise.resolve({ backend: createMemoryBackend(), cleanup: () => Promise.resolve() }),
);

describeImageBackend('file', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vtl-image-'));
  return {
    backend: createFileBackend(join(root, 'cartridges')),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
