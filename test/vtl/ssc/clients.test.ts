/**
 * The command sequences real clients send (clients.md section 3), replayed as CDBs: the Linux
 * st driver under mt and tar, Proxmox Backup Server's userspace driver, and Bareos/Bacula
 * btape's write/read, position, append, BSR and FSF tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { Harness, SPACE, block, cdb, decodeLongPosition, where } from './harness.js';

const GOOD = 0;
const CHECK = 2;

let h: Harness;
beforeEach(async () => {
  h = await new Harness().start();
});
afterEach(async () => {
  await h.close();
});

describe('Linux st driver (mt, tar)', () => {
  /** st_open: TUR loop (UNIT ATTENTION starts a new session), READ BLOCK LIMITS, MODE SENSE(6) page 0 / 12 bytes. */
  async function stOpen(): Promise<{ blockLength: number; density: number; wp: boolean }> {
    let tur = await h.exec(cdb.testUnitReady());
    for (let i = 0; i < 10 && tur.sense?.key === SenseKey.UNIT_ATTENTION; i++)
      tur = await h.exec(cdb.testUnitReady());
    expect(tur.status).toBe(GOOD);
    const rbl = await h.exec(cdb.readBlockLimits());
    expect(rbl.data.readUIntBE(1, 3)).toBeGreaterThanOrEqual(524288);
    const ms = await h.exec(cdb.modeSense6(0, 12));
    expect(ms.data.length).toBe(12);
    return { density: ms.data[4], blockLength: ms.data.readUIntBE(9, 3), wp: (ms.data[2] & 0x80) !== 0 };
  }

  /** tar -b 20 writes 10 KiB records, st writes one filemark at close (IMMED=0). */
  async function tarWrite(archive: number, records: number): Promise<void> {
    for (let i = 0; i < records; i++) {
      expect((await h.exec(cdb.write6(10240), { dataOut: block(archive * 1000 + i, 10240) })).status).toBe(
        GOOD,
      );
    }
    expect((await h.exec(cdb.writeFilemarks6(1))).status).toBe(GOOD);
  }

  /** st read until EOF: the FILEMARK condition makes read() return 0. */
  async function tarRead(): Promise<number[]> {
    const seen: number[] = [];
    for (;;) {
      const r = await h.exec(cdb.read6(10240));
      if (r.status === CHECK) {
        expect(r.sense).toMatchObject({ name: 'FILEMARK_DETECTED', filemark: true, information: 10240 });
        return seen;
      }
      seen.push(r.data.readUInt32BE(0));
    }
  }

  it('open with no tape: NOT READY 3A/00 (ENOMEDIUM)', async () => {
    expect((await h.exec(cdb.testUnitReady())).sense).toMatchObject({ key: SenseKey.NOT_READY, asc: 0x3a });
    // O_NONBLOCK opens still read the block limits.
    expect((await h.exec(cdb.readBlockLimits())).status).toBe(GOOD);
  });

  it('open, two tar archives, rewind, read back, fsf/bsf/eod/tell/seek', async () => {
    await h.insert();
    expect(await stOpen()).toEqual({ density: 0x5e, blockLength: 0, wp: false });
    await tarWrite(0, 5);
    await tarWrite(1, 3);
    expect((await h.exec(cdb.writeFilemarks6(2))).status).toBe(GOOD); // mt weof 2
    expect((await h.exec(cdb.rewind())).status).toBe(GOOD);
    expect(await tarRead()).toEqual([0, 1, 2, 3, 4]);
    expect(await tarRead()).toEqual([1000, 1001, 1002]);
    // mt rewind; mt fsf 1 → archive 1
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, 1))).status).toBe(GOOD);
    expect(await tarRead()).toEqual([1000, 1001, 1002]);
    // mt eod; mt bsf 1 (lands on the BOP side of the last filemark)
    expect((await h.exec(cdb.space6(SPACE.EOD, 0))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 12, file: 4 });
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, -1))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 11, file: 3 });
    // mt fsf 5 from BOP goes past EOD: BLANK CHECK with the residue (st reports EIO)
    await h.exec(cdb.rewind());
    const past = await h.exec(cdb.space6(SPACE.FILEMARKS, 5));
    expect(past.sense).toMatchObject({ key: SenseKey.BLANK_CHECK, ascq: 5, information: 1 });
    // mt tell (READ POSITION short) and mt seek (LOCATE(10))
    await h.exec(cdb.locate10(7));
    const tell = await h.exec(cdb.readPosition(0x00), { expectedLength: 20 });
    expect(tell.data[0] & 0x04).toBe(0); // BPU clear, or st returns EIO
    expect(tell.data.readUInt32BE(4)).toBe(7);
    expect((await h.exec(cdb.read6(10240))).data.readUInt32BE(0)).toBe(1001);
  });

  it('the rewinding node: write, filemark and REWIND at close; reading back from BOT', async () => {
    await h.insert();
    await stOpen();
    await h.exec(cdb.write6(512), { dataOut: Buffer.from('rewind-test'.padEnd(512, '\0')) });
    await h.exec(cdb.writeFilemarks6(1));
    await h.exec(cdb.rewind());
    const pos = decodeLongPosition((await h.exec(cdb.readPosition(0x06))).data);
    expect(pos.bop).toBe(true);
    expect((await h.exec(cdb.read6(512))).data.toString('latin1', 0, 11)).toBe('rewind-test');
  });

  it('mt setblk 512 then dd in fixed mode; mt offline', async () => {
    await h.insert();
    const list = Buffer.from([0, 0, 0x10, 8, 0, 0, 0, 0, 0, 0, 0x02, 0x00]);
    expect((await h.exec(cdb.modeSelect6(12), { dataOut: list })).status).toBe(GOOD);
    expect((await stOpen()).blockLength).toBe(512);
    const data = Buffer.concat([block(1, 512), block(2, 512), block(3, 512), block(4, 512)]);
    expect((await h.exec(cdb.write6(4, { fixed: true }), { dataOut: data })).status).toBe(GOOD);
    await h.exec(cdb.writeFilemarks6(1));
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.read6(4, { fixed: true }))).data.equals(data)).toBe(true);
    expect((await h.exec(cdb.loadUnload({ load: false }))).status).toBe(GOOD);
    expect((await h.exec(cdb.testUnitReady())).sense?.name).toBe('MEDIUM_NOT_PRESENT');
  });

  it('a write-protected cartridge shows WP at open', async () => {
    await h.insert({ writeProtected: true });
    expect((await stOpen()).wp).toBe(true);
  });
});

