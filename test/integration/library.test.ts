/**
 * The whole server, end to end over real loopback sockets: a VirtualLibrary started as the
 * embedding API starts it, driven by libiscsi's tools (an initiator this project did not write)
 * and by the test initiator, on both transports.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualLibrary } from '../../src/vtl/library.js';
import { decodeSense } from '../../src/target/scsi/sense.js';
import { Initiator } from '../support/initiator.js';

const run = promisify(execFile);
const TARGET = 'iqn.2026-11.org.iscsi-vtl:test';

function cdb(...bytes: number[]): Buffer {
  const b = Buffer.alloc(Math.max(6, bytes.length));
  bytes.forEach((v, i) => (b[i] = v));
  return b;
}
const write6 = (n: number): Buffer => cdb(0x0a, 0x00, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0);
const read6 = (n: number, sili = false): Buffer =>
  cdb(0x08, sili ? 0x02 : 0x00, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0);

/** Clears the POWER ON unit attention a new I_T nexus gets, as every initiator does at start. */
async function clearUnitAttention(s: Initiator, lun: number): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const r = await s.command(lun, cdb(0x00));
    if (r.status === 0) return;
  }
  throw new Error('TEST UNIT READY never became GOOD');
}

for (const transport of ['native', 'net'] as const) {
  describe(`library over the ${transport} transport`, () => {
    let dir: string;
    let lib: VirtualLibrary;
    let port: number;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vtl-lib-'));
      lib = await VirtualLibrary.start({
        dataDir: dir,
        portals: ['127.0.0.1:0'],
        transport,
        targetName: TARGET,
        drives: [{ load: 'T00001L8' }, { load: 'T00002L7' }, {}],
      });
      port = lib.portals[0].port;
    });
    afterAll(async () => {
      await lib?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('iscsi-ls discovers the target and lists the drives as sequential-access LUNs 1..N', async () => {
      const { stdout } = await run('iscsi-ls', ['-s', `iscsi://127.0.0.1:${port}`]);
      expect(stdout).toContain(`Target:${TARGET}`);
      expect(stdout).toMatch(/Lun:1\s+Type:SEQUENTIAL_ACCESS/);
      expect(stdout).toMatch(/Lun:2\s+Type:SEQUENTIAL_ACCESS/);
      expect(stdout).toMatch(/Lun:3\s+Type:SEQUENTIAL_ACCESS/);
      expect(stdout).not.toMatch(/Lun:0/);
    });

    it('iscsi-inq reports the IBM LTO-8 personality and a unique serial per drive', async () => {
      const inq = await run('iscsi-inq', [`iscsi://127.0.0.1:${port}/${TARGET}/1`]);
      expect(inq.stdout).toMatch(/Peripheral Device Type:SEQUENTIAL_ACCESS/);
      expect(inq.stdout).toMatch(/Vendor:IBM\s/);
      expect(inq.stdout).toMatch(/Product:ULT3580-TD8\s/);
      const serial = async (lun: number): Promise<string> => {
        const r = await run('iscsi-inq', [
          '-e',
          '1',
          '-c',
          '128',
          `iscsi://127.0.0.1:${port}/${TARGET}/${lun}`,
        ]);
        // iscsi-inq prints it as "Unit Serial Number:[VYKS2KTPEX]".
        return /Unit Serial Number:\s*\[?([^\]\s]+)/.exec(r.stdout)?.[1] ?? '';
      };
      const [s1, s2] = [await serial(1), await serial(2)];
      expect(s1).toMatch(/^[A-Z0-9]{10}$/);
      expect(s2).toMatch(/^[A-Z0-9]{10}$/);
      expect(s1).not.toBe(s2);
      expect(lib.drives.map((d) => d.serial)).toEqual(expect.arrayContaining([s1, s2]));
    });

    it('writes blocks and a filemark, rewinds, and reads the same bytes back', async () => {
      const s = await Initiator.connect({
        host: '127.0.0.1',
        port,
        targetName: TARGET,
        initiatorName: 'iqn.2026-11.test:rw',
      });
      try {
        await clearUnitAttention(s, 1);
        const blocks = [1, 512, 65536, 262144, 1048576, 70000].map((n, i) =>
          Buffer.from(Array.from({ length: n }, (_, j) => (j * 31 + i * 7) & 0xff)),
        );
        for (const b of blocks) expect((await s.command(1, write6(b.length), { dataOut: b })).status).toBe(0);
        expect((await s.command(1, cdb(0x10, 0x00, 0, 0, 1, 0))).status).toBe(0); // WRITE FILEMARKS 1
        expect((await s.command(1, cdb(0x01))).status).toBe(0); // REWIND
        for (const b of blocks) {
          const r = await s.command(1, read6(b.length), { expectedLength: b.length });
          expect(r.status).toBe(0);
          expect(r.data.equals(b)).toBe(true);
        }
        const fm = await s.command(1, read6(4096), { expectedLength: 4096 });
        expect(fm.status).toBe(2);
        const sense = decodeSense(fm.sense!);
        expect(sense.name).toBe('FILEMARK_DETECTED');
        expect(sense.filemark).toBe(true);
        expect(sense.information).toBe(4096);
        const eod = await s.command(1, read6(4096), { expectedLength: 4096 });
        expect(decodeSense(eod.sense!).name).toBe('END_OF_DATA_DETECTED');
      } finally {
        await s.logout();
      }
    });

    it('a drive configured without a cartridge answers NOT READY, MEDIUM NOT PRESENT', async () => {
      const s = await Initiator.connect({
        host: '127.0.0.1',
        port,
        targetName: TARGET,
        initiatorName: 'iqn.2026-11.test:empty',
      });
      try {
        let r = await s.command(3, cdb(0x00));
        if (decodeSense(r.sense!).key === 6) r = await s.command(3, cdb(0x00));
        expect(r.status).toBe(2);
        expect(decodeSense(r.sense!).name).toBe('MEDIUM_NOT_PRESENT');
      } finally {
        await s.logout();
      }
    });

    it('LUN 0 is reserved for the changer: no device there, REPORT LUNS still answers', async () => {
      const s = await Initiator.connect({
        host: '127.0.0.1',
        port,
        targetName: TARGET,
        initiatorName: 'iqn.2026-11.test:lun0',
      });
      try {
        const inq = await s.command(0, cdb(0x12, 0, 0, 0, 36, 0), { expectedLength: 36 });
        expect(inq.status).toBe(0);
        expect(inq.data[0]).toBe(0x7f); // peripheral qualifier 011b, device type 1Fh
        const rl = await s.command(0, cdb(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0), { expectedLength: 255 });
        expect(rl.status).toBe(0);
        expect(rl.data.readUInt32BE(0)).toBe(3 * 8);
        const tur = await s.command(0, cdb(0x00));
        expect(decodeSense(tur.sense!).name).toBe('LOGICAL_UNIT_NOT_SUPPORTED');
      } finally {
        await s.logout();
      }
    });
  });
}

