/**
 * READ(6) / WRITE(6) in variable and fixed mode with every reply shape of clients.md section 4:
 * ILI residues (short with and without SILI, overlength), FILEMARK, BLANK CHECK at EOD, early
 * warning, VOLUME OVERFLOW, DATA PROTECT and the CDB checks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SENSE, SenseKey } from '../../../src/target/scsi/sense.js';
import { Harness, SPACE, block, cdb, where } from './harness.js';

const GOOD = 0;
const CHECK = 2;

let h: Harness;
beforeEach(async () => {
  h = await new Harness().start();
});
afterEach(async () => {
  await h.close();
});

async function setFixed(blockLength: number): Promise<void> {
  const list = Buffer.from([
    0,
    0,
    0x10,
    8,
    0,
    0,
    0,
    0,
    0,
    (blockLength >> 16) & 0xff,
    (blockLength >> 8) & 0xff,
    blockLength & 0xff,
  ]);
  const r = await h.exec(cdb.modeSelect6(list.length), { dataOut: list });
  expect(r.status).toBe(GOOD);
}

describe('without a cartridge', () => {
  it('TEST UNIT READY, READ and WRITE answer NOT READY, MEDIUM NOT PRESENT', async () => {
    for (const c of [cdb.testUnitReady(), cdb.read6(512), cdb.readPosition(0)]) {
      const r = await h.exec(c);
      expect(r.status).toBe(CHECK);
      expect(r.sense?.name).toBe('MEDIUM_NOT_PRESENT');
    }
    const w = await h.exec(cdb.write6(4), { dataOut: Buffer.alloc(4) });
    expect(w.sense).toMatchObject({ key: SenseKey.NOT_READY, asc: 0x3a, ascq: 0 });
  });

  it('a malformed CDB is ILLEGAL REQUEST before NOT READY', async () => {
    const r = await h.exec(cdb.read6(1, { fixed: true, sili: true }));
    expect(r.sense).toMatchObject({
      name: 'INVALID_FIELD_IN_CDB',
      fieldPointer: 1,
      bitPointer: 1,
      inCdb: true,
    });
  });
});

describe('variable-block mode', () => {
  beforeEach(async () => {
    await h.insert();
  });

  it('writes and reads back blocks of different sizes exactly', async () => {
    const sizes = [1, 512, 65536, 262144, 10240];
    for (const [i, n] of sizes.entries()) {
      const r = await h.exec(cdb.write6(n), { dataOut: block(i, n) });
      expect(r.status).toBe(GOOD);
    }
    expect((await h.exec(cdb.rewind())).status).toBe(GOOD);
    for (const [i, n] of sizes.entries()) {
      const r = await h.exec(cdb.read6(n));
      expect(r.status).toBe(GOOD);
      expect(r.data.equals(block(i, n))).toBe(true);
    }
  });

  it('a short block with SILI=0 is NO SENSE + ILI with INFORMATION = requested - actual, data returned', async () => {
    await h.exec(cdb.write6(1000), { dataOut: block(1, 1000) });
    await h.exec(cdb.rewind());
    const r = await h.exec(cdb.read6(4096));
    expect(r.status).toBe(CHECK);
    expect(r.sense).toMatchObject({
      key: SenseKey.NO_SENSE,
      asc: 0,
      ascq: 0,
      ili: true,
      filemark: false,
      eom: false,
      information: 3096,
    });
    expect(r.data.equals(block(1, 1000))).toBe(true);
    expect(await where(h)).toEqual({ object: 1, file: 0 });
  });

  it('a short block with SILI=1 is GOOD with the short data (underflow residual)', async () => {
    await h.exec(cdb.write6(1000), { dataOut: block(1, 1000) });
    await h.exec(cdb.rewind());
    const r = await h.exec(cdb.read6(262144, { sili: true }));
    expect(r.status).toBe(GOOD);
    expect(r.data.length).toBe(1000);
  });

  it('an overlength block is ILI with a negative INFORMATION and the truncated data, SILI or not', async () => {
    await h.exec(cdb.write6(3000), { dataOut: block(2, 3000) });
    await h.exec(cdb.write6(3000), { dataOut: block(3, 3000) });
    await h.exec(cdb.rewind());
    for (const sili of [false, true]) {
      const r = await h.exec(cdb.read6(1024, { sili }));
      expect(r.status).toBe(CHECK);
      expect(r.sense).toMatchObject({ key: SenseKey.NO_SENSE, ili: true, information: 1024 - 3000 });
      expect(r.data.equals(block(sili ? 3 : 2, 3000).subarray(0, 1024))).toBe(true);
    }
    // The head moved past both blocks.
    expect(await where(h)).toEqual({ object: 2, file: 0 });
  });

  it('reading a filemark is NO SENSE + FILEMARK 00/01, INFORMATION = request, head past the mark', async () => {
    await h.exec(cdb.write6(100), { dataOut: block(1, 100) });
    await h.exec(cdb.writeFilemarks6(1));
    await h.exec(cdb.write6(100), { dataOut: block(2, 100) });
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.read6(100))).status).toBe(GOOD);
    const fm = await h.exec(cdb.read6(512));
    expect(fm.status).toBe(CHECK);
    expect(fm.sense).toMatchObject({
      name: 'FILEMARK_DETECTED',
      filemark: true,
      eom: false,
      ili: false,
      information: 512,
    });
    expect(fm.data.length).toBe(0);
    expect(await where(h)).toEqual({ object: 2, file: 1 });
    const next = await h.exec(cdb.read6(100));
    expect(next.data.equals(block(2, 100))).toBe(true);
  });

  it('reading at end of data is BLANK CHECK 00/05 with EOM clear and the residue; the head stays', async () => {
    await h.exec(cdb.write6(100), { dataOut: block(1, 100) });
    const r = await h.exec(cdb.read6(4096));
    expect(r.sense).toMatchObject({
      key: SenseKey.BLANK_CHECK,
      asc: 0,
      ascq: 5,
      eom: false,
      filemark: false,
      information: 4096,
    });
    expect(await where(h)).toEqual({ object: 1, file: 0 });
  });

  it('a blank tape reads BLANK CHECK at BOP (PBS: empty tape)', async () => {
    const r = await h.exec(cdb.read6(262144, { sili: true }));
    expect(r.sense?.name).toBe('END_OF_DATA_DETECTED');
  });

  it('TRANSFER LENGTH 0 transfers nothing and does not move', async () => {
    await h.exec(cdb.write6(10), { dataOut: block(1, 10) });
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.read6(0))).status).toBe(GOOD);
    expect((await h.exec(cdb.write6(0))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });

  it('a block longer than READ BLOCK LIMITS is INVALID FIELD IN CDB at the transfer length', async () => {
    const n = 0x800001;
    const r = await h.exec(cdb.write6(n), { dataOut: Buffer.alloc(n) });
    expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 2, inCdb: true });
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });

  it('a block of exactly the maximum is written', async () => {
    const n = 0x800000;
    expect((await h.exec(cdb.write6(n), { dataOut: Buffer.alloc(n, 7) })).status).toBe(GOOD);
  });

  it('writing in the middle truncates what follows', async () => {
    for (let i = 0; i < 5; i++) await h.exec(cdb.write6(64), { dataOut: block(i, 64) });
    await h.exec(cdb.writeFilemarks6(1));
    await h.exec(cdb.rewind());
    await h.exec(cdb.space6(SPACE.BLOCKS, 2));
    await h.exec(cdb.write6(64), { dataOut: block(99, 64) });
    expect(await where(h)).toEqual({ object: 3, file: 0 });
    expect((await h.exec(cdb.read6(64))).sense?.name).toBe('END_OF_DATA_DETECTED');
    await h.exec(cdb.rewind());
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect(await where(h)).toEqual({ object: 3, file: 0 });
  });

  it('WRITE with fewer Data-Out bytes than the CDB asks is refused and writes nothing', async () => {
    const r = await h.exec(cdb.write6(1000), { dataOut: Buffer.alloc(500), expectedLength: 500 });
    expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 2 });
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });
});

describe('fixed-block mode', () => {
  beforeEach(async () => {
    await h.insert();
  });

  it('FIXED=1 with block length 0 is INVALID FIELD IN CDB (byte 1 bit 0)', async () => {
    for (const c of [cdb.read6(1, { fixed: true }), cdb.write6(1, { fixed: true })]) {
      const r = await h.exec(c, { dataOut: Buffer.alloc(512) });
      expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 1, bitPointer: 0 });
    }
  });

  it('writes N blocks of the mode block length and reads them back as blocks', async () => {
    await setFixed(512);
    const data = Buffer.concat([block(1, 512), block(2, 512), block(3, 512)]);
    expect((await h.exec(cdb.write6(3, { fixed: true }), { dataOut: data })).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 3, file: 0 });
    await h.exec(cdb.rewind());
    const r = await h.exec(cdb.read6(3, { fixed: true }));
    expect(r.status).toBe(GOOD);
    expect(r.data.equals(data)).toBe(true);
  });

  it('stops at a filemark with the blocks read so far, INFORMATION in blocks', async () => {
    await setFixed(512);
    await h.exec(cdb.write6(2, { fixed: true }), { dataOut: Buffer.concat([block(1, 512), block(2, 512)]) });
    await h.exec(cdb.writeFilemarks6(1));
    await h.exec(cdb.rewind());
    const r = await h.exec(cdb.read6(5, { fixed: true }));
    expect(r.status).toBe(CHECK);
    expect(r.sense).toMatchObject({ name: 'FILEMARK_DETECTED', filemark: true, information: 3 });
    expect(r.data.equals(Buffer.concat([block(1, 512), block(2, 512)]))).toBe(true);
    expect(await where(h)).toEqual({ object: 3, file: 1 });
  });

  it('stops at end of data with BLANK CHECK and the blocks read', async () => {
    await setFixed(1024);
    await h.exec(cdb.write6(1, { fixed: true }), { dataOut: block(1, 1024) });
    await h.exec(cdb.rewind());
    const r = await h.exec(cdb.read6(4, { fixed: true }));
    expect(r.sense).toMatchObject({ name: 'END_OF_DATA_DETECTED', information: 3, eom: false });
    expect(r.data.length).toBe(1024);
  });

  it('a block of another length is ILI with the blocks not read; the wrong block is passed', async () => {
    await h.exec(cdb.write6(512), { dataOut: block(1, 512) });
    await h.exec(cdb.write6(700), { dataOut: block(2, 700) });
    await h.exec(cdb.write6(512), { dataOut: block(3, 512) });
    await setFixed(512);
    await h.exec(cdb.rewind());
    const r = await h.exec(cdb.read6(3, { fixed: true }));
    expect(r.sense).toMatchObject({ key: SenseKey.NO_SENSE, ili: true, information: 2 });
    expect(r.data.equals(block(1, 512))).toBe(true);
    expect(await where(h)).toEqual({ object: 2, file: 0 });
  });

  it('SILI with FIXED is INVALID FIELD IN CDB', async () => {
    await setFixed(512);
    const r = await h.exec(cdb.read6(1, { fixed: true, sili: true }));
    expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 1, bitPointer: 1 });
  });
});

describe('end of medium and protection', () => {
  it('every write inside early warning is NO SENSE + EOM 00/02 with INFORMATION 0, data written', async () => {
    await h.insert({ capacity: 100_000, earlyWarning: 30_000 });
    for (let i = 0; i < 6; i++)
      expect((await h.exec(cdb.write6(10_000), { dataOut: block(i, 10_000) })).status).toBe(GOOD);
    for (let i = 6; i < 9; i++) {
      const r = await h.exec(cdb.write6(10_000), { dataOut: block(i, 10_000) });
      expect(r.status).toBe(CHECK);
      expect(r.sense).toMatchObject({ key: SenseKey.NO_SENSE, asc: 0, ascq: 2, eom: true, information: 0 });
    }
    const fm = await h.exec(cdb.writeFilemarks6(1));
    expect(fm.sense).toMatchObject({ name: 'END_OF_PARTITION_MEDIUM_DETECTED', eom: true });
    // READ POSITION long says so too (LTFS reads EOP/BPEW from byte 0).
    const pos = await h.exec(cdb.readPosition(0x06), { expectedLength: 32 });
    expect(pos.data[0] & 0x41).toBe(0x41);
    await h.exec(cdb.rewind());
    for (let i = 0; i < 9; i++)
      expect((await h.exec(cdb.read6(10_000))).data.equals(block(i, 10_000))).toBe(true);
  });

  it('a write past the physical end is VOLUME OVERFLOW with EOM and INFORMATION = not written', async () => {
    await h.insert({ capacity: 25_000, earlyWarning: 5_000 });
    await h.exec(cdb.write6(20_000), { dataOut: block(1, 20_000) });
    const r = await h.exec(cdb.write6(10_000), { dataOut: block(2, 10_000) });
    expect(r.sense).toMatchObject({
      key: SenseKey.VOLUME_OVERFLOW,
      asc: 0,
      ascq: 2,
      eom: true,
      information: 10_000,
    });
    expect(await where(h)).toEqual({ object: 1, file: 0 });
  });

  it('fixed mode writes the blocks that fit and reports the blocks not written', async () => {
    await h.insert({ capacity: 3_000, earlyWarning: 0 });
    await setFixed(1000);
    const r = await h.exec(cdb.write6(5, { fixed: true }), { dataOut: Buffer.alloc(5000) });
    expect(r.sense).toMatchObject({ name: 'VOLUME_OVERFLOW', eom: true, information: 2 });
    expect(await where(h)).toEqual({ object: 3, file: 0 });
  });

  it('a write-protected cartridge refuses WRITE, WRITE FILEMARKS and ERASE with DATA PROTECT 27/00', async () => {
    await h.insert({ writeProtected: true });
    const w = await h.exec(cdb.write6(4), { dataOut: Buffer.alloc(4) });
    expect(w.sense).toMatchObject({ key: SenseKey.DATA_PROTECT, asc: 0x27, ascq: 0 });
    expect((await h.exec(cdb.writeFilemarks6(1))).sense?.name).toBe('WRITE_PROTECTED');
    expect((await h.exec(cdb.erase6())).sense?.name).toBe('WRITE_PROTECTED');
    // A flush (count 0) changes nothing and is allowed.
    expect((await h.exec(cdb.writeFilemarks6(0))).status).toBe(GOOD);
    // TapeAlert flag 9 (write protect) is raised and cleared by reading the page.
    const log = await h.exec(cdb.logSense(0x2e));
    expect(log.status).toBe(GOOD);
    const flag9 = log.data.subarray(4).findIndex((_, i, a) => i % 5 === 0 && a.readUInt16BE(i) === 9);
    expect(log.data[4 + flag9 + 4]).toBe(1);
    const again = await h.exec(cdb.logSense(0x2e));
    expect(again.data[4 + flag9 + 4]).toBe(0);
  });

  it('a WORM cartridge appends but refuses to overwrite data with DATA PROTECT 30/0C', async () => {
    await h.insert({ mediaType: 'LTO8-WORM' });
    await h.exec(cdb.write6(10), { dataOut: block(1, 10) });
    await h.exec(cdb.write6(10), { dataOut: block(2, 10) });
    await h.exec(cdb.rewind());
    const r = await h.exec(cdb.write6(10), { dataOut: block(3, 10) });
    expect(r.sense).toMatchObject({ key: SenseKey.DATA_PROTECT, asc: 0x30, ascq: 0x0c });
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect((await h.exec(cdb.write6(10), { dataOut: block(3, 10) })).status).toBe(GOOD);
  });

  it('an older generation the drive only reads is write-protected; one it cannot read is incompatible', async () => {
    const ro = await new Harness(undefined, { model: 'IBM ULT3580-TD7' }).start();
    await ro.insert({ mediaType: 'LTO5', label: 'OLD001L5' });
    const w = await ro.exec(cdb.write6(4), { dataOut: Buffer.alloc(4) });
    // HP/IBM LTO references: writing a generation the drive only reads is 30/05.
    expect(w.sense).toMatchObject({ key: SenseKey.DATA_PROTECT, asc: 0x30, ascq: 0x05 });
    const ms = await ro.exec(cdb.modeSense6(0, 12));
    expect(ms.data[2] & 0x80).toBe(0x80);
    await ro.close();

    const inc = await new Harness(undefined, { model: 'IBM ULT3580-TD8' }).start();
    await inc.insert({ mediaType: 'LTO5', label: 'OLD002L5' });
    const t = await inc.exec(cdb.testUnitReady());
    expect(t.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x30, ascq: 0x00 });
    expect(SENSE.INCOMPATIBLE_MEDIUM_INSTALLED.asc).toBe(0x30);
    await inc.close();
  });
});
