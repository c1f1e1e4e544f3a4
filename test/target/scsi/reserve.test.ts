import { describe, expect, it } from 'vitest';
import { I1, I2, cdb, dataOf, readyUnit, run, senseOf } from './processor.js';

const RESERVE6 = cdb(0x16);
const RELEASE6 = cdb(0x17);
const RESERVE10 = cdb(0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0);
const RELEASE10 = cdb(0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0);
const MODE_SENSE6 = cdb(0x1a, 0, 0x3f, 0, 0xff, 0);
const CONFLICT = 0x18;

describe('RESERVE / RELEASE (SPC-2)', () => {
  it('follows libiscsi Reserve6_2Initiators', async () => {
    const { lu } = await readyUnit(I1, I2);
    expect((await run(lu, RESERVE6, I1)).status).toBe(0);
    expect((await run(lu, RESERVE6, I1)).status).toBe(0); // the holder may reserve again
    expect((await run(lu, RESERVE6, I2)).status).toBe(CONFLICT);
    expect((await run(lu, RELEASE6, I2)).status).toBe(0); // a no-op for a non-holder
    expect((await run(lu, MODE_SENSE6, I1)).status).toBe(0);
    expect((await run(lu, MODE_SENSE6, I2)).status).toBe(CONFLICT);
    expect((await run(lu, RESERVE6, I2)).status).toBe(CONFLICT);
    expect((await run(lu, RELEASE6, I1)).status).toBe(0);
    expect((await run(lu, RESERVE6, I2)).status).toBe(0);
    expect((await run(lu, RELEASE6, I2)).status).toBe(0);
    expect((await run(lu, MODE_SENSE6, I1)).status).toBe(0);
  });

  it('lets INQUIRY, REQUEST SENSE, REPORT LUNS, LOG SENSE through, not TUR or device commands', async () => {
    const { lu } = await readyUnit(I1, I2);
    expect((await run(lu, RESERVE10, I1)).status).toBe(0);
    expect(dataOf(await run(lu, cdb(0x12, 0, 0, 0, 36, 0), I2))).toHaveLength(36);
    expect((await run(lu, cdb(0x03, 0, 0, 0, 18, 0), I2)).status).toBe(0);
    expect((await run(lu, cdb(0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0), I2)).status).toBe(0);
    expect((await run(lu, cdb(0x4d, 0, 0x40, 0, 0, 0, 0, 0, 0xff, 0), I2)).status).toBe(0);
    expect((await run(lu, cdb(0x00), I2)).status).toBe(CONFLICT);
    expect((await run(lu, cdb(0x08, 0, 0, 0, 1, 0), I2)).status).toBe(CONFLICT);
    // SPC-4 5.13.3: persistent reservation commands conflict under another nexus' RESERVE.
    expect((await run(lu, cdb(0x5e, 0, 0, 0, 0, 0, 0, 0, 0xff, 0), I2)).status).toBe(CONFLICT);
    expect((await run(lu, RELEASE10, I1)).status).toBe(0);
    expect((await run(lu, cdb(0x00), I2)).status).toBe(0);
  });

  it('releases the reservation when the holder nexus goes away or on reset', async () => {
    const { lu } = await readyUnit(I1, I2);
    expect((await run(lu, RESERVE6, I1)).status).toBe(0);
    lu.nexusRemoved(I1);
    expect((await run(lu, RESERVE6, I2)).status).toBe(0);
    lu.reset('lun-reset', I1);
    await run(lu, cdb(0x00), I1); // the reset unit attention
    expect((await run(lu, RESERVE6, I1)).status).toBe(0);
  });

  it('refuses third-party and extent reservations through the CDB masks', async () => {
    const { lu } = await readyUnit(I1);
    const a = senseOf(await run(lu, cdb(0x16, 0x10), I1));
    expect([a.name, a.fieldPointer, a.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1, 4]);
    const b = senseOf(await run(lu, cdb(0x56, 0x12, 0, 0, 0, 0, 0, 0, 0, 0), I1));
    expect([b.name, b.fieldPointer, b.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1, 4]);
    const c = senseOf(await run(lu, cdb(0x17, 0x01), I1));
    expect([c.fieldPointer, c.bitPointer]).toEqual([1, 0]);
  });
});
