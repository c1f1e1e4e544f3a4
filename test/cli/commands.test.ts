/**
 * The `vtl` operator commands as a person or a script runs them: child processes against a
 * library with a changer and its management API in this process (port 0), checking the printed
 * tables, the --json output, the messages and the exit codes. One test also starts `vtl serve`
 * itself and reads its status through the API it opened.
 */
import { runVtl, spawnVtl } from '../support/vtl-cli.js';
import { libraryWithApi } from '../support/library-api.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startManagementApi, type ManagementApi } from '../../src/cli/api/server.js';
import type { CartridgeListView, CartridgeResultView, StatusView } from '../../src/cli/api/types.js';
import { VirtualLibrary } from '../../src/vtl/library.js';

const vtl = runVtl;
const TARGET = 'iqn.2026-11.org.iscsi-vtl:cli-test';
const TOKEN = 'a-long-enough-api-token';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('vtl status|cartridge|mailslot', () => {
  const scope = libraryWithApi('cmd', () => ({
    targetName: TARGET,
    drives: [{}, {}],
    changer: { slots: 6, mailslots: 2, cartridges: ['E01001L8..E01003L8', 'CLN001L1'] },
  }));
  let lib: VirtualLibrary;
  let api: ManagementApi;
  let secured: ManagementApi;
  let at: string[];

  beforeAll(async () => {
    ({ lib, api } = scope);
    secured = await startManagementApi(lib, { port: 0, token: TOKEN });
    at = ['--api', api.url];
  });
  afterAll(() => secured?.close());

  it('status prints the library, drives and elements; --json the API view', async () => {
    await lib.inventory!.move({ type: 'slot', index: 0 }, { type: 'drive', index: 1 });
    const [human, json] = await Promise.all([vtl(['status', ...at]), vtl(['status', '--json', ...at])]);
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n');
    expect(lines[0]).toBe('library  default');
    expect(lines[1]).toBe(`target   ${TARGET}`);
    expect(lines[2]).toBe(`portals  127.0.0.1:${lib.portals[0].port}`);
    expect(lines[3]).toMatch(/^changer {2}LUN 0, IBM 03584L32, serial \S+, 6 slots, 2 mailslots$/);
    expect(lines.slice(5, 8)).toEqual([
      'LUN  SERIAL      DRIVE            STATE   CARTRIDGE  POSITION',
      `1    ${lib.drives[0].serial}  IBM ULT3580-TD8  empty   -          -`,
      `2    ${lib.drives[1].serial}  IBM ULT3580-TD8  loaded  E01001L8   file 0, object 0 (BOP)`,
    ]);
    expect(lines).toContain('drive 2     0x0101   E01001L8   from slot 1');
    expect(lines).toContain('slot 1      0x0400   -          -');
    expect(lines).toContain('slot 4      0x0403   CLN001L1   50 cleanings left');
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout) as StatusView;
    expect(s.drives.map((d) => d.cartridge)).toEqual([null, 'E01001L8']);
    expect(s.elements!.filter((e) => e.cartridge).map((e) => e.cartridge!.barcode)).toEqual([
      'E01001L8',
      'E01002L8',
      'E01003L8',
      'CLN001L1',
    ]);
  });

  it('cartridge create, list and delete; refusals print the API message and exit 1', async () => {
    let r = await vtl(['cartridge', 'create', 'E01004L8..E01005L8', ...at]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout.split('\n').slice(0, 4)).toEqual([
      'created 2 cartridges',
      'BARCODE   MEDIA  LOCATION  ADDRESS  NOTE',
      'E01004L8  LTO8   slot 1    0x0400   -',
      'E01005L8  LTO8   slot 5    0x0404   -',
    ]);
    const [vault, dup, dupJson] = await Promise.all([
      vtl(['cartridge', 'create', '--vault', 'V00001L8', 'V00002L8', '--json', ...at]),
      vtl(['cartridge', 'create', 'E01002L8', ...at]),
      vtl(['cartridge', 'create', 'E01002L8', '--json', ...at]),
    ]);
    expect(vault.code).toBe(0);
    expect((JSON.parse(vault.stdout) as CartridgeListView).cartridges.map((c) => c.location.type)).toEqual([
      'vault',
      'vault',
    ]);
    expect([dup.code, dup.stdout]).toEqual([1, '']);
    expect(dup.stderr).toBe('vtl: cartridge E01002L8 is already in the inventory (slot 2)\n');
    expect(dupJson.code).toBe(1);
    expect(JSON.parse(dupJson.stdout)).toEqual({
      error: {
        code: 'ERR_IMAGE_EXISTS',
        message: 'cartridge E01002L8 is already in the inventory (slot 2)',
        status: 409,
      },
    });

    r = await vtl(['cartridge', 'list', ...at]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'BARCODE   MEDIA     LOCATION  ADDRESS  NOTE',
      'CLN001L1  CLEANING  slot 4    0x0403   50 cleanings left',
      'E01001L8  LTO8      drive 2   0x0101   from slot 1',
      'E01002L8  LTO8      slot 2    0x0401   -',
      'E01003L8  LTO8      slot 3    0x0402   -',
      'E01004L8  LTO8      slot 1    0x0400   -',
      'E01005L8  LTO8      slot 5    0x0404   -',
      'V00001L8  LTO8      vault     -        -',
      'V00002L8  LTO8      vault     -        -',
      '',
    ]);

    const [deleted, inDrive] = await Promise.all([
      vtl(['cartridge', 'delete', 'V00002L8', ...at]),
      vtl(['cartridge', 'delete', 'E01001L8', ...at]),
    ]);
    expect([deleted.code, deleted.stdout]).toEqual([0, 'deleted V00002L8 (was in vault)\n']);
    expect(inDrive.code).toBe(1);
    expect(inDrive.stderr).toBe(
      'vtl: cartridge E01001L8 is in drive 2; only cartridges in a slot or the vault can be deleted\n',
    );
    expect(lib.inventory!.cartridge('V00002L8')).toBeUndefined();
  });

  it('mailslot insert and remove, by barcode and by --slot', async () => {
    let r = await vtl(['mailslot', 'insert', 'V00001L8', '--slot', '2', ...at]);
    expect([r.code, r.stdout]).toEqual([0, 'V00001L8 is in mailslot 2\n']);
    const [notVault, removed] = await Promise.all([
      vtl(['mailslot', 'insert', 'E01002L8', ...at]),
      vtl(['mailslot', 'remove', '--slot', '2', '--json', ...at]),
    ]);
    expect([notVault.code, notVault.stderr]).toEqual([
      1,
      'vtl: cartridge E01002L8 is in slot 2, not in the vault\n',
    ]);
    expect(removed.code).toBe(0);
    expect((JSON.parse(removed.stdout) as CartridgeResultView).cartridge).toEqual({
      barcode: 'V00001L8',
      mediaType: 'LTO8',
      location: { type: 'vault', name: 'vault' },
    });
    r = await vtl(['mailslot', 'remove', 'V00001L8', ...at]);
    expect([r.code, r.stderr]).toEqual([1, 'vtl: cartridge V00001L8 is in the vault, not in a mailslot\n']);
  });

  it('uses the token from --token or VTL_TOKEN, and the address from VTL_API', async () => {
    const [none, flag, env] = await Promise.all([
      vtl(['cartridge', 'list', '--api', secured.url]),
      vtl(['cartridge', 'list', '--json', '--api', secured.url, '--token', TOKEN]),
      vtl(['status', '--json'], { VTL_API: secured.url, VTL_TOKEN: TOKEN }),
    ]);
    expect([none.code, none.stderr]).toEqual([
      1,
      'vtl: missing or wrong bearer token (Authorization: Bearer <token>)\n',
    ]);
    expect(flag.code).toBe(0);
    expect((JSON.parse(flag.stdout) as CartridgeListView).cartridges.length).toBe(7);
    expect(env.code).toBe(0);
    expect((JSON.parse(env.stdout) as StatusView).library.targetName).toBe(TARGET);
  });

  it('says to start `vtl serve` when nothing listens, and exits 2 on wrong usage', async () => {
    const port = await closedPort();
    const [refused, usage, slot] = await Promise.all([
      vtl(['status', '--api', `http://127.0.0.1:${port}`]),
      vtl(['cartridge', 'frobnicate', ...at]),
      vtl(['mailslot', 'insert', 'V00001L8', '--slot', 'x', ...at]),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `vtl: cannot reach the vtl management API at http://127.0.0.1:${port} (connection refused): ` +
        'start the server with `vtl serve`, or point --api / VTL_API at it\n',
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^vtl: unknown subcommand "frobnicate"\n\nusage:\n {2}vtl cartridge create/);
    expect(slot.code).toBe(2);
    expect(slot.stderr).toContain('vtl: --slot "x": mailslots are numbered from 1');
  });
});

