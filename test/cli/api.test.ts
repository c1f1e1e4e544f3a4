/**
 * The management API in-process: a VirtualLibrary with a changer in a temp dir and the API on an
 * ephemeral loopback port; every route, its refusals (status, code, the library's message), the
 * bearer token, the body limit, and the per-request log line.
 */
import { libraryWithApi } from '../support/library-api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, startManagementApi, type ManagementApi } from '../../src/cli/api/server.js';
import type { CartridgeListView, StatusView } from '../../src/cli/api/types.js';
import { createLogger } from '../../src/util/log.js';
import { VirtualLibrary } from '../../src/vtl/library.js';

const TARGET = 'iqn.2026-11.org.iscsi-vtl:api-test';
const TOKEN = 'correct-horse-battery-staple';

interface Answer {
  status: number;
  headers: Headers;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string; auth?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.auth !== undefined) headers.authorization = options.auth;
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Answer['json'] };
}

describe('management API with a changer', () => {
  const logs: Record<string, unknown>[] = [];
  const scope = libraryWithApi(
    'api',
    () => ({
      targetName: TARGET,
      drives: [{}, {}],
      changer: { slots: 8, mailslots: 2, cartridges: ['E01001L8..E01004L8', 'CLN001L1'] },
    }),
    { logger: createLogger({ write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) }) },
  );
  let lib: VirtualLibrary;
  let api: ManagementApi;
  let base: string;
  beforeAll(() => {
    ({ lib, api } = scope);
    base = `${api.url}/api/v1`;
  });

  it('binds to 127.0.0.1 by default', () => {
    expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
    expect(api.port).toBeGreaterThan(0);
  });

  it('GET /status shows the target, portals, drives and every element with its cartridge', async () => {
    await lib.inventory!.move({ type: 'slot', index: 1 }, { type: 'drive', index: 0 });
    const { status, json } = await call(base, 'GET', '/status');
    expect(status).toBe(200);
    const s = json as unknown as StatusView;
    expect(s.library.targetName).toBe(TARGET);
    expect(s.library.portals).toEqual([`127.0.0.1:${lib.portals[0].port}`]);
    expect(s.library.changer).toMatchObject({ lun: 0, model: 'IBM 03584L32', slots: 8, mailslots: 2 });
    expect(s.drives.map((d) => [d.lun, d.serial, d.vendor, d.cartridge])).toEqual([
      [1, lib.drives[0].serial, 'IBM', 'E01002L8'],
      [2, lib.drives[1].serial, 'IBM', null],
    ]);
    expect(s.drives[0].position).toMatchObject({ objectNumber: 0, fileNumber: 0, bop: true });
    // 1 transport + 2 drives + 2 mailslots + 8 slots, in address order.
    expect(s.elements!.map((e) => e.name)).toEqual([
      'transport 1',
      'drive 1',
      'drive 2',
      'mailslot 1',
      'mailslot 2',
      ...Array.from({ length: 8 }, (_, i) => `slot ${i + 1}`),
    ]);
    const drive1 = s.elements!.find((e) => e.name === 'drive 1')!;
    expect(drive1.address).toBe(0x0100);
    expect(drive1.cartridge).toMatchObject({
      barcode: 'E01002L8',
      home: { name: 'slot 2', address: 0x0401 },
    });
    expect(s.elements!.find((e) => e.name === 'slot 5')!.cartridge).toMatchObject({
      barcode: 'CLN001L1',
      mediaType: 'CLEANING',
      cleaningUsesLeft: 50,
    });
    expect(s.elements!.find((e) => e.name === 'slot 2')!.cartridge).toBeNull();
  });

  it('GET /cartridges lists every cartridge and where it is', async () => {
    const { status, json } = await call(base, 'GET', '/cartridges');
    expect(status).toBe(200);
    const list = (json as unknown as CartridgeListView).cartridges;
    expect(list.map((c) => [c.barcode, c.location.name])).toEqual([
      ['CLN001L1', 'slot 5'],
      ['E01001L8', 'slot 1'],
      ['E01002L8', 'drive 1'],
      ['E01003L8', 'slot 3'],
      ['E01004L8', 'slot 4'],
    ]);
  });

  it('POST /cartridges creates a range in free slots, or in the vault', async () => {
    const seen: string[] = [];
    lib.inventory!.on('attention', (kind) => seen.push(kind));
    let r = await call(base, 'POST', '/cartridges', { body: { barcodes: ['E01005L8..E01006L8'] } });
    expect(r.status).toBe(201);
    expect(
      (r.json as unknown as CartridgeListView).cartridges.map((c) => [c.barcode, c.location.name]),
    ).toEqual([
      ['E01005L8', 'slot 2'],
      ['E01006L8', 'slot 6'],
    ]);
    expect(seen).toEqual(['medium-changed']);
    r = await call(base, 'POST', '/cartridges', { body: { barcodes: 'V00001L8', to: 'vault' } });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({
      cartridges: [{ barcode: 'V00001L8', mediaType: 'LTO8', location: { type: 'vault', name: 'vault' } }],
    });
    expect(lib.inventory!.cartridge('V00001L8')?.location).toEqual({ type: 'vault' });
  });

  it('POST /cartridges refuses duplicates, bad labels, too few slots and bad bodies', async () => {
    const cases: [unknown, number, string, string][] = [
      [
        { barcodes: ['E01001L8'] },
        409,
        'ERR_IMAGE_EXISTS',
        'cartridge E01001L8 is already in the inventory (slot 1)',
      ],
      [{ barcodes: ['BAD'] }, 400, 'ERR_LABEL', 'barcode "BAD" is not six characters'],
      [
        { barcodes: ['E02001L8..E02003L8'] },
        409,
        'ERR_STATE',
        '3 cartridges need as many free slots; 2 are free',
      ],
      [
        { barcodes: ['E03001L8', 'E03001L8'] },
        400,
        'ERR_INVALID_ARGUMENT',
        'barcode E03001L8 is named more than once',
      ],
      [{ barcodes: [] }, 400, 'ERR_INVALID_ARGUMENT', 'invalid request body: barcodes'],
      [{ barcodes: ['E03001L8'], to: 'shelf' }, 400, 'ERR_INVALID_ARGUMENT', 'invalid request body: to'],
      [{ barcodes: ['E03001L8'], slot: 1 }, 400, 'ERR_INVALID_ARGUMENT', 'unknown key slot'],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await call(base, 'POST', '/cartridges', { body });
      expect([r.status, r.json.error?.code], JSON.stringify(body)).toEqual([status, code]);
      expect(r.json.error!.message).toContain(message);
    }
    let r = await call(base, 'POST', '/cartridges', { raw: '{"barcodes": [' });
    expect([r.status, r.json.error!.code]).toEqual([400, 'ERR_INVALID_ARGUMENT']);
    expect(r.json.error!.message).toContain('not valid JSON');
    r = await call(base, 'POST', '/cartridges');
    expect([r.status, r.json.error!.message]).toEqual([400, 'this request needs a JSON body']);
    expect(lib.inventory!.cartridge('E03001L8')).toBeUndefined();
  });

  it('answers 413 to a body over the limit, and nothing changes', async () => {
    const barcodes = Array.from({ length: MAX_BODY_BYTES / 8 }, () => 'X00001L8');
    const r = await call(base, 'POST', '/cartridges', { body: { barcodes } });
    expect([r.status, r.json.error!.code]).toEqual([413, 'ERR_BODY_TOO_LARGE']);
    expect(lib.inventory!.cartridge('X00001L8')).toBeUndefined();
  });

  it('mailslot insert and remove move cartridges between the vault and the mailslots', async () => {
    const seen: string[] = [];
    const onAttention = (kind: string): void => void seen.push(kind);
    lib.inventory!.on('attention', onAttention);
    await call(base, 'POST', '/cartridges', { body: { barcodes: ['V00002L8', 'V00003L8'], to: 'vault' } });

    let r = await call(base, 'POST', '/mailslots/insert', { body: { barcode: 'V00001L8', mailslot: 2 } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      cartridge: { barcode: 'V00001L8', location: { name: 'mailslot 2', address: 0x0301 }, imported: true },
    });
    r = await call(base, 'POST', '/mailslots/insert', { body: { barcode: 'V00002L8' } });
    expect(r.json).toMatchObject({ cartridge: { location: { name: 'mailslot 1' } } });
    // SMC-3: each operator action on a mailslot is an IMPORT OR EXPORT ELEMENT ACCESSED attention.
    expect(seen).toEqual(['import-export', 'import-export']);

    const refusals: [string, unknown, number, string, string][] = [
      ['/mailslots/insert', { barcode: 'V00003L8' }, 409, 'ERR_STATE', 'every mailslot is full'],
      [
        '/mailslots/insert',
        { barcode: 'E01001L8' },
        409,
        'ERR_STATE',
        'cartridge E01001L8 is in slot 1, not in the vault',
      ],
      [
        '/mailslots/insert',
        { barcode: 'N00001L8' },
        404,
        'ERR_IMAGE_NOT_FOUND',
        'no cartridge N00001L8 in the inventory',
      ],
      ['/mailslots/insert', { barcode: 'nope' }, 400, 'ERR_LABEL', 'barcode "nope"'],
      ['/mailslots/insert', { barcode: 'V00003L8', mailslot: 0 }, 400, 'ERR_INVALID_ARGUMENT', 'mailslot'],
      ['/mailslots/remove', { mailslot: 3 }, 400, 'ERR_INVALID_ARGUMENT', 'the library has no mailslot 3'],
      ['/mailslots/remove', { barcode: 'E01001L8' }, 409, 'ERR_STATE', 'is in slot 1, not in a mailslot'],
      ['/mailslots/remove', { barcode: 'V00001L8', mailslot: 2 }, 400, 'ERR_INVALID_ARGUMENT', 'not both'],
      ['/mailslots/remove', {}, 400, 'ERR_INVALID_ARGUMENT', 'not both'],
    ];
    for (const [path, body, status, code, message] of refusals) {
      const a = await call(base, 'POST', path, { body });
      expect([a.status, a.json.error?.code], `${path} ${JSON.stringify(body)}`).toEqual([status, code]);
      expect(a.json.error!.message).toContain(message);
    }

    // PREVENT ALLOW MEDIUM REMOVAL on the changer locks the door for the operator too.
    lib.inventory!.setMailslotLock('test-nexus', true);
    r = await call(base, 'POST', '/mailslots/remove', { body: { mailslot: 2 } });
    expect([r.status, r.json.error!.code]).toEqual([409, 'ERR_STATE']);
    expect(r.json.error!.message).toContain('the mailslots are locked');
    lib.inventory!.setMailslotLock('test-nexus', false);

    r = await call(base, 'POST', '/mailslots/remove', { body: { mailslot: 2 } });
    expect(r.json).toMatchObject({ cartridge: { barcode: 'V00001L8', location: { type: 'vault' } } });
    r = await call(base, 'POST', '/mailslots/remove', { body: { barcode: 'V00002L8' } });
    expect(r.json).toMatchObject({ cartridge: { barcode: 'V00002L8', location: { type: 'vault' } } });
    r = await call(base, 'POST', '/mailslots/remove', { body: { mailslot: 1 } });
    expect([r.status, r.json.error!.message]).toEqual([409, 'mailslot 1 is empty']);
    lib.inventory!.off('attention', onAttention);
  });

  it('DELETE /cartridges/:barcode deletes from a slot or the vault, never from a drive', async () => {
    let r = await call(base, 'DELETE', '/cartridges/V00003L8');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ deleted: { barcode: 'V00003L8', from: { type: 'vault', name: 'vault' } } });
    expect(await lib.backend.exists('V00003L8')).toBe(false);
    r = await call(base, 'DELETE', '/cartridges/E01006L8');
    expect(r.json).toMatchObject({ deleted: { from: { name: 'slot 6' } } });
    r = await call(base, 'DELETE', '/cartridges/E01002L8');
    expect([r.status, r.json.error!.code]).toEqual([409, 'ERR_STATE']);
    expect(r.json.error!.message).toContain('cartridge E01002L8 is in drive 1');
    r = await call(base, 'DELETE', '/cartridges/V00003L8');
    expect([r.status, r.json.error!.code]).toEqual([404, 'ERR_IMAGE_NOT_FOUND']);
    r = await call(base, 'DELETE', '/cartridges/..%2Fetc');
    expect([r.status, r.json.error!.code]).toEqual([400, 'ERR_LABEL']);
    r = await call(base, 'DELETE', '/cartridges/E01001L8', { raw: '{}' });
    expect([r.status, r.json.error!.message]).toEqual([
      400,
      'DELETE /api/v1/cartridges/E01001L8 takes no request body',
    ]);
    expect(lib.inventory!.cartridge('E01001L8')).toBeDefined();
  });

  it('answers 404 for unknown routes and 405 for a wrong method', async () => {
    let r = await call(base, 'GET', '/nope');
    expect([r.status, r.json.error!.code]).toEqual([404, 'ERR_NOT_FOUND']);
    r = await call(api.url, 'GET', '/');
    expect([r.status, r.json.error!.code]).toEqual([404, 'ERR_NOT_FOUND']);
    r = await call(base, 'PUT', '/cartridges');
    expect([r.status, r.json.error!.code, r.headers.get('allow')]).toEqual([
      405,
      'ERR_METHOD_NOT_ALLOWED',
      'GET, POST',
    ]);
  });

  it('logs one structured line per request', () => {
    const lines = logs.filter((l) => l.msg === 'api request');
    expect(lines.length).toBeGreaterThan(20);
    expect(lines).toContainEqual(
      expect.objectContaining({
        component: 'api',
        method: 'DELETE',
        path: '/api/v1/cartridges/E01002L8',
        route: 'delete cartridge',
        status: 409,
        code: 'ERR_STATE',
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ method: 'GET', path: '/api/v1/status', status: 200 }),
    );
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  describe('with a token', () => {
    let secured: ManagementApi;
    beforeAll(async () => {
      secured = await startManagementApi(lib, { port: 0, token: TOKEN });
    });
    afterAll(async () => {
      await secured?.close();
    });

    it('answers 401 without the right bearer token, and serves with it', async () => {
      const url = `${secured.url}/api/v1`;
      for (const auth of [
        undefined,
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Basic ${TOKEN}`,
        'Bearer',
      ]) {
        const r = await call(url, 'GET', '/status', auth === undefined ? {} : { auth });
        expect([r.status, r.json.error?.code], String(auth)).toEqual([401, 'ERR_UNAUTHORIZED']);
        expect(r.headers.get('www-authenticate')).toBe('Bearer realm="vtl"');
      }
      // Refused before the route runs: nothing is created.
      const denied = await call(url, 'POST', '/cartridges', {
        body: { barcodes: ['T00001L8'], to: 'vault' },
      });
      expect(denied.status).toBe(401);
      expect(lib.inventory!.cartridge('T00001L8')).toBeUndefined();
      const r = await call(url, 'GET', '/status', { token: TOKEN });
      expect(r.status).toBe(200);
    });
  });
});

describe('management API without a changer', () => {
  const scope = libraryWithApi('api-nochanger', () => ({
    targetName: TARGET,
    drives: [{ load: 'E01001L8' }],
  }));
  let lib: VirtualLibrary;
  let api: ManagementApi;
  beforeAll(() => ({ lib, api } = scope));

  it('shows the drives, and refuses inventory operations with 409', async () => {
    const base = `${api.url}/api/v1`;
    const s = (await call(base, 'GET', '/status')).json as unknown as StatusView;
    expect(s.library.changer).toBeNull();
    expect(s.elements).toBeNull();
    expect(s.drives).toMatchObject([{ lun: 1, cartridge: 'E01001L8', state: 'loaded' }]);
    for (const [method, path, body] of [
      ['GET', '/cartridges', undefined],
      ['POST', '/cartridges', { barcodes: ['E01002L8'] }],
      ['DELETE', '/cartridges/E01001L8', undefined],
      ['POST', '/mailslots/insert', { barcode: 'E01001L8' }],
      ['POST', '/mailslots/remove', { mailslot: 1 }],
    ] as const) {
      const r = await call(base, method, path, body === undefined ? {} : { body });
      expect([r.status, r.json.error?.code], `${method} ${path}`).toEqual([409, 'ERR_STATE']);
      expect(r.json.error!.message).toContain('this library has no medium changer');
    }
    expect(await lib.backend.exists('E01002L8')).toBe(false);
  });
});