describe('Proxmox Backup Server (pbs-tape sg_tape.rs)', () => {
  const BLOCK = 256 * 1024;

  async function pbsOpen(): Promise<void> {
    const inq = await h.exec(cdb.inquiry(36));
    expect(inq.data[0] & 0x1f).toBe(1);
    expect((await h.exec(cdb.testUnitReady())).status).toBe(GOOD);
    const ms = await h.exec(cdb.modeSense10(0x0f, 0x1000));
    expect(ms.data.readUInt16BE(6)).toBe(8);
    expect(ms.data.length).toBe(ms.data.readUInt16BE(0) + 2);
    const list = Buffer.from(ms.data);
    list.writeUInt16BE(0, 0);
    list[3] = 0x10;
    list.writeUIntBE(0, 13, 3);
    list[18] = list[18] | 0x80;
    expect((await h.exec(cdb.modeSelect10(list.length), { dataOut: list })).status).toBe(GOOD);
  }

  async function position(): Promise<ReturnType<typeof decodeLongPosition>> {
    const r = await h.exec(cdb.readPosition(0x06), { expectedLength: 32 });
    expect(r.data.length).toBe(32);
    return decodeLongPosition(r.data);
  }

  async function writeFile(tag: number, blocks: number): Promise<void> {
    for (let i = 0; i < blocks; i++)
      expect((await h.exec(cdb.write6(BLOCK), { dataOut: block(tag * 100 + i, BLOCK) })).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(1, { immed: true }))).status).toBe(GOOD);
  }

  it('labels an empty tape, appends, locates files, and reads blocks of exactly 256 KiB', async () => {
    await h.insert();
    await pbsOpen();
    // read_label on a new tape: REWIND, READ → BLANK CHECK 8/00/05 means empty.
    await h.exec(cdb.rewind());
    const empty = await h.exec(cdb.read6(BLOCK, { sili: true }));
    expect(empty.sense).toMatchObject({ key: SenseKey.BLANK_CHECK, asc: 0, ascq: 5 });
    // Label (file 0), flush with WRITE FILEMARKS 0, media-set label (file 1).
    await writeFile(0, 1);
    expect((await h.exec(cdb.writeFilemarks6(0))).status).toBe(GOOD);
    await writeFile(1, 1);
    // Append: move_to_eom, check_filemark, then write file 2 and 3.
    expect((await h.exec(cdb.space6(SPACE.EOD, 0))).status).toBe(GOOD);
    expect((await position()).object).not.toBe(0);
    const check = await h.exec(cdb.space6(SPACE.BLOCKS, -1));
    expect(check.sense).toMatchObject({ key: SenseKey.NO_SENSE, asc: 0, ascq: 1, filemark: true });
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, 1))).status).toBe(GOOD);
    await writeFile(2, 3);
    await writeFile(3, 2);
    // locate_file(N): LOCATE(16) file N-1, SPACE 1 FM, READ POSITION must say file N (no offset).
    for (const n of [1, 2, 3]) {
      expect((await h.exec(cdb.locate16(n - 1, { destType: 1 }))).status).toBe(GOOD);
      expect((await h.exec(cdb.space16(SPACE.FILEMARKS, 1))).status).toBe(GOOD);
      expect((await position()).file).toBe(n);
      const r = await h.exec(cdb.read6(BLOCK, { sili: true }));
      expect(r.status).toBe(GOOD);
      expect(r.data.length).toBe(BLOCK);
      expect(r.data.readUInt32BE(0)).toBe(n * 100);
    }
    // move_to_last_file: EOD, SPACE -2 FM, SPACE +1 FM → start of the last file.
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, -2))).status).toBe(GOOD);
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, 1))).status).toBe(GOOD);
    expect((await position()).file).toBe(3);
    // Reading to the end of the file: the filemark is exactly 0/00/01.
    await h.exec(cdb.read6(BLOCK, { sili: true }));
    await h.exec(cdb.read6(BLOCK, { sili: true }));
    const fm = await h.exec(cdb.read6(BLOCK, { sili: true }));
    expect(fm.sense).toMatchObject({ key: 0, asc: 0, ascq: 1 });
  });

  it('status: REQUEST SENSE is fixed format 70h; READ POSITION long; partition 0', async () => {
    await h.insert();
    const rs = await h.exec(cdb.requestSense(18));
    expect(rs.data[0] & 0x7f).toBe(0x70);
    expect(await position()).toMatchObject({ partition: 0, bop: true, object: 0, file: 0 });
  });

  it('FORMAT-like erase: REWIND + ERASE LONG leaves an empty tape (SPACE EOD + READ POSITION object 0)', async () => {
    await h.insert();
    await writeFile(0, 2);
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.erase6(true))).status).toBe(GOOD);
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect((await position()).object).toBe(0);
  });

  it('eject (LOAD UNLOAD LOAD=0) then LOAD=1 and a TUR loop', async () => {
    await h.insert();
    expect((await h.exec(cdb.loadUnload({ load: false }))).status).toBe(GOOD);
    expect((await h.exec(cdb.testUnitReady())).status).toBe(CHECK);
    expect((await h.exec(cdb.loadUnload({ load: true }))).status).toBe(GOOD);
    expect((await h.exec(cdb.testUnitReady())).status).toBe(GOOD);
  });
});

