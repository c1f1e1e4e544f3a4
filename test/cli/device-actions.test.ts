/**
 * Operator actions on cartridges and drives (issue 5): the write-protect tab and TapeAlert fault
 * injection, through the management API over real HTTP and the `vtl` commands as child
 * processes, with the effect checked over iSCSI: MODE SENSE WP and WRITE refused with DATA
 * PROTECT 27/00 on a protected cartridge, LOG SENSE 2Eh showing an injected flag once.
 */
import { runVtl } from '../support/vtl-cli.js';
import { libraryWithApi } from '../support/library-api.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManagementApi } from '../../src/cli/api/server.js';
import type { TapeAlertView, WriteProtectView } from '../../src/cli/api/types.js';
import { decodeSense, SenseKey } from '../../src/target/scsi/sense.js';
import { createCartridge } from '../../src/vtl/image/index.js';
import { VirtualLibrary } from '../../src/vtl/library.js';
import type { Initiator } from '../support/initiator.js';
import { ADDRESS, clearAttention, connectLibrary, moveMedium } from '../support/library-session.js';

const vtl = runVtl;
const TARGET = 'iqn.2026-11.org.iscsi-vtl:device-actions';
const INITIATOR = 'iqn.2026-11.org.example:operator-test';

interface Answer {
  status: number;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}

async function post(base: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method: 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Answer['json'] };
}

const modeSense6 = (): Buffer => Buffer.from([0x1a, 0, 0, 0, 12, 0]);
/** WRITE(6), variable block mode, one block of `n` bytes. */
const write6 = (n: number): Buffer => Buffer.from([0x0a, 0, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0]);
/** LOG SENSE page 2Eh, current cumulative values, room for all 64 flags. */
const logSense2E = (): Buffer => Buffer.from([0x4d, 0, 0x40 | 0x2e, 0, 0, 0, 0, 0x01, 0x44, 0]);

/** The TapeAlert flags a LOG SENSE 2Eh reply has set (SSC-4: parameter code = flag, 1-byte value). */
async function tapeAlertsSet(s: Initiator, lun: number): Promise<number[]> {
  const r = await s.command(lun, logSense2E(), { expectedLength: 0x144 });
  expect(r.status).toBe(0);
  const set: number[] = [];
  const end = 4 + r.data.readUInt16BE(2);
  for (let off = 4; off < end; off += 4 + r.data[off + 3]) {
    if (r.data[off + 4] & 0x01) set.push(r.data.readUInt16BE(off));
  }
  return set;
}

