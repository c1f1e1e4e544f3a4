/**
 * Several libraries in one server (issue 3): each is its own iSCSI target with its own LUNs,
 * inventory and data directory; what happens in one never shows in another, and each keeps its
 * state across a restart. Driven by libiscsi's tools and the test initiator over loopback.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ClientError } from '../../src/cli/client.js';
import { startManagementApi, type ManagementApi } from '../../src/cli/api/server.js';
import type { LibraryListView, StatusView } from '../../src/cli/api/types.js';
import { parseLibraryConfig, type LibraryConfigInput } from '../../src/vtl/config.js';
import { VirtualLibrary } from '../../src/vtl/library.js';
import { ADDRESS, connectLibrary, moveMedium } from '../support/library-session.js';

const run = promisify(execFile);
const PREFIX = 'iqn.2026-11.org.iscsi-vtl';

function config(dir: string): LibraryConfigInput {
  return {
    dataDir: dir,
    portals: ['127.0.0.1:0'],
    libraries: [
      {
        name: 'alpha',
        drives: [{}],
        changer: { slots: 4, mailslots: 1, cartridges: ['A00001L8..A00002L8'] },
      },
      {
        name: 'beta',
        targetName: `${PREFIX}:beta-custom`,
        drives: [{}, {}],
        changer: { slots: 6, mailslots: 2, cartridges: ['B00001L8', 'CLN001L1'] },
      },
      { name: 'solo', drives: [{ load: 'S00001L8' }] },
    ],
  };
}

describe('several libraries in one server', () => {
  let dir: string;
  let server: VirtualLibrary;
  let port: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtl-libs-'));
    server = await VirtualLibrary.start(config(dir));
    port = server.portals[0].port;
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('discovery lists one target per library, each with its own LUNs', async () => {
    const { stdout } = await run('iscsi-ls', ['-s', `iscsi://127.0.0.1:${port}`]);
    const targets = [...stdout.matchAll(/Target:(\S+)/g)].map((m) => m[1]).sort();
    expect(targets).toEqual([`${PREFIX}:alpha`, `${PREFIX}:beta-custom`, `${PREFIX}:solo`]);
    // iscsi-ls -s prints each target's LUNs after its Target: line
    const luns = (target: string): string[] => {
      const part = stdout.slice(stdout.indexOf(`Target:${target}`)).split(/\nTarget:/)[0];
      return [...part.matchAll(/Lun:(\d+)\s+Type:(\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
    };
    expect(luns(`${PREFIX}:alpha`)).toEqual(['0 MEDIA_CHANGER', '1 SEQUENTIAL_ACCESS']);
    expect(luns(`${PREFIX}:beta-custom`)).toEqual([
      '0 MEDIA_CHANGER',
      '1 SEQUENTIAL_ACCESS',
      '2 SEQUENTIAL_ACCESS',
    ]);
    expect(luns(`${PREFIX}:solo`)).toEqual(['1 SEQUENTIAL_ACCESS']);
  });

  it('every drive of every library has its own serial', async () => {
    const serials = server.libraries.flatMap((l) => l.drives.map((d) => d.serial));
    expect(serials).toHaveLength(4);
    expect(new Set(serials).size).toBe(4);
    const vpd80 = async (target: string, lun: number): Promise<string> => {
      const r = await run('iscsi-inq', [
        '-e',
        '1',
        '-c',
        '128',
        `iscsi://127.0.0.1:${port}/${target}/${lun}`,
      ]);
      return /Unit Serial Number:\[(\S+)\]/.exec(r.stdout)![1];
    };
    expect(await vpd80(`${PREFIX}:alpha`, 1)).toBe(server.library('alpha').drives[0].serial);
    expect(await vpd80(`${PREFIX}:beta-custom`, 2)).toBe(server.library('beta').drives[1].serial);
  });

  it('a move in one library leaves the others alone, and each keeps its own files', async () => {
    const s = await connectLibrary(port, `${PREFIX}:alpha`, 'iqn.2026-11.test:many');
    try {
      expect(await moveMedium(s, ADDRESS.slot, ADDRESS.drive)).toBe(0);
    } finally {
      await s.logout();
    }
    const alpha = server.library('alpha').inventory!;
    const beta = server.library('beta').inventory!;
    expect(alpha.cartridge('A00001L8')?.location).toEqual({ type: 'drive', index: 0 });
    expect(server.library('alpha').drives[0].drive.cartridgeInDrive?.label).toBe('A00001L8');
    expect(beta.list().map((c) => [c.barcode, c.location])).toEqual([
      ['B00001L8', { type: 'slot', index: 0 }],
      ['CLN001L1', { type: 'slot', index: 1 }],
    ]);
    expect(server.library('beta').drives.every((d) => d.drive.cartridgeInDrive === null)).toBe(true);
    expect((await readdir(join(dir, 'alpha'))).sort()).toEqual(['A00001L8', 'A00002L8', 'inventory.json']);
    expect((await readdir(join(dir, 'beta'))).sort()).toEqual(['B00001L8', 'CLN001L1', 'inventory.json']);
    expect(await readdir(join(dir, 'solo'))).toEqual(['S00001L8']);
  });

  it('the management API answers per library (?library=NAME) and names the choices for a wrong one', async () => {
    let api: ManagementApi | undefined;
    try {
      api = await startManagementApi(server, { host: '127.0.0.1', port: 0 });
      const list = await new ApiClient({ api: api.url }).get<LibraryListView>('/libraries');
      expect(list.libraries.map((l) => [l.name, l.drives, l.changer, l.cartridges])).toEqual([
        ['alpha', 1, true, 2],
        ['beta', 2, true, 2],
        ['solo', 1, false, null],
      ]);
      const beta = await new ApiClient({ api: api.url, library: 'beta' }).get<StatusView>('/status');
      expect(beta.library.name).toBe('beta');
      expect(beta.library.targetName).toBe(`${PREFIX}:beta-custom`);
      expect(beta.drives).toHaveLength(2);
      const first = await new ApiClient({ api: api.url }).get<StatusView>('/status');
      expect(first.library.name).toBe('alpha');
      const err = await new ApiClient({ api: api.url, library: 'gamma' })
        .get('/status')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect(err).toMatchObject({ status: 404, code: 'ERR_NOT_FOUND' });
      expect((err as ClientError).message).toBe(
        'no library named "gamma"; this server runs "alpha", "beta", "solo"',
      );
    } finally {
      await api?.close();
    }
  });

  it('after a restart every library has its cartridges where they were', async () => {
    await server.stop();
    server = await VirtualLibrary.start(config(dir));
    port = server.portals[0].port;
    expect(server.library('alpha').inventory!.cartridge('A00001L8')?.location).toEqual({
      type: 'drive',
      index: 0,
    });
    expect(server.library('alpha').drives[0].drive.cartridgeInDrive?.label).toBe('A00001L8');
    expect(server.library('beta').inventory!.cartridge('B00001L8')?.location).toEqual({
      type: 'slot',
      index: 0,
    });
    expect(server.library('solo').drives[0].drive.cartridgeInDrive?.label).toBe('S00001L8');
  });
});

describe('the libraries config', () => {
  const refuse = (input: unknown): string => {
    try {
      parseLibraryConfig(input, 'vtl.json');
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('an empty config is the embedded default library: changer, 24 slots, 4 mailslots, two empty drives', () => {
    const c = parseLibraryConfig({});
    expect(c.libraries).toHaveLength(1);
    const [lib] = c.libraries;
    expect(lib).toMatchObject({ name: 'default', targetName: `${PREFIX}:vtl`, dataDir: './vtl-data' });
    expect(lib.drives).toEqual([{ model: 'IBM ULT3580-TD8' }, { model: 'IBM ULT3580-TD8' }]);
    expect(lib.changer).toMatchObject({
      model: 'IBM 03584L32',
      slots: 24,
      mailslots: 4,
      cartridges: ['E01001L8..E01020L8', 'CLN001L1'],
    });
  });

  it('drives without a changer are standalone drives, as before libraries existed', () => {
    const c = parseLibraryConfig({ drives: [{ load: 'E01001L8' }] });
    expect(c.libraries[0].changer).toBeUndefined();
    expect(c.libraries[0].drives).toEqual([{ model: 'IBM ULT3580-TD8', load: 'E01001L8' }]);
  });

  it('a parsed config parses to itself (embedders may pass either)', () => {
    const once = parseLibraryConfig(config('/tmp/x'));
    expect(parseLibraryConfig(once)).toEqual(once);
    const single = parseLibraryConfig({ dataDir: '/tmp/y' });
    expect(parseLibraryConfig(single)).toEqual(single);
  });

  it('refuses duplicate names and target names, and single-library keys next to "libraries"', () => {
    expect(refuse({ libraries: [{ name: 'a' }, { name: 'a' }] })).toContain(
      'vtl.json: libraries.1.name: library name "a" is used twice',
    );
    expect(refuse({ libraries: [{ name: 'a', targetName: `${PREFIX}:b` }, { name: 'b' }] })).toContain(
      `vtl.json: libraries.1.targetName: target name ${PREFIX}:b is used twice`,
    );
    expect(refuse({ drives: [{}], libraries: [{ name: 'a' }] })).toContain(
      `vtl.json: drives: with "libraries" every library's "drives" goes inside its entry`,
    );
    expect(refuse({ libraries: [{ name: 'Bad Name' }] })).toContain(
      'vtl.json: libraries.0.name: a library name is 1-32 of a-z, 0-9, - and _',
    );
    expect(refuse({ libraries: [] })).toContain('vtl.json: libraries:');
  });

  it('names a wrong key of the single form as the user wrote it', () => {
    expect(refuse({ changer: { slotz: 3 } })).toContain('vtl.json: changer: unknown key "slotz"');
  });
});