describe('CHAP configured on the library', () => {
  let dir: string;
  let lib: VirtualLibrary;
  let port: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtl-chap-'));
    lib = await VirtualLibrary.start({
      dataDir: dir,
      portals: ['127.0.0.1:0'],
      targetName: TARGET,
      drives: [{ load: 'C00001L8' }],
      auth: { chap: { user: 'backup', secret: 'tape-secret-0001' } },
    });
    port = lib.portals[0].port;
  });
  afterAll(async () => {
    await lib?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('libiscsi logs in with the right secret', async () => {
    const r = await run('iscsi-inq', [`iscsi://backup%tape-secret-0001@127.0.0.1:${port}/${TARGET}/1`]);
    expect(r.stdout).toMatch(/Product:ULT3580-TD8/);
  });

  it('libiscsi is refused with a wrong secret, and without credentials', async () => {
    await expect(
      run('iscsi-inq', [`iscsi://backup%wrong-secret-01@127.0.0.1:${port}/${TARGET}/1`]),
    ).rejects.toThrow();
    await expect(run('iscsi-inq', [`iscsi://127.0.0.1:${port}/${TARGET}/1`])).rejects.toThrow();
  });
});

describe('connection limit', () => {
  it('closes connections beyond iscsi.maxConnections and keeps serving the others', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtl-max-'));
    const lib = await VirtualLibrary.start({
      dataDir: dir,
      portals: ['127.0.0.1:0'],
      targetName: TARGET,
      drives: [{}],
      iscsi: { maxConnections: 2 },
    });
    const port = lib.portals[0].port;
    const { connect } = await import('node:net');
    const open = (): Promise<import('node:net').Socket> =>
      new Promise((res, rej) => {
        const s = connect(port, '127.0.0.1', () => res(s));
        s.on('error', rej);
      });
    const closed = (s: import('node:net').Socket): Promise<boolean> =>
      new Promise((res) => {
        const t = setTimeout(() => res(false), 1000);
        s.on('close', () => {
          clearTimeout(t);
          res(true);
        });
        s.resume();
      });
    try {
      const a = await open();
      const b = await open();
      const c = await open();
      expect(await closed(c)).toBe(true);
      a.destroy();
      await new Promise((r) => setTimeout(r, 100));
      // A slot is free again: a real login works.
      const s = await Initiator.connect({
        host: '127.0.0.1',
        port,
        targetName: TARGET,
        initiatorName: 'iqn.2026-11.test:max',
      });
      await s.logout();
      b.destroy();
    } finally {
      await lib.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('library with a changer', () => {
  const config = (dataDir: string) => ({
    dataDir,
    portals: ['127.0.0.1:0'],
    targetName: TARGET,
    drives: [{}, {}],
    changer: { slots: 8, mailslots: 2, cartridges: ['A00001L8..A00004L8', 'CLN001L1'] },
  });

  it('serves the changer at LUN 0 and keeps the inventory across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vtl-changer-'));
    try {
      let lib = await VirtualLibrary.start(config(dir));
      const port = lib.portals[0].port;
      const { stdout } = await run('iscsi-ls', ['-s', `iscsi://127.0.0.1:${port}`]);
      expect(stdout).toMatch(/Lun:0\s+Type:MEDIA_CHANGER/);
      expect(stdout).toMatch(/Lun:1\s+Type:SEQUENTIAL_ACCESS/);
      const inv = lib.inventory!;
      await inv.move({ type: 'slot', index: 1 }, { type: 'drive', index: 0 });
      await inv.move({ type: 'slot', index: 2 }, { type: 'mailslot', index: 1 });
      const before = inv.list().map((c) => [c.barcode, c.location]);
      expect(lib.drives[0].drive.cartridgeInDrive?.label).toBe('A00002L8');
      await lib.stop();

      lib = await VirtualLibrary.start(config(dir));
      expect(lib.inventory!.list().map((c) => [c.barcode, c.location])).toEqual(before);
      expect(lib.inventory!.list()).toHaveLength(5); // created once, not again on restart
      expect(lib.drives[0].drive.cartridgeInDrive?.label).toBe('A00002L8');
      await lib.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses drives[].load when a changer loads the drives', async () => {
    await expect(
      VirtualLibrary.start({ ...config('/nonexistent'), drives: [{ load: 'A00001L8' }] }),
    ).rejects.toThrow(/drives\.0\.load: with a changer the changer loads the drives/);
  });
});
