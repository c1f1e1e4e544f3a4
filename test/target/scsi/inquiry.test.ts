import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../../src/util/bytes.js';
import { createUnsupportedLun } from '../../../src/target/scsi/index.js';
import { I1, cdb, dataOf, readyUnit, run, senseOf, target } from './processor.js';

const inquiry = (evpd: number, page: number, alloc: number): Buffer =>
  cdb(0x12, evpd, page, alloc >> 8, alloc & 0xff, 0);

/** Walks the designation descriptors of VPD 83h. */
function designators(
  page: Buffer,
): { codeSet: number; piv: boolean; protocol: number; assoc: number; type: number; value: Buffer }[] {
  const out = [];
  const r = new ByteReader(page, 4);
  while (r.remaining >= 4) {
    const b0 = r.u8();
    const b1 = r.u8();
    const len = r.skip(1).u8();
    out.push({
      codeSet: b0 & 0x0f,
      protocol: b0 >> 4,
      piv: (b1 & 0x80) !== 0,
      assoc: (b1 >> 4) & 3,
      type: b1 & 0x0f,
      value: r.bytes(len),
    });
  }
  return out;
}

describe('INQUIRY', () => {
  it('returns standard data from the identity', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, inquiry(0, 0, 255), I1));
    expect(d.length).toBe(96);
    expect(d[0]).toBe(0x03); // qualifier 000b, processor
    expect(d[1]).toBe(0x00); // not removable
    expect(d[2]).toBe(0x06); // SPC-4
    expect(d[3] & 0x0f).toBe(2); // response data format
    expect(d[4]).toBe(91); // additional length
    expect(d[6] & 0x08).toBe(0); // MCHNGR clear
    expect(d[7] & 0x02).toBe(0x02); // CMDQUE
    expect(d.subarray(8, 16).toString()).toBe('VTLTEST ');
    expect(d.subarray(16, 32).toString()).toBe('PROCESSOR       ');
    expect(d.subarray(32, 36).toString()).toBe('0001');
    expect([d.readUInt16BE(58), d.readUInt16BE(60), d.readUInt16BE(62), d.readUInt16BE(64)]).toEqual([
      0x00a0, 0x0460, 0x0960, 0,
    ]);
  });

  it('truncates to the allocation length, never failing a short one', async () => {
    const { lu } = await readyUnit(I1);
    const full = dataOf(await run(lu, inquiry(0, 0, 255), I1));
    expect(dataOf(await run(lu, inquiry(0, 0, 36), I1))).toEqual(full.subarray(0, 36));
    expect(dataOf(await run(lu, inquiry(0, 0, 5), I1))).toEqual(full.subarray(0, 5));
    expect(dataOf(await run(lu, inquiry(0, 0, 0), I1))).toHaveLength(0);
  });

  it('refuses a page code without EVPD and CmdDt, with field pointers', async () => {
    const { lu } = await readyUnit(I1);
    const a = senseOf(await run(lu, inquiry(0, 0x80, 255), I1));
    expect([a.name, a.fieldPointer, a.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2, null]);
    const b = senseOf(await run(lu, inquiry(0x02, 0, 255), I1));
    expect([b.name, b.fieldPointer, b.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1, 1]);
  });

  it('lists the VPD pages, the device ones included, ascending', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, inquiry(1, 0x00, 255), I1));
    expect([...d]).toEqual([0x03, 0x00, 0x00, 0x04, 0x00, 0x80, 0x83, 0xb0]);
    expect(dataOf(await run(lu, inquiry(1, 0xb0, 255), I1))[1]).toBe(0xb0);
  });

  it('answers an unsupported VPD page with INVALID FIELD IN CDB at byte 2', async () => {
    const { lu } = await readyUnit(I1);
    const s = senseOf(await run(lu, inquiry(1, 0xb1, 255), I1));
    expect([s.name, s.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2]);
  });

  it('returns the unit serial number (80h)', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, inquiry(1, 0x80, 255), I1));
    expect([...d.subarray(0, 4)]).toEqual([0x03, 0x80, 0x00, 10]);
    expect(d.subarray(4).toString()).toBe('PRC0000001');
  });

  it('identifies the unit and the target port (83h)', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, inquiry(1, 0x83, 0xffff), I1));
    expect(d.readUInt16BE(2)).toBe(d.length - 4);
    const ds = designators(d);
    expect(ds.map((x) => [x.type, x.assoc, x.codeSet])).toEqual([
      [3, 0, 1], // NAA, logical unit, binary
      [1, 0, 2], // T10 vendor ID, logical unit, ASCII
      [4, 1, 1], // relative target port, target port, binary
      [8, 1, 3], // SCSI name string, target port, UTF-8
    ]);
    expect(ds[0].value.toString('hex')).toBe('5000c50000000001');
    expect(ds[1].value.toString()).toBe('VTLTEST PROCESSOR       PRC0000001');
    expect(ds[2].value.readUInt16BE(2)).toBe(1);
    expect([ds[2].piv, ds[2].protocol, ds[3].piv, ds[3].protocol]).toEqual([true, 5, true, 5]);
    expect(ds[3].value.length % 4).toBe(0);
    expect(ds[3].value.toString().replace(/\0+$/, '')).toBe(`${target.name},t,0x0001`);
  });

  it('is answered while a unit attention is pending, which stays pending', async () => {
    const { lu } = await readyUnit(I1);
    lu.reset('lun-reset', I1);
    expect(dataOf(await run(lu, inquiry(0, 0, 36), I1))).toHaveLength(36);
    expect(senseOf(await run(lu, cdb(0x00), I1)).name).toBe('BUS_DEVICE_RESET_FUNCTION_OCCURRED');
  });
});

describe('a LUN with no device', () => {
  const lun = createUnsupportedLun({ vendor: 'VTL', product: 'NONE' });

  it('answers INQUIRY with peripheral qualifier 011b and type 1Fh', async () => {
    const d = dataOf(await run(lun, inquiry(0, 0, 36), I1));
    expect(d[0]).toBe(0x7f);
    expect(d).toHaveLength(36);
  });

  it('answers REPORT LUNS and REQUEST SENSE, and 25/00 to everything else', async () => {
    const luns = dataOf(await run(lun, cdb(0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0), I1));
    expect(luns.readUInt32BE(0)).toBe(24);
    const rs = decodeFixed(dataOf(await run(lun, cdb(0x03, 0, 0, 0, 18, 0), I1)));
    expect(rs).toEqual([0x5, 0x25, 0x00]);
    for (const op of [0x00, 0x1a, 0x08]) {
      expect(senseOf(await run(lun, cdb(op), I1)).name).toBe('LOGICAL_UNIT_NOT_SUPPORTED');
    }
    expect(senseOf(await run(lun, inquiry(1, 0, 255), I1)).name).toBe('LOGICAL_UNIT_NOT_SUPPORTED');
  });
});

function decodeFixed(b: Buffer): number[] {
  return [b[2] & 0x0f, b[12], b[13]];
}
