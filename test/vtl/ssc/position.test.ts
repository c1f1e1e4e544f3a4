/**
 * SPACE(6)/(16), LOCATE(10)/(16), READ POSITION (short, long, extended) and REWIND: positions,
 * the FILEMARK / BLANK CHECK / BOP conditions and their INFORMATION residues, and CDB checks.
 *
 * The tape used throughout (object numbers):
 *   0 b  1 b  2 b  3 FM | 4 b  5 b  6 FM | 7 FM | 8 b  (EOD = 9)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { Harness, SPACE, block, cdb, decodeLongPosition, where } from './harness.js';

const GOOD = 0;
const CHECK = 2;

let h: Harness;

async function writeTape(): Promise<void> {
  const w = async (n: number): Promise<void> => {
    expect((await h.exec(cdb.write6(32), { dataOut: block(n, 32) })).status).toBe(GOOD);
  };
  await w(0);
  await w(1);
  await w(2);
  await h.exec(cdb.writeFilemarks6(1));
  await w(4);
  await w(5);
  await h.exec(cdb.writeFilemarks6(2));
  await w(8);
  await h.exec(cdb.rewind());
}

beforeEach(async () => {
  h = await new Harness().start();
  await h.insert();
  await writeTape();
});
afterEach(async () => {
  await h.close();
});

async function readBlockNumber(): Promise<number> {
  const r = await h.exec(cdb.read6(32));
  expect(r.status).toBe(GOOD);
  return r.data.readUInt32BE(0);
}

describe('SPACE blocks', () => {
  it('forward within a file, then over a filemark: FILEMARK 00/01, residue, EOM side', async () => {
    expect((await h.exec(cdb.space6(SPACE.BLOCKS, 2))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 2, file: 0 });
    const r = await h.exec(cdb.space6(SPACE.BLOCKS, 5));
    expect(r.status).toBe(CHECK);
    expect(r.sense).toMatchObject({
      key: SenseKey.NO_SENSE,
      asc: 0,
      ascq: 1,
      filemark: true,
      eom: false,
      information: 4,
    });
    expect(await where(h)).toEqual({ object: 4, file: 1 });
    expect(await readBlockNumber()).toBe(4);
  });

  it('backward over a filemark stops on its BOP side (PBS check_filemark after SPACE EOD)', async () => {
    await h.exec(cdb.locate10(6));
    // SPACE -1 block from just before... here: head at object 6 (the filemark); -1 → object 5.
    expect((await h.exec(cdb.space6(SPACE.BLOCKS, -1))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 5, file: 1 });
    const r = await h.exec(cdb.space6(SPACE.BLOCKS, -3));
    expect(r.sense).toMatchObject({ name: 'FILEMARK_DETECTED', filemark: true, information: 2 });
    expect(await where(h)).toEqual({ object: 3, file: 0 });
  });

  it('backward to BOP is NO SENSE + EOM 00/04 with the blocks not spaced', async () => {
    await h.exec(cdb.space6(SPACE.BLOCKS, 2));
    const r = await h.exec(cdb.space6(SPACE.BLOCKS, -5));
    expect(r.sense).toMatchObject({
      key: SenseKey.NO_SENSE,
      asc: 0,
      ascq: 4,
      eom: true,
      filemark: false,
      information: 3,
    });
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });

  it('forward into end of data is BLANK CHECK 00/05 with the residue', async () => {
    await h.exec(cdb.locate10(8));
    const r = await h.exec(cdb.space6(SPACE.BLOCKS, 3));
    expect(r.sense).toMatchObject({ key: SenseKey.BLANK_CHECK, asc: 0, ascq: 5, eom: false, information: 2 });
    expect(await where(h)).toEqual({ object: 9, file: 3 });
  });

  it('count 0 does not move', async () => {
    await h.exec(cdb.space6(SPACE.BLOCKS, 1));
    expect((await h.exec(cdb.space6(SPACE.BLOCKS, 0))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 1, file: 0 });
  });
});

describe('SPACE filemarks and end of data', () => {
  it('forward N filemarks ends after the N-th (mt fsf)', async () => {
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, 2))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 7, file: 2 });
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, 1))).status).toBe(GOOD);
    expect(await readBlockNumber()).toBe(8);
  });

  it('backward N filemarks ends before the N-th (mt bsf), negative 24-bit count', async () => {
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect((await h.exec(cdb.space6(SPACE.FILEMARKS, -2))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 6, file: 1 });
  });

  it('past the last filemark is BLANK CHECK at EOD with the filemarks not spaced', async () => {
    const r = await h.exec(cdb.space6(SPACE.FILEMARKS, 5));
    expect(r.sense).toMatchObject({ name: 'END_OF_DATA_DETECTED', information: 2 });
    expect(await where(h)).toEqual({ object: 9, file: 3 });
  });

  it('backward past BOP is EOM 00/04 with the filemarks not spaced', async () => {
    await h.exec(cdb.locate10(5));
    const r = await h.exec(cdb.space6(SPACE.FILEMARKS, -3));
    expect(r.sense).toMatchObject({
      name: 'BEGINNING_OF_PARTITION_MEDIUM_DETECTED',
      eom: true,
      information: 2,
    });
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });

  it('SPACE EOD goes to end of data whatever the count', async () => {
    expect((await h.exec(cdb.space6(SPACE.EOD, 12345))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 9, file: 3 });
  });

  it('sequential filemarks and setmarks are INVALID FIELD IN CDB at the code', async () => {
    for (const code of [SPACE.SEQUENTIAL_FILEMARKS, SPACE.SETMARKS, 5]) {
      const r = await h.exec(cdb.space6(code, 1));
      expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 1, bitPointer: 3 });
    }
    const r16 = await h.exec(cdb.space16(SPACE.SEQUENTIAL_FILEMARKS, 1));
    expect(r16.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 1 });
  });
});

describe('SPACE(16)', () => {
  it('blocks, filemarks and EOD with 64-bit signed counts', async () => {
    expect((await h.exec(cdb.space16(SPACE.FILEMARKS, 1))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 4, file: 1 });
    expect((await h.exec(cdb.space16(SPACE.BLOCKS, 1))).status).toBe(GOOD);
    expect((await h.exec(cdb.space16(SPACE.BLOCKS, -1))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 4, file: 1 });
    const r = await h.exec(cdb.space16(SPACE.BLOCKS, -2));
    expect(r.sense).toMatchObject({ name: 'FILEMARK_DETECTED', information: 2 });
    expect(await where(h)).toEqual({ object: 3, file: 0 });
    expect((await h.exec(cdb.space16(SPACE.EOD, 0))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 9, file: 3 });
  });

  it('a count beyond 2^23 (PBS uses SPACE(16) then) spaces to EOD with the residue', async () => {
    const r = await h.exec(cdb.space16(SPACE.FILEMARKS, 0x1000000));
    expect(r.sense).toMatchObject({ name: 'END_OF_DATA_DETECTED', information: 0x1000000 - 3 });
  });

  it('a non-zero reserved PARAMETER LENGTH is INVALID FIELD IN CDB', async () => {
    const r = await h.exec(cdb.space16(SPACE.BLOCKS, 1, 4));
    expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 13 });
  });
});

describe('LOCATE', () => {
  it('LOCATE(10) to a logical object, with BT and IMMED accepted', async () => {
    expect((await h.exec(cdb.locate10(5, { bt: true, immed: true }))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 5, file: 1 });
    expect(await readBlockNumber()).toBe(5);
    expect((await h.exec(cdb.locate10(0))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });

  it('to end of data exactly is GOOD; beyond is BLANK CHECK 00/05 with the head at EOD', async () => {
    expect((await h.exec(cdb.locate10(9))).status).toBe(GOOD);
    await h.exec(cdb.rewind());
    const r = await h.exec(cdb.locate16(0xffffffffn));
    expect(r.sense).toMatchObject({ key: SenseKey.BLANK_CHECK, asc: 0, ascq: 5 });
    expect(await where(h)).toEqual({ object: 9, file: 3 });
  });

  it('CP=1 with partition 0 works; another partition is INVALID FIELD at PARTITION', async () => {
    expect((await h.exec(cdb.locate10(2, { cp: true, partition: 0 }))).status).toBe(GOOD);
    const r10 = await h.exec(cdb.locate10(2, { cp: true, partition: 1 }));
    expect(r10.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 8 });
    const r16 = await h.exec(cdb.locate16(2, { cp: true, partition: 1 }));
    expect(r16.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 3 });
    // Without CP the PARTITION field is ignored.
    expect((await h.exec(cdb.locate10(2, { partition: 3 }))).status).toBe(GOOD);
  });

  it('LOCATE(16) DEST_TYPE 1 goes to the BOP side of file N (after filemark N-1)', async () => {
    expect((await h.exec(cdb.locate16(1, { destType: 1 }))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 4, file: 1 });
    expect((await h.exec(cdb.locate16(3, { destType: 1 }))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 8, file: 3 });
    expect((await h.exec(cdb.locate16(0, { destType: 1 }))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 0, file: 0 });
    const r = await h.exec(cdb.locate16(7, { destType: 1 }));
    expect(r.sense?.name).toBe('END_OF_DATA_DETECTED');
    expect(await where(h)).toEqual({ object: 9, file: 3 });
  });

  it('other DEST_TYPE values are INVALID FIELD IN CDB', async () => {
    const r = await h.exec(cdb.locate16(1, { destType: 2 }));
    expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 1, bitPointer: 5 });
  });
});

describe('READ POSITION', () => {
  it('short form (SA 00h and 01h): 20 bytes, BOP flag, first = last = object number, no BPU', async () => {
    for (const sa of [0x00, 0x01]) {
      await h.exec(cdb.rewind());
      let r = await h.exec(cdb.readPosition(sa), { expectedLength: 20 });
      expect(r.status).toBe(GOOD);
      expect(r.data.length).toBe(20);
      expect(r.data[0]).toBe(0x80);
      expect(r.data.readUInt32BE(4)).toBe(0);
      await h.exec(cdb.locate10(6));
      r = await h.exec(cdb.readPosition(sa), { expectedLength: 20 });
      expect(r.data[0]).toBe(0x00);
      expect(r.data[1]).toBe(0);
      expect(r.data.readUInt32BE(4)).toBe(6);
      expect(r.data.readUInt32BE(8)).toBe(6);
      expect(r.data.readUInt32BE(16)).toBe(0);
    }
  });

  it('long form (SA 06h) is exactly 32 bytes with partition, object number and file id', async () => {
    await h.exec(cdb.locate10(7));
    const r = await h.exec(cdb.readPosition(0x06), { expectedLength: 32 });
    expect(r.data.length).toBe(32);
    expect(decodeLongPosition(r.data)).toEqual({
      bop: false,
      eop: false,
      bpew: false,
      partition: 0,
      object: 7,
      file: 2,
    });
    await h.exec(cdb.rewind());
    const bop = decodeLongPosition((await h.exec(cdb.readPosition(0x06))).data);
    expect(bop).toMatchObject({ bop: true, object: 0, file: 0 });
  });

  it('extended form (SA 08h) is 32 bytes, ADDITIONAL LENGTH 1Ch, cut to the allocation length', async () => {
    await h.exec(cdb.locate10(4));
    const r = await h.exec(cdb.readPosition(0x08, 32));
    expect(r.data.length).toBe(32);
    expect(r.data.readUInt16BE(2)).toBe(0x1c);
    expect(Number(r.data.readBigUInt64BE(8))).toBe(4);
    expect(Number(r.data.readBigUInt64BE(16))).toBe(4);
    expect((await h.exec(cdb.readPosition(0x08, 8))).data.length).toBe(8);
  });

  it('an unknown service action is INVALID FIELD IN CDB', async () => {
    const r = await h.exec(cdb.readPosition(0x07));
    expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 1 });
  });
});

describe('REWIND', () => {
  it('returns to BOP, file 0, with IMMED too', async () => {
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect((await h.exec(cdb.rewind(true))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 0, file: 0 });
    expect(await readBlockNumber()).toBe(0);
  });
});