describe('Bareos/Bacula btape', () => {
  const BS = 512;
  const N = 10_000;

  /** btape test step 1: N blocks, EOF, N blocks, EOF; rewind; read everything back. */
  async function writeTwoFiles(): Promise<void> {
    for (let f = 0; f < 2; f++) {
      for (let i = 0; i < N; i++) await h.exec(cdb.write6(BS), { dataOut: block(f * N + i, BS) });
      expect((await h.exec(cdb.writeFilemarks6(1))).status).toBe(GOOD);
    }
    expect((await h.exec(cdb.rewind())).status).toBe(GOOD);
  }

  it('write/rewind/read and the position test (0:4, 0:200, 0:9999, 1:0, 1:600, 1:9999)', async () => {
    await h.insert();
    await writeTwoFiles();
    let count = 0;
    for (let f = 0; f < 2; f++) {
      for (;;) {
        const r = await h.exec(cdb.read6(BS));
        if (r.status !== GOOD) {
          expect(r.sense?.name).toBe('FILEMARK_DETECTED');
          break;
        }
        expect(r.data.readUInt32BE(0)).toBe(f * N + (count % N));
        count++;
      }
    }
    expect(count).toBe(2 * N);
    for (const [file, blk] of [
      [0, 4],
      [0, 200],
      [0, 9999],
      [1, 0],
      [1, 600],
      [1, 9999],
    ] as const) {
      // Reposition: REWIND, FSF file, FSR block (btape's position test through st ioctls).
      await h.exec(cdb.rewind());
      if (file > 0) expect((await h.exec(cdb.space6(SPACE.FILEMARKS, file))).status).toBe(GOOD);
      if (blk > 0) expect((await h.exec(cdb.space6(SPACE.BLOCKS, blk))).status).toBe(GOOD);
      const r = await h.exec(cdb.read6(BS));
      expect(r.data.readUInt32BE(0)).toBe(file * N + blk);
    }
  });

  it('append test: files of 1, 2, 3 blocks, rewind, EOD is file 3, append makes file 4', async () => {
    await h.insert();
    for (const n of [1, 2, 3]) {
      for (let i = 0; i < n; i++) await h.exec(cdb.write6(BS), { dataOut: block(n * 10 + i, BS) });
      await h.exec(cdb.writeFilemarks6(1));
    }
    await h.exec(cdb.rewind());
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect((await where(h)).file).toBe(3);
    await h.exec(cdb.write6(BS), { dataOut: block(99, BS) });
    await h.exec(cdb.writeFilemarks6(1));
    expect((await where(h)).file).toBe(4);
  });

  it('BSR test: 3 blocks + EOF, BSF over the EOF, BSR 1 block, the last block reads back', async () => {
    await h.insert();
    for (let i = 0; i < 3; i++) await h.exec(cdb.write6(BS), { dataOut: block(i, BS) });
    await h.exec(cdb.writeFilemarks6(1));
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, -1))).status).toBe(GOOD);
    expect((await h.exec(cdb.space6(SPACE.BLOCKS, -1))).status).toBe(GOOD);
    expect((await h.exec(cdb.read6(BS))).data.readUInt32BE(0)).toBe(2);
  });

  it('FSF test: five files; FSF 1, FSF 2, REWIND + FSF 4, FSF 1 give files 1, 3, 4, 5', async () => {
    await h.insert();
    for (let f = 0; f < 5; f++) {
      await h.exec(cdb.write6(BS), { dataOut: block(f, BS) });
      await h.exec(cdb.writeFilemarks6(1));
    }
    await h.exec(cdb.rewind());
    await h.exec(cdb.space6(SPACE.FILEMARKS, 1));
    expect((await where(h)).file).toBe(1);
    await h.exec(cdb.space6(SPACE.FILEMARKS, 2));
    expect((await where(h)).file).toBe(3);
    await h.exec(cdb.rewind());
    await h.exec(cdb.space6(SPACE.FILEMARKS, 4));
    expect((await where(h)).file).toBe(4);
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, 1))).status).toBe(GOOD);
    expect((await where(h)).file).toBe(5);
  });

  it('fill: writes until early warning surfaces as EOM (st ENOSPC), then the last block re-reads', async () => {
    await h.insert({ capacity: 64 * BS, earlyWarning: 8 * BS });
    let written = 0;
    for (;;) {
      const r = await h.exec(cdb.write6(BS), { dataOut: block(written, BS) });
      written++;
      if (r.status === CHECK) {
        expect(r.sense).toMatchObject({ key: SenseKey.NO_SENSE, eom: true, ascq: 2, information: 0 });
        break;
      }
    }
    expect(written).toBe(56);
    expect((await h.exec(cdb.writeFilemarks6(1))).sense?.eom).toBe(true);
    await h.exec(cdb.space6(SPACE.FILEMARKS, -1));
    await h.exec(cdb.space6(SPACE.BLOCKS, -1));
    expect((await h.exec(cdb.read6(BS))).data.readUInt32BE(0)).toBe(written - 1);
  });
});
