/**
 * Mode data (header, block descriptor, pages 0Fh/10h/1Dh; 11h is in partitions.test.ts), MODE
 * SELECT of block length, density and buffered mode, READ BLOCK LIMITS, REPORT DENSITY SUPPORT, the log pages and the
 * identity a tape drive reports.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { DRIVE_MODELS, mediumTypeCode } from '../../../src/vtl/ssc/index.js';
import { num, paramMap } from './decode.js';
import { Harness, block, cdb } from './harness.js';

const GOOD = 0;

let h: Harness;
beforeEach(async () => {
  h = await new Harness(undefined, { compression: true }).start();
});
afterEach(async () => {
  await h.close();
});

/** MODE SELECT(6) with a header and one block descriptor, as st sends for MTSETBLK. */
function select6List(o: { density?: number; blockLength?: number; deviceSpecific?: number } = {}): Buffer {
  const b = Buffer.alloc(12);
  b[2] = o.deviceSpecific ?? 0x10;
  b[3] = 8;
  b[4] = o.density ?? 0;
  b.writeUIntBE(o.blockLength ?? 0, 9, 3);
  return b;
}

describe('MODE SENSE header and block descriptor', () => {
  it('st open: MODE SENSE(6) page 0 with allocation 12 gives density, block length, buffered mode', async () => {
    await h.insert();
    const r = await h.exec(cdb.modeSense6(0x00, 12));
    expect(r.status).toBe(GOOD);
    expect(r.data.length).toBe(12);
    expect(r.data[0]).toBe(11);
    expect(r.data[1]).toBe(0x88); // IBM LTO-8 data cartridge
    expect(r.data[2]).toBe(0x10); // WP 0, BUFFERED MODE 1
    expect(r.data[3]).toBe(8);
    expect(r.data[4]).toBe(0x5e);
    expect(r.data.readUIntBE(5, 3)).toBe(0);
    expect(r.data.readUIntBE(9, 3)).toBe(0);
  });

  it('MODE SENSE(10) without a cartridge still has an 8-byte descriptor with density 00h', async () => {
    const r = await h.exec(cdb.modeSense10(0x0f, 0x1000));
    expect(r.status).toBe(GOOD);
    expect(r.data.readUInt16BE(6)).toBe(8);
    expect(r.data[8]).toBe(0x00);
    expect(r.data[2]).toBe(0x00);
  });

  it('PBS: MODE SENSE(10) 0Fh returns exactly mode data length + 2 bytes and echoes back through MODE SELECT(10)', async () => {
    await h.insert();
    const r = await h.exec(cdb.modeSense10(0x0f, 0x1000));
    expect(r.data.length).toBe(32);
    expect(r.data.readUInt16BE(0) + 2).toBe(r.data.length);
    const page = r.data.subarray(16);
    expect(page[0]).toBe(0x0f);
    expect(page[1]).toBe(0x0e);
    expect(page[2] & 0xc0).toBe(0xc0); // DCE and DCC
    // PBS set_drive_options: mode data length zeroed, buffered mode 1, variable blocks, DCE=1.
    const list = Buffer.from(r.data);
    list.writeUInt16BE(0, 0);
    list[3] = 0x10;
    list.writeUIntBE(0, 13, 3);
    list[16 + 2] = 0x80 | 0x40;
    expect((await h.exec(cdb.modeSelect10(list.length), { dataOut: list })).status).toBe(GOOD);
    // Turning compression off is seen in both pages.
    list[16 + 2] = 0x40;
    expect((await h.exec(cdb.modeSelect10(list.length), { dataOut: list })).status).toBe(GOOD);
    expect(h.drive.compression).toBe(false);
    const cfg = await h.exec(cdb.modeSense10(0x10, 0x1000));
    expect(cfg.data[16 + 14]).toBe(0);
    // Other initiators are told the mode parameters changed.
    expect((await h.exec(cdb.testUnitReady(), { nexus: h.other })).sense).toMatchObject({
      asc: 0x2a,
      ascq: 0x01,
    });
  });

  it('the WP bit follows the cartridge', async () => {
    await h.insert({ writeProtected: true });
    const r = await h.exec(cdb.modeSense10(0x10, 0x1000));
    expect(r.data[3] & 0x80).toBe(0x80);
  });

  it('medium type codes per generation and vendor style', () => {
    const ibm = DRIVE_MODELS.find((m) => m.key === 'IBM ULT3580-TD9')!;
    const hpe = DRIVE_MODELS.find((m) => m.key === 'HPE Ultrium 9-SCSI')!;
    expect(mediumTypeCode(ibm, 'LTO9')).toBe(0x98);
    expect(mediumTypeCode(ibm, 'LTO8-WORM')).toBe(0x8c);
    expect(mediumTypeCode(ibm, 'LTO5')).toBe(0x58);
    expect(mediumTypeCode(hpe, 'LTO9')).toBe(0x00);
    expect(mediumTypeCode(hpe, 'LTO9-WORM')).toBe(0x01);
  });
});