describe('write protect and TapeAlert injection with a changer', () => {
  const scope = libraryWithApi('device', () => ({
    targetName: TARGET,
    drives: [{}, {}],
    changer: { slots: 6, mailslots: 1, cartridges: ['E01001L8..E01003L8'] },
  }));
  let lib: VirtualLibrary;
  let api: ManagementApi;
  let s: Initiator;

  beforeAll(async () => {
    ({ lib, api } = scope);
    s = await connectLibrary(lib.portals[0].port, TARGET, INITIATOR, [0, 1, 2]);
  });
  afterAll(() => s?.close());

  it('a protected cartridge loads with WP set and refuses writes; the tab cannot move in a drive', async () => {
    let r = await post(api.url, '/cartridges/E01002L8/write-protect', { on: true });
    expect(r.status).toBe(200);
    expect(r.json as unknown as WriteProtectView).toEqual({
      cartridge: {
        barcode: 'E01002L8',
        mediaType: 'LTO8',
        writeProtected: true,
        location: { type: 'slot', number: 2, address: 0x0401, name: 'slot 2' },
      },
    });

    expect(await moveMedium(s, ADDRESS.slot + 1, ADDRESS.drive)).toBe(0);
    await clearAttention(s, 1);
    const ms = await s.command(1, modeSense6(), { expectedLength: 12 });
    expect(ms.data[2] & 0x80).toBe(0x80); // WP
    const w = await s.command(1, write6(512), { dataOut: Buffer.alloc(512, 7) });
    expect(w.status).toBe(2);
    expect(decodeSense(w.sense!)).toMatchObject({ key: SenseKey.DATA_PROTECT, asc: 0x27, ascq: 0x00 });
    // The refused write raised TapeAlert 09h WRITE PROTECT; the read clears it.
    expect(await tapeAlertsSet(s, 1)).toEqual([9]);

    r = await post(api.url, '/cartridges/E01002L8/write-protect', { on: false });
    expect([r.status, r.json.error]).toEqual([
      409,
      {
        code: 'ERR_STATE',
        message:
          'cartridge E01002L8 is in drive 1: its write-protect tab cannot be moved while it is loaded; ' +
          'move it to a slot first',
      },
    ]);

    expect(await moveMedium(s, ADDRESS.drive, ADDRESS.slot + 1)).toBe(0);
    r = await post(api.url, '/cartridges/E01002L8/write-protect', { on: false });
    expect([r.status, (r.json as unknown as WriteProtectView).cartridge.writeProtected]).toEqual([
      200,
      false,
    ]);
    expect(await moveMedium(s, ADDRESS.slot + 1, ADDRESS.drive)).toBe(0);
    await clearAttention(s, 1);
    expect((await s.command(1, modeSense6(), { expectedLength: 12 })).data[2] & 0x80).toBe(0);
    expect((await s.command(1, write6(512), { dataOut: Buffer.alloc(512, 7) })).status).toBe(0);
    expect(await moveMedium(s, ADDRESS.drive, ADDRESS.slot + 1)).toBe(0);
  });

  it('write-protect refusals: unknown cartridge 404, bad label and bad bodies 400', async () => {
    const cases: [string, unknown, number, string, string][] = [
      ['E09999L8', { on: true }, 404, 'ERR_NOT_FOUND', 'no cartridge E09999L8 in library "default"'],
      ['E01001L8', { on: 'yes' }, 400, 'ERR_INVALID_ARGUMENT', 'invalid request body: on:'],
      ['E01001L8', { on: true, flag: 1 }, 400, 'ERR_INVALID_ARGUMENT', 'unknown key flag'],
      ['E01001L8', undefined, 400, 'ERR_INVALID_ARGUMENT', 'this request needs a JSON body'],
      ['e01001%20l8', { on: true }, 400, 'ERR_LABEL', ''],
    ];
    for (const [barcode, body, status, code, message] of cases) {
      const r = await post(api.url, `/cartridges/${barcode}/write-protect`, body);
      expect([r.status, r.json.error?.code], barcode).toEqual([status, code]);
      expect(r.json.error!.message).toContain(message);
    }
    // Nothing changed on the cartridges the refusals named.
    expect((await post(api.url, '/cartridges/E01001L8/write-protect', { on: false })).status).toBe(200);
  });

  it('an injected flag shows once in LOG SENSE 2Eh of that drive only', async () => {
    const r = await post(api.url, '/drives/2/tapealert', { flag: 20 });
    expect(r.status).toBe(200);
    expect(r.json as unknown as TapeAlertView).toEqual({
      drive: { lun: 2, serial: lib.drives[1].serial },
      flag: 20,
      flags: [20],
    });
    expect(await tapeAlertsSet(s, 1)).toEqual([]);
    expect(await tapeAlertsSet(s, 2)).toEqual([20]);
    // SSC-4: reading the TapeAlert page clears its flags.
    expect(await tapeAlertsSet(s, 2)).toEqual([]);
  });

  it('tapealert refusals: no such drive 404, a LUN that is not a number or a flag outside 1..64 400', async () => {
    const cases: [string, unknown, number, string][] = [
      ['/drives/9/tapealert', { flag: 3 }, 404, 'library "default" has no drive at LUN 9 (drives: 1, 2)'],
      ['/drives/one/tapealert', { flag: 3 }, 400, 'drive LUN "one" is not a number (drives: 1, 2)'],
      ['/drives/1/tapealert', { flag: 65 }, 400, 'invalid request body: flag:'],
      ['/drives/1/tapealert', { flag: 0 }, 400, 'invalid request body: flag:'],
      ['/drives/1/tapealert', { flag: 2.5 }, 400, 'invalid request body: flag:'],
      ['/drives/1/tapealert', {}, 400, 'invalid request body: flag:'],
    ];
    for (const [path, body, status, message] of cases) {
      const r = await post(api.url, path, body);
      expect(
        [r.status, r.json.error?.message.startsWith(message)],
        `${path} ${JSON.stringify(body)}`,
      ).toEqual([status, true]);
    }
    expect(await tapeAlertsSet(s, 1)).toEqual([]);
  });

  it('vtl cartridge protect|unprotect and vtl drive tapealert, in text and --json', async () => {
    const at = ['--api', api.url];
    // Three rounds of commands run side by side: each spawns node with tsx.
    const [protect, raised, range, noDrive, usage, missing] = await Promise.all([
      vtl(['cartridge', 'protect', 'E01003L8', ...at]),
      vtl(['drive', 'tapealert', '1', '0x14', ...at]),
      vtl(['drive', 'tapealert', '1', '65', ...at]),
      vtl(['drive', 'tapealert', '7', '3', ...at]),
      vtl(['drive', 'tapealert', '1', 'clean', ...at]),
      vtl(['cartridge', 'protect', ...at]),
    ]);
    expect([protect.code, protect.stdout, protect.stderr]).toEqual([0, 'E01003L8 is write-protected\n', '']);
    expect([raised.code, raised.stderr]).toEqual([0, '']);
    expect(raised.stdout).toBe(
      `raised TapeAlert flag 20 (0x14) on drive LUN 1 (serial ${lib.drives[0].serial}); flags set now: 20\n`,
    );
    expect(range.code).toBe(1);
    expect(range.stderr).toMatch(/^vtl: invalid request body: flag: /);
    expect([noDrive.code, noDrive.stderr]).toEqual([
      1,
      'vtl: library "default" has no drive at LUN 7 (drives: 1, 2)\n',
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(
      /^vtl: flag "clean" is not a number \(1\.\.64\)\n\nusage:\n {2}vtl drive tapealert/,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^vtl: vtl cartridge protect takes one barcode\n/);

    const [unprotectJson, raisedJson] = await Promise.all([
      vtl(['cartridge', 'unprotect', 'E01003L8', '--json', ...at]),
      vtl(['drive', 'tapealert', '1', '3', '--json', ...at]),
    ]);
    expect(unprotectJson.code).toBe(0);
    expect((JSON.parse(unprotectJson.stdout) as WriteProtectView).cartridge).toMatchObject({
      barcode: 'E01003L8',
      writeProtected: false,
    });
    expect((JSON.parse(raisedJson.stdout) as TapeAlertView).flags).toEqual([3, 20]);
    expect(await tapeAlertsSet(s, 1)).toEqual([3, 20]);

    expect(await moveMedium(s, ADDRESS.slot + 2, ADDRESS.drive + 1)).toBe(0);
    const [inDrive, unprotect] = await Promise.all([
      vtl(['cartridge', 'protect', 'E01003L8', ...at]),
      vtl(['cartridge', 'unprotect', 'E01001L8', ...at]),
    ]);
    expect([inDrive.code, inDrive.stderr]).toEqual([
      1,
      'vtl: cartridge E01003L8 is in drive 2: its write-protect tab cannot be moved while it is loaded; ' +
        'move it to a slot first\n',
    ]);
    expect([unprotect.code, unprotect.stdout]).toEqual([0, 'E01001L8 is writable\n']);
    expect(await moveMedium(s, ADDRESS.drive + 1, ADDRESS.slot + 2)).toBe(0);
  }, 60_000); // child processes: slow when the machine is busy
});

describe('write protect without a changer', () => {
  const scope = libraryWithApi('device-standalone', () => ({
    targetName: TARGET,
    drives: [{ load: 'E01001L8' }],
  }));
  let lib: VirtualLibrary;
  let api: ManagementApi;
  beforeAll(() => ({ lib, api } = scope));

  it('refuses the loaded cartridge and sets a stored one', async () => {
    let r = await post(api.url, '/cartridges/E01001L8/write-protect', { on: true });
    expect([r.status, r.json.error?.message]).toEqual([
      409,
      'cartridge E01001L8 is in the drive at LUN 1: its write-protect tab cannot be moved while it is ' +
        'loaded; a library without a changer keeps it there',
    ]);
    await createCartridge(lib.backend, { label: 'S00001L8', mediaType: 'LTO8' });
    r = await post(api.url, '/cartridges/S00001L8/write-protect', { on: true });
    expect([r.status, r.json]).toEqual([
      200,
      { cartridge: { barcode: 'S00001L8', mediaType: 'LTO8', writeProtected: true } },
    ]);
    r = await post(api.url, '/cartridges/S00002L8/write-protect', { on: true });
    expect([r.status, r.json.error?.code]).toEqual([404, 'ERR_IMAGE_NOT_FOUND']);
  });
});