describe('vtl serve with a changer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtl-cmd-serve-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens the management API next to the library; `vtl status` reads it', async () => {
    const config = join(dir, 'vtl.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        transport: 'net',
        drives: [{}],
        changer: { slots: 4, mailslots: 1, cartridges: ['S00001L8..S00002L8'] },
        management: { token: TOKEN },
      }),
    );
    const child = spawnVtl([
      'serve',
      '--config',
      config,
      '--portal',
      '127.0.0.1:0',
      '--api-listen',
      '127.0.0.1:0',
    ]);
    const exited = new Promise<number | null>((res) => child.on('exit', res));
    let err = '';
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`vtl serve did not start:\n${err}`)), 15_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /"msg":"management api listening","url":"([^"]+)","auth":"token"/.exec(err);
        if (m) {
          clearTimeout(timer);
          res(m[1]);
        }
      });
      child.on('exit', (code) => rej(new Error(`vtl serve exited with ${code}:\n${err}`)));
    });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await vtl(['cartridge', 'list', '--api', url], { VTL_TOKEN: TOKEN });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n').slice(1, 3)).toEqual([
        'S00001L8  LTO8   slot 1    0x0400   -',
        'S00002L8  LTO8   slot 2    0x0401   -',
      ]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).toContain('"msg":"api request"');
    expect(err).toContain('"msg":"stopped"');
  });
});