describe('MODE SELECT of the block descriptor', () => {
  beforeEach(async () => {
    await h.insert();
  });

  it('sets a fixed block length and back to variable (mt setblk)', async () => {
    expect((await h.exec(cdb.modeSelect6(12), { dataOut: select6List({ blockLength: 512 }) })).status).toBe(
      GOOD,
    );
    expect((await h.exec(cdb.modeSense6(0, 12))).data.readUIntBE(9, 3)).toBe(512);
    expect(h.drive.blockLength).toBe(512);
    expect((await h.exec(cdb.modeSelect6(12), { dataOut: select6List({ blockLength: 0 }) })).status).toBe(
      GOOD,
    );
    expect(h.drive.blockLength).toBe(0);
  });

  it('a block length above the maximum is INVALID FIELD IN PARAMETER LIST at the block length', async () => {
    const r = await h.exec(cdb.modeSelect6(12), { dataOut: select6List({ blockLength: 0x800001 }) });
    expect(r.sense).toMatchObject({
      key: SenseKey.ILLEGAL_REQUEST,
      asc: 0x26,
      ascq: 0,
      inCdb: false,
      fieldPointer: 9,
    });
    expect(h.drive.blockLength).toBe(0);
  });

  it('density 00h and the current density are accepted; another is INVALID FIELD IN PARAMETER LIST', async () => {
    expect((await h.exec(cdb.modeSelect6(12), { dataOut: select6List({ density: 0x5e }) })).status).toBe(
      GOOD,
    );
    const r = await h.exec(cdb.modeSelect6(12), { dataOut: select6List({ density: 0x42 }) });
    expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_PARAMETER_LIST', fieldPointer: 4 });
  });

  it('buffered mode is changeable (mt drvbuffer); reserved values are refused', async () => {
    expect(
      (await h.exec(cdb.modeSelect6(12), { dataOut: select6List({ deviceSpecific: 0x00 }) })).status,
    ).toBe(GOOD);
    expect((await h.exec(cdb.modeSense6(0, 12))).data[2]).toBe(0x00);
    const r = await h.exec(cdb.modeSelect6(12), { dataOut: select6List({ deviceSpecific: 0x30 }) });
    expect(r.sense?.name).toBe('INVALID_FIELD_IN_PARAMETER_LIST');
    expect(h.drive.bufferedMode).toBe(0);
  });
});

