/**
 * The fixture of every management-API and `vtl` command test: a VirtualLibrary in a temporary
 * directory on an ephemeral loopback portal, its management API on a free port, both stopped and
 * the directory removed after the suite. Registers the vitest hooks where it is called.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  startManagementApi,
  type ManagementApi,
  type ManagementApiOptions,
} from '../../src/cli/api/server.js';
import type { LibraryConfigInput } from '../../src/vtl/config.js';
import { VirtualLibrary } from '../../src/vtl/library.js';

export interface LibraryApiScope {
  readonly dir: string;
  readonly lib: VirtualLibrary;
  readonly api: ManagementApi;
}

/**
 * `config(dir)` gives the library's config; dataDir (dir), portals (127.0.0.1:0) and the net
 * transport are filled in unless it sets them. The returned scope is usable inside tests and in
 * beforeAll hooks registered after this call.
 */
export function libraryWithApi(
  prefix: string,
  config: (dir: string) => LibraryConfigInput,
  apiOptions: ManagementApiOptions = {},
): LibraryApiScope {
  let state: { dir: string; lib?: VirtualLibrary; api?: ManagementApi } | undefined;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), `vtl-${prefix}-`));
    state = { dir };
    state.lib = await VirtualLibrary.start({
      dataDir: dir,
      portals: ['127.0.0.1:0'],
      transport: 'net',
      ...config(dir),
    });
    state.api = await startManagementApi(state.lib, { port: 0, ...apiOptions });
  });
  afterAll(async () => {
    await state?.api?.close();
    await state?.lib?.stop();
    if (state) await rm(state.dir, { recursive: true, force: true });
  });
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`libraryWithApi(${prefix}): ${what} is not started yet`);
    return value;
  };
  return {
    get dir() {
      return need(state?.dir, 'the directory');
    },
    get lib() {
      return need(state?.lib, 'the library');
    },
    get api() {
      return need(state?.api, 'the management API');
    },
  };
}
