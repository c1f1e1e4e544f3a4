/**
 * Cartridge handling and drive state: TEST UNIT READY, unit attentions on load, LOAD UNLOAD,
 * PREVENT ALLOW MEDIUM REMOVAL (per nexus, nexus loss, reset), WRITE FILEMARKS (IMMED, WSMK,
 * count 0) and ERASE.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { VtlError } from '../../../src/util/errors.js';
import { createCartridge, openTapeImage } from '../../../src/vtl/image/index.js';
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

describe('TEST UNIT READY and loading', () => {
  it('NOT READY 3A/00 without a cartridge, then UNIT ATTENTION 28/00 on every nexus after a load, then GOOD', async () => {
    expect((await h.exec(cdb.testUnitReady())).sense).toMatchObject({
      key: SenseKey.NOT_READY,
      asc: 0x3a,
      ascq: 0,
    });
    await createCartridge(h.backend, { label: 'UA0001L8', mediaType: 'LTO8' });
    await h.drive.load(await openTapeImage(h.backend, 'UA0001L8'));
    for (const nexus of [h.nexus, h.other]) {
      const ua = await h.exec(cdb.testUnitReady(), { nexus });
      expect(ua.sense).toMatchObject({ key: SenseKey.UNIT_ATTENTION, asc: 0x28, ascq: 0 });
      expect((await h.exec(cdb.testUnitReady(), { nexus })).status).toBe(GOOD);
    }
    expect(h.drive.state).toBe('loaded');
  });

  it('a second load into a full drive is refused; unload hands the cartridge back rewound', async () => {
    const image = await h.insert();
    await h.exec(cdb.write6(10), { dataOut: block(1, 10) });
    await expect(h.drive.load(image)).rejects.toBeInstanceOf(VtlError);
    const out = await h.drive.unload();
    expect(out).toBe(image);
    expect(image.position().objectNumber).toBe(0);
    expect(h.drive.state).toBe('empty');
    expect((await h.exec(cdb.testUnitReady())).sense?.name).toBe('MEDIUM_NOT_PRESENT');
    await image.close();
  });

  it('an unload from a changer waits for the command in progress and never splits it', async () => {
    const image = await h.insert();
    const writes = [1, 2, 3].map((n) => h.exec(cdb.write6(100), { dataOut: block(n, 100) }));
    const unloaded = h.drive.unload();
    const late = h.exec(cdb.write6(100), { dataOut: block(4, 100) });
    expect((await Promise.all(writes)).map((r) => r.status)).toEqual([GOOD, GOOD, GOOD]);
    expect(await unloaded).toBe(image);
    expect((await late).sense?.name).toBe('MEDIUM_NOT_PRESENT');
    expect(image.objectCount).toBe(3);
    expect(image.position().objectNumber).toBe(0);
    await image.close();
  });

  it('a cleaning cartridge answers NOT READY 30/03', async () => {
    await h.insert({ mediaType: 'CLEANING', label: 'CLN001L1' });
    expect((await h.exec(cdb.testUnitReady())).sense).toMatchObject({
      key: SenseKey.NOT_READY,
      asc: 0x30,
      ascq: 0x03,
    });
  });
});

describe('LOAD UNLOAD', () => {
  beforeEach(async () => {
    await h.insert();
    await h.exec(cdb.write6(10), { dataOut: block(1, 10) });
  });

  it('LOAD=0 syncs, rewinds and unthreads: NOT READY 3A/00 until LOAD=1 threads it again at BOP', async () => {
    expect((await h.exec(cdb.loadUnload({ load: false, immed: true }))).status).toBe(GOOD);
    expect(h.drive.state).toBe('unloaded');
    expect((await h.exec(cdb.testUnitReady())).sense?.name).toBe('MEDIUM_NOT_PRESENT');
    expect((await h.exec(cdb.read6(10))).sense?.name).toBe('MEDIUM_NOT_PRESENT');
    // Unloading again is harmless.
    expect((await h.exec(cdb.loadUnload({ load: false }))).status).toBe(GOOD);
    expect((await h.exec(cdb.loadUnload({ load: true }))).status).toBe(GOOD);
    expect((await h.exec(cdb.testUnitReady())).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 0, file: 0 });
    // The other initiator learns about the medium change; the issuer does not need to.
    expect((await h.exec(cdb.testUnitReady(), { nexus: h.other })).sense?.name).toBe(
      'NOT_READY_TO_READY_CHANGE',
    );
    expect((await h.exec(cdb.read6(10))).data.equals(block(1, 10))).toBe(true);
  });

  it('LOAD=1 on a loaded cartridge rewinds; RETEN is accepted', async () => {
    expect((await h.exec(cdb.loadUnload({ load: true, reten: true }))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });

  it('EOT with LOAD is INVALID FIELD; HOLD is outside the usage mask', async () => {
    expect((await h.exec(cdb.loadUnload({ load: true, eot: true }))).sense).toMatchObject({
      name: 'INVALID_FIELD_IN_CDB',
      fieldPointer: 4,
      bitPointer: 2,
    });
    expect((await h.exec(cdb.loadUnload({ load: false, hold: true }))).sense).toMatchObject({
      name: 'INVALID_FIELD_IN_CDB',
      fieldPointer: 4,
      bitPointer: 3,
    });
    expect((await h.exec(cdb.loadUnload({ load: false, eot: true }))).status).toBe(GOOD);
  });

  it('with no cartridge at all, LOAD and UNLOAD are NOT READY 3A/00', async () => {
    const image = await h.drive.unload();
    await image!.close();
    for (const load of [true, false])
      expect((await h.exec(cdb.loadUnload({ load }))).sense?.name).toBe('MEDIUM_NOT_PRESENT');
  });
});

describe('PREVENT ALLOW MEDIUM REMOVAL', () => {
  beforeEach(async () => {
    await h.insert();
  });

  it('PREVENT blocks LOAD UNLOAD LOAD=0 with 53/02 until every preventing nexus allows', async () => {
    expect((await h.exec(cdb.preventAllow(1))).status).toBe(GOOD);
    expect((await h.exec(cdb.preventAllow(1), { nexus: h.other })).status).toBe(GOOD);
    const r = await h.exec(cdb.loadUnload({ load: false }));
    expect(r.status).toBe(CHECK);
    expect(r.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x53, ascq: 0x02 });
    expect(h.drive.removalPrevented).toBe(true);
    await expect(h.drive.unload()).rejects.toThrow(/prevented/);
    await h.exec(cdb.preventAllow(0));
    expect(h.drive.removalPrevented).toBe(true);
    await h.exec(cdb.preventAllow(0), { nexus: h.other });
    expect(h.drive.removalPrevented).toBe(false);
    expect((await h.exec(cdb.loadUnload({ load: false }))).status).toBe(GOOD);
  });

  it('nexus loss drops that nexus prevention; a reset drops all', async () => {
    await h.exec(cdb.preventAllow(1));
    await h.exec(cdb.preventAllow(1), { nexus: h.other });
    h.unit.lu.nexusRemoved(h.other);
    expect(h.drive.removalPrevented).toBe(true);
    h.unit.lu.reset('lun-reset', h.nexus);
    expect(h.drive.removalPrevented).toBe(false);
  });

  it('a reset returns the mode parameters to their defaults and keeps the position', async () => {
    await h.exec(cdb.write6(10), { dataOut: block(1, 10) });
    const list = Buffer.from([0, 0, 0x00, 8, 0, 0, 0, 0, 0, 0, 0x02, 0x00]);
    expect((await h.exec(cdb.modeSelect6(12), { dataOut: list })).status).toBe(GOOD);
    expect(h.drive.blockLength).toBe(512);
    h.unit.lu.reset('target-warm-reset', h.nexus);
    await h.start();
    const ms = await h.exec(cdb.modeSense6(0, 12));
    expect(ms.data[2]).toBe(0x10);
    expect(ms.data.readUIntBE(9, 3)).toBe(0);
    expect(await where(h)).toEqual({ object: 1, file: 0 });
  });

  it('the obsolete persistent prevent values are INVALID FIELD IN CDB', async () => {
    expect((await h.exec(cdb.preventAllow(2))).sense).toMatchObject({
      name: 'INVALID_FIELD_IN_CDB',
      fieldPointer: 4,
      bitPointer: 1,
    });
  });

  it('works without a cartridge', async () => {
    const image = await h.drive.unload();
    await image!.close();
    expect((await h.exec(cdb.preventAllow(1))).status).toBe(GOOD);
  });
});

describe('WRITE FILEMARKS(6)', () => {
  beforeEach(async () => {
    await h.insert();
  });

  it('writes N filemarks with and without IMMED; count 0 writes none', async () => {
    expect((await h.exec(cdb.writeFilemarks6(2))).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(1, { immed: true }))).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(0))).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(0, { immed: true }))).status).toBe(GOOD);
    expect(await where(h)).toEqual({ object: 3, file: 3 });
  });

  it('WSMK (setmarks) is INVALID FIELD IN CDB at byte 1 bit 1', async () => {
    const r = await h.exec(cdb.writeFilemarks6(1, { wsmk: true }));
    expect(r.sense).toMatchObject({ name: 'INVALID_FIELD_IN_CDB', fieldPointer: 1, bitPointer: 1 });
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });

  it('in the middle of the tape it truncates what follows', async () => {
    for (let i = 0; i < 3; i++) await h.exec(cdb.write6(10), { dataOut: block(i, 10) });
    await h.exec(cdb.locate10(1));
    await h.exec(cdb.writeFilemarks6(1));
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect(await where(h)).toEqual({ object: 2, file: 1 });
  });
});

describe('ERASE(6)', () => {
  beforeEach(async () => {
    await h.insert();
    for (let i = 0; i < 4; i++) await h.exec(cdb.write6(10), { dataOut: block(i, 10) });
    await h.exec(cdb.locate10(2));
  });

  it('short erase makes the head end of data', async () => {
    expect((await h.exec(cdb.erase6(false))).status).toBe(GOOD);
    expect((await h.exec(cdb.read6(10))).sense?.name).toBe('END_OF_DATA_DETECTED');
    await h.exec(cdb.rewind());
    await h.exec(cdb.space6(SPACE.EOD, 0));
    expect(await where(h)).toEqual({ object: 2, file: 0 });
  });

  it('long erase with IMMED erases to the end; at BOP the tape is blank', async () => {
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.erase6(true, true))).status).toBe(GOOD);
    expect((await h.exec(cdb.read6(10))).sense).toMatchObject({ key: SenseKey.BLANK_CHECK, ascq: 5 });
    expect(await where(h)).toEqual({ object: 0, file: 0 });
  });
});