describe('mode pages', () => {
  it('0Fh changeable mask has only DCE', async () => {
    const r = await h.exec(cdb.modeSense6(0x0f, 255, { dbd: true, pc: 1 }));
    expect([...r.data.subarray(4)]).toEqual([0x0f, 0x0e, 0x80, ...new Array<number>(13).fill(0)]);
  });

  it('10h device configuration: LOIS, EEG, SEW set; write delay and compression selectable', async () => {
    await h.insert();
    const r = await h.exec(cdb.modeSense6(0x10, 255, { dbd: true }));
    const page = r.data.subarray(4);
    expect(page.length).toBe(16);
    expect(page[1]).toBe(0x0e);
    expect(page[8] & 0x40).toBe(0x40);
    expect(page[10] & 0x18).toBe(0x18);
    expect(page[14]).toBe(1);
    const list = Buffer.concat([Buffer.from([0, 0, 0x10, 0]), page]);
    list.writeUInt16BE(50, 4 + 6);
    list[4 + 14] = 0;
    expect((await h.exec(cdb.modeSelect6(list.length), { dataOut: list })).status).toBe(GOOD);
    expect(h.drive.writeDelayTime).toBe(50);
    expect(h.drive.compression).toBe(false);
    list[4 + 14] = 7;
    expect((await h.exec(cdb.modeSelect6(list.length), { dataOut: list })).sense).toMatchObject({
      name: 'INVALID_FIELD_IN_PARAMETER_LIST',
      fieldPointer: 18,
    });
    // A non-changeable field (LOIS) may not be changed.
    list[4 + 14] = 1;
    list[4 + 8] = 0;
    expect((await h.exec(cdb.modeSelect6(list.length), { dataOut: list })).sense).toMatchObject({
      name: 'INVALID_FIELD_IN_PARAMETER_LIST',
      fieldPointer: 12,
    });
  });

  it('1Dh medium configuration: page length 1Eh, WORMM for WORM cartridges', async () => {
    await h.insert({ mediaType: 'LTO8-WORM' });
    const r = await h.exec(cdb.modeSense10(0x1d, 255));
    const page = r.data.subarray(16);
    expect(page.length).toBe(32);
    expect(page[1]).toBe(0x1e);
    expect(page[2] & 0x01).toBe(1);
    expect(r.data[2]).toBe(0x8c);
  });

  it('3Fh returns every page (LTFS at load)', async () => {
    await h.insert();
    const r = await h.exec(cdb.modeSense10(0x3f, 0xffff));
    const codes: number[] = [];
    for (let off = 16; off < r.data.length; off += r.data[off + 1] + 2) codes.push(r.data[off] & 0x3f);
    expect(codes).toEqual(expect.arrayContaining([0x0a, 0x0f, 0x10, 0x11, 0x1c, 0x1d]));
    expect(r.data.readUInt16BE(0) + 2).toBe(r.data.length);
  });
});

describe('READ BLOCK LIMITS', () => {
  it('granularity 0, maximum 8 MiB, minimum 1, without a cartridge', async () => {
    const r = await h.exec(cdb.readBlockLimits());
    expect([...r.data]).toEqual([0x00, 0x80, 0x00, 0x00, 0x00, 0x01]);
  });

  it('reports a configured maximum', async () => {
    const small = await new Harness(undefined, { maxBlockLength: 0x100000 }).start();
    expect((await small.exec(cdb.readBlockLimits())).data.readUIntBE(1, 3)).toBe(0x100000);
    await small.close();
  });

  it('MLOC=1 gives the 20-byte form with the maximum logical object identifier', async () => {
    const r = await h.exec(cdb.readBlockLimits(true));
    expect(r.data.length).toBe(20);
    expect(r.data.readBigUInt64BE(12)).toBe(0xffffffffn);
  });
});

describe('REPORT DENSITY SUPPORT', () => {
  function descriptors(
    data: Buffer,
  ): { code: number; wrtok: boolean; deflt: boolean; capacity: number; name: string }[] {
    const out = [];
    for (let off = 4; off + 52 <= data.length; off += 52) {
      out.push({
        code: data[off],
        wrtok: (data[off + 2] & 0x80) !== 0,
        deflt: (data[off + 2] & 0x20) !== 0,
        capacity: data.readUInt32BE(off + 12),
        name: data.toString('latin1', off + 24, off + 32).trim(),
      });
    }
    return out;
  }

  it('MEDIA=0 on an LTO-8 drive: LTO-8 (default), M8 and LTO-7, all writable; PBS takes the highest', async () => {
    const r = await h.exec(cdb.reportDensitySupport());
    expect(r.data.readUInt16BE(0)).toBe(r.data.length - 2);
    const d = descriptors(r.data);
    expect(d.map((x) => x.code)).toEqual([0x5e, 0x5d, 0x5c]);
    expect(d.every((x) => x.wrtok)).toBe(true);
    expect(d.map((x) => x.deflt)).toEqual([true, false, false]);
    expect(d[0].capacity).toBe(12_000_000);
    expect(Math.max(...d.map((x) => x.code))).toBe(0x5e);
    expect(r.data[4 + 3] * 256 + r.data[4 + 4]).toBe(49);
  });

  it('an LTO-7 drive reads LTO-5 without writing it', async () => {
    const lto7 = await new Harness(undefined, { model: 'IBM ULT3580-TD7' }).start();
    const d = descriptors((await lto7.exec(cdb.reportDensitySupport())).data);
    expect(d.map((x) => [x.code, x.wrtok])).toEqual([
      [0x5c, true],
      [0x5a, true],
      [0x58, false],
    ]);
    await lto7.close();
  });

  it('MEDIA=1 lists what the loaded cartridge can hold; without one NOT READY', async () => {
    expect((await h.exec(cdb.reportDensitySupport({ media: true }))).sense?.name).toBe('MEDIUM_NOT_PRESENT');
    await h.insert({ mediaType: 'LTO7', label: 'SEVEN1L7' });
    const d = descriptors((await h.exec(cdb.reportDensitySupport({ media: true }))).data);
    expect(d.map((x) => [x.code, x.deflt])).toEqual([
      [0x5d, false],
      [0x5c, true],
    ]);
  });

  it('MEDIUM TYPE=1 is INVALID FIELD IN CDB; the allocation length cuts the reply', async () => {
    expect((await h.exec(cdb.reportDensitySupport({ mediumType: true }))).sense).toMatchObject({
      name: 'INVALID_FIELD_IN_CDB',
      fieldPointer: 1,
      bitPointer: 1,
    });
    expect((await h.exec(cdb.reportDensitySupport({ alloc: 10 }))).data.length).toBe(10);
  });
});

describe('log pages and identity', () => {
  it('0Ch counts the bytes written and read', async () => {
    await h.insert();
    await h.exec(cdb.write6(1000), { dataOut: block(1, 1000) });
    await h.exec(cdb.rewind());
    await h.exec(cdb.read6(1000));
    const r = await h.exec(cdb.logSense(0x0c));
    expect(r.status).toBe(GOOD);
    const params = paramMap(r.data);
    expect(num(params.get(0)!.value)).toBe(1000n);
    expect(num(params.get(3)!.value)).toBe(1000n);
    // SSC-4: 0100h CLEANING REQUIRED is 0 on a drive that does not need cleaning.
    expect(num(params.get(0x100)!.value)).toBe(0n);
  });

  it('2Eh has 64 one-byte flags', async () => {
    const r = await h.exec(cdb.logSense(0x2e));
    expect(r.data.readUInt16BE(2)).toBe(64 * 5);
  });

  it('INQUIRY: sequential-access, removable, IBM ULT3580-TD8 with a revision LTFS accepts; VPD B0h', async () => {
    const r = await h.exec(cdb.inquiry(96));
    expect(r.data[0]).toBe(0x01);
    expect(r.data[1] & 0x80).toBe(0x80);
    expect(r.data.toString('latin1', 8, 16).trim()).toBe('IBM');
    expect(r.data.toString('latin1', 16, 32).trim()).toBe('ULT3580-TD8');
    expect(r.data.toString('latin1', 32, 36) >= 'HB81').toBe(true);
    expect(r.data[6] & 0x08).toBe(0); // MCHNGR
    const b0 = await h.exec(cdb.inquiry(255, 0xb0));
    expect([...b0.data]).toEqual([0x01, 0xb0, 0x00, 0x02, 0x01, 0x00]);
    const list = await h.exec(cdb.inquiry(255, 0x00));
    expect([...list.data.subarray(4)]).toContain(0xb0);
  });
});
