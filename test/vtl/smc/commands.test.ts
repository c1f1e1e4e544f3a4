/**
 * The changer's commands with real CDBs: MOVE MEDIUM (and every refusal with its sense),
 * EXCHANGE MEDIUM per personality, POSITION TO ELEMENT, INITIALIZE ELEMENT STATUS (WITH RANGE),
 * PREVENT ALLOW MEDIUM REMOVAL and the operator's mailslot attentions, mode pages 1Eh/1Fh,
 * TapeAlert, INQUIRY identity. Tape data written before a move is read back after it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADDR, Library, cdb, fileLibraryParts, tape, tempDir } from './harness.js';

const INVALID_ELEMENT = { key: 5, asc: 0x21, ascq: 0x01 };
const SOURCE_EMPTY = { key: 5, asc: 0x3b, ascq: 0x0e };
const DESTINATION_FULL = { key: 5, asc: 0x3b, ascq: 0x0d };
const REMOVAL_PREVENTED = { key: 5, asc: 0x53, ascq: 0x02 };

describe('MOVE MEDIUM', () => {
  let lib: Library;
  beforeEach(async () => {
    lib = await Library.create({ slots: 6, mailslots: 2, drives: 2 });
    await lib.inventory.createCartridges(['E01001L8..E01003L8']);
    await lib.settle();
  });
  afterEach(() => lib.close());

  it('loads a drive from a slot and unloads it back; the drive becomes ready and empty', async () => {
    expect((await lib.exec(cdb.moveMedium(ADDR.transport, ADDR.slot, ADDR.drive + 1))).status).toBe(0);
    expect(lib.drives[1].drive.state).toBe('loaded');
    expect(lib.drives[1].drive.cartridgeInDrive?.label).toBe('E01001L8');
    expect((await lib.drive(1, [0, 0, 0, 0, 0, 0])).status).toBe(0);
    expect((await lib.exec(cdb.moveMedium(0, ADDR.drive + 1, ADDR.slot + 5))).status).toBe(0);
    expect(lib.drives[1].drive.state).toBe('empty');
    expect((await lib.drive(1, [0, 0, 0, 0, 0, 0])).sense).toMatchObject({ key: 2, asc: 0x3a });
    expect(lib.inventory.cartridge('E01001L8')?.location).toEqual({ type: 'slot', index: 5 });
  });

  it('moves out of a drive whose cartridge is still loaded, and refuses while the drive prevents removal', async () => {
    await lib.exec(cdb.moveMedium(0, ADDR.slot, ADDR.drive));
    expect((await lib.drive(0, tape.prevent(1))).status).toBe(0);
    const refused = await lib.exec(cdb.moveMedium(0, ADDR.drive, ADDR.slot));
    expect(refused.sense).toMatchObject(REMOVAL_PREVENTED);
    expect(lib.drives[0].drive.state).toBe('loaded');
    expect(lib.inventory.cartridge('E01001L8')?.location).toEqual({ type: 'drive', index: 0 });
    await lib.drive(0, tape.prevent(0));
    expect((await lib.exec(cdb.moveMedium(0, ADDR.drive, ADDR.slot))).status).toBe(0);
    // After LOAD UNLOAD LOAD=0 (st MTOFFL, Bareos offline=1) the move works the same.
    await lib.exec(cdb.moveMedium(0, ADDR.slot, ADDR.drive));
    expect((await lib.drive(0, tape.loadUnload(false))).status).toBe(0);
    expect((await lib.exec(cdb.moveMedium(0, ADDR.drive, ADDR.slot))).status).toBe(0);
  });

  it('answers every refusal with its sense and field pointer', async () => {
    const cases: [number[], object][] = [
      [cdb.moveMedium(0x0002, ADDR.slot, ADDR.drive), { ...INVALID_ELEMENT, fieldPointer: 2 }],
      [cdb.moveMedium(0, 0x0999, ADDR.drive), { ...INVALID_ELEMENT, fieldPointer: 4 }],
      [cdb.moveMedium(0, ADDR.slot, ADDR.drive + 2), { ...INVALID_ELEMENT, fieldPointer: 6 }],
      [cdb.moveMedium(0, ADDR.slot + 4, ADDR.drive), SOURCE_EMPTY],
      [cdb.moveMedium(0, ADDR.slot, ADDR.slot + 1), DESTINATION_FULL],
      [cdb.moveMedium(0, ADDR.slot, ADDR.slot), DESTINATION_FULL],
      [
        cdb.moveMedium(0, ADDR.slot, ADDR.drive, 0x01),
        { key: 5, asc: 0x24, fieldPointer: 10, bitPointer: 0 },
      ],
    ];
    for (const [c, sense] of cases) {
      const r = await lib.exec(c);
      expect(r.status, c.join(',')).toBe(2);
      expect(r.sense, c.join(',')).toMatchObject(sense);
    }
    // Nothing moved.
    expect(lib.inventory.list().map((c) => c.location)).toEqual(
      [0, 1, 2].map((index) => ({ type: 'slot', index })),
    );
    // mtx's eepos bits in the control byte are accepted.
    expect((await lib.exec(cdb.moveMedium(0, ADDR.slot, ADDR.mailslot, 0, 0x40))).status).toBe(0);
  });

  it('moves through mailslots and the transport element', async () => {
    expect((await lib.exec(cdb.moveMedium(0, ADDR.slot, ADDR.mailslot + 1))).status).toBe(0);
    expect((await lib.exec(cdb.moveMedium(0, ADDR.slot + 1, ADDR.transport))).status).toBe(0);
    expect((await lib.exec(cdb.moveMedium(0, ADDR.transport, ADDR.drive))).status).toBe(0);
    expect(lib.inventory.cartridge('E01002L8')?.home).toEqual({ type: 'slot', index: 1 });
    expect(lib.inventory.cartridge('E01001L8')?.location).toEqual({ type: 'mailslot', index: 1 });
  });

  it('cleans a drive with a cleaning cartridge and counts its uses down', async () => {
    const small = await Library.create({ slots: 4, mailslots: 0, drives: 1, cleaningUses: 2 });
    try {
      await small.inventory.createCartridges(['CLN001L1']);
      await small.settle();
      const alerts = small.drives[0].drive.tapeAlerts;
      for (const expectedLeft of [1, 0]) {
        alerts.add(20);
        alerts.add(21);
        expect((await small.exec(cdb.moveMedium(0, ADDR.slot, ADDR.drive))).status).toBe(0);
        expect(alerts.has(20) || alerts.has(21)).toBe(false);
        // Medium access on the drive while it holds the cleaner: NOT READY 30/03.
        expect((await small.drive(0, tape.read6(512))).sense).toMatchObject({
          key: 2,
          asc: 0x30,
          ascq: 0x03,
        });
        expect((await small.exec(cdb.moveMedium(0, ADDR.drive, ADDR.slot))).status).toBe(0);
        expect(small.inventory.cartridge('CLN001L1')?.cleaningUsesLeft).toBe(expectedLeft);
      }
      alerts.add(20);
      await small.exec(cdb.moveMedium(0, ADDR.slot, ADDR.drive));
      expect(alerts.has(20)).toBe(true);
      expect(alerts.has(22)).toBe(true); // expired cleaning media
      expect(small.inventory.cartridge('CLN001L1')?.cleaningUsesLeft).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe('tape data across moves (file backend)', () => {
  it('reads back what was written after the cartridge went to a slot and into the other drive', async () => {
    const dir = await tempDir();
    const lib = await Library.create({ ...fileLibraryParts(dir.path), slots: 4, mailslots: 1, drives: 2 });
    try {
      await lib.inventory.createCartridges(['A00001L8', 'A00002L8']);
      await lib.settle();
      const blockA = Buffer.alloc(1000, 0xa1);
      const blockB = Buffer.alloc(700, 0xb2);
      for (const [slot, block] of [
        [0, blockA],
        [1, blockB],
      ] as const) {
        expect((await lib.exec(cdb.moveMedium(0, ADDR.slot + slot, ADDR.drive))).status).toBe(0);
        expect((await lib.drive(0, tape.write6(block.length), { dataOut: block })).status).toBe(0);
        expect((await lib.drive(0, tape.writeFilemarks(1))).status).toBe(0);
        expect((await lib.exec(cdb.moveMedium(0, ADDR.drive, ADDR.slot + slot))).status).toBe(0);
      }
      for (const [slot, block] of [
        [0, blockA],
        [1, blockB],
      ] as const) {
        expect((await lib.exec(cdb.moveMedium(0, ADDR.slot + slot, ADDR.drive + 1))).status).toBe(0);
        const r = await lib.drive(1, tape.read6(block.length), { expectedLength: block.length });
        expect(r.status).toBe(0);
        expect(r.data.equals(block)).toBe(true);
        expect((await lib.exec(cdb.moveMedium(0, ADDR.drive + 1, ADDR.slot + slot))).status).toBe(0);
      }
    } finally {
      await lib.close();
      await dir.cleanup();
    }
  });
});

describe('EXCHANGE MEDIUM and the device capabilities page', () => {
  it('is absent from the TS3500 personality and not advertised', async () => {
    const lib = await Library.create({ slots: 4, drives: 1 });
    try {
      const r = await lib.exec(cdb.exchangeMedium(0, ADDR.slot, ADDR.slot + 1, ADDR.slot));
      expect(r.sense).toMatchObject({ key: 5, asc: 0x20, ascq: 0 });
      const caps = (await lib.exec(cdb.modeSense6(0x1f))).data.subarray(4);
      expect(caps[0]).toBe(0x1f);
      expect(caps[1]).toBe(0x12);
      expect([...caps.subarray(2, 8)]).toEqual([0x0f, 0, 0x0f, 0x0f, 0x0f, 0x0f]);
      expect([...caps.subarray(12, 16)]).toEqual([0, 0, 0, 0]);
      const inq = await lib.exec(cdb.inquiry());
      expect(inq.data[0]).toBe(0x08);
      expect(inq.data.subarray(8, 32).toString('latin1')).toBe('IBM     03584L32        ');
    } finally {
      await lib.close();
    }
  });

  it('swaps two cartridges on the STK L700 personality, which advertises it', async () => {
    const lib = await Library.create({ slots: 4, drives: 1, model: 'STK L700' });
    try {
      await lib.inventory.createCartridges(['E01001L8', 'E01002L8']);
      await lib.settle();
      const caps = (await lib.exec(cdb.modeSense6(0x1f))).data.subarray(4);
      expect([...caps.subarray(12, 16)]).toEqual([0x0f, 0x0f, 0x0f, 0x0f]);
      expect((await lib.exec(cdb.exchangeMedium(0, ADDR.slot, ADDR.slot + 1, ADDR.slot))).status).toBe(0);
      expect(lib.inventory.occupantOf({ type: 'slot', index: 0 })?.barcode).toBe('E01002L8');
      expect(lib.inventory.occupantOf({ type: 'slot', index: 1 })?.barcode).toBe('E01001L8');
      expect(lib.inventory.occupantOf({ type: 'transport', index: 0 })).toBeNull();
      // Source → drive, drive's cartridge (none) refused: first destination must be full.
      const empty = await lib.exec(cdb.exchangeMedium(0, ADDR.slot, ADDR.drive, ADDR.slot + 2));
      expect(empty.sense).toMatchObject(SOURCE_EMPTY);
      await lib.exec(cdb.moveMedium(0, ADDR.slot, ADDR.drive));
      expect((await lib.exec(cdb.exchangeMedium(0, ADDR.slot + 1, ADDR.drive, ADDR.slot + 2))).status).toBe(
        0,
      );
      expect(lib.drives[0].drive.cartridgeInDrive?.label).toBe('E01001L8');
      expect(lib.inventory.occupantOf({ type: 'slot', index: 2 })?.barcode).toBe('E01002L8');
      const bad = await lib.exec(cdb.exchangeMedium(0, ADDR.slot + 2, ADDR.drive, 0x0999));
      expect(bad.sense).toMatchObject({ ...INVALID_ELEMENT, fieldPointer: 8 });
    } finally {
      await lib.close();
    }
  });
});

describe('other changer commands', () => {
  let lib: Library;
  beforeEach(async () => {
    lib = await Library.create({ slots: 4, mailslots: 2, drives: 1 });
    await lib.inventory.createCartridges(['E01001L8', 'E01002L8']);
    await lib.inventory.createCartridges(['E01003L8'], { to: 'vault' });
    await lib.settle();
  });
  afterEach(() => lib.close());

  it('POSITION TO ELEMENT checks its addresses', async () => {
    expect((await lib.exec(cdb.positionToElement(0, ADDR.slot + 3))).status).toBe(0);
    expect((await lib.exec(cdb.positionToElement(0, 0x0999))).sense).toMatchObject({
      ...INVALID_ELEMENT,
      fieldPointer: 4,
    });
    expect((await lib.exec(cdb.positionToElement(7, ADDR.slot))).sense).toMatchObject({
      ...INVALID_ELEMENT,
      fieldPointer: 2,
    });
  });

  it('INITIALIZE ELEMENT STATUS and WITH RANGE', async () => {
    expect((await lib.exec(cdb.initializeElementStatus())).status).toBe(0);
    expect((await lib.exec(cdb.initializeWithRange(false, 0, 0))).status).toBe(0);
    expect((await lib.exec(cdb.initializeWithRange(true, ADDR.slot, 2))).status).toBe(0);
    expect((await lib.exec(cdb.initializeWithRange(true, 0x0999, 2))).sense).toMatchObject({
      ...INVALID_ELEMENT,
      fieldPointer: 2,
    });
  });

  it('raises 28/01 for every initiator when the operator uses a mailslot', async () => {
    await lib.inventory.insertIntoMailslot('E01003L8');
    for (const nexus of [lib.nexus, lib.other]) {
      const r = await lib.exec(cdb.testUnitReady(), { nexus });
      expect(r.sense).toMatchObject({ key: 6, asc: 0x28, ascq: 0x01 });
      expect((await lib.exec(cdb.testUnitReady(), { nexus })).status).toBe(0);
    }
    const status = await lib.exec(cdb.readElementStatus({ type: 3, voltag: true }));
    // IMPEXP set: placed by the operator. ACCESS, EXENAB, INENAB set.
    expect(status.data[16 + 2]).toBe(0x01 | 0x02 | 0x08 | 0x10 | 0x20);
    await lib.inventory.removeFromMailslot('E01003L8');
    // Cartridges created into slots: NOT READY TO READY CHANGE, after the 28/01 still pending.
    await lib.inventory.createCartridges(['E01004L8']);
    for (const nexus of [lib.nexus, lib.other]) {
      expect((await lib.exec(cdb.testUnitReady(), { nexus })).sense).toMatchObject({
        key: 6,
        asc: 0x28,
        ascq: 0x01,
      });
      expect((await lib.exec(cdb.testUnitReady(), { nexus })).sense).toMatchObject({
        key: 6,
        asc: 0x28,
        ascq: 0,
      });
      expect((await lib.exec(cdb.testUnitReady(), { nexus })).status).toBe(0);
    }
  });

  it('PREVENT locks the mailslots against the operator until every initiator allows', async () => {
    expect((await lib.exec(cdb.prevent(1))).status).toBe(0);
    expect((await lib.exec(cdb.prevent(1), { nexus: lib.other })).status).toBe(0);
    await expect(lib.inventory.insertIntoMailslot('E01003L8')).rejects.toMatchObject({ code: 'ERR_STATE' });
    // The robot still uses the mailslots.
    expect((await lib.exec(cdb.moveMedium(0, ADDR.slot, ADDR.mailslot))).status).toBe(0);
    await expect(lib.inventory.removeFromMailslot('E01001L8')).rejects.toMatchObject({ code: 'ERR_STATE' });
    await lib.exec(cdb.prevent(0));
    await expect(lib.inventory.removeFromMailslot('E01001L8')).rejects.toMatchObject({ code: 'ERR_STATE' });
    // The other initiator's session ends: its prevention goes with it.
    lib.unit.lu.nexusRemoved(lib.other);
    await lib.inventory.removeFromMailslot('E01001L8');
    expect(lib.inventory.cartridge('E01001L8')?.location).toEqual({ type: 'vault' });
    await lib.settle();
    const bad = await lib.exec(cdb.prevent(2));
    expect(bad.sense).toMatchObject({ key: 5, asc: 0x24, fieldPointer: 4, bitPointer: 1 });
    // A reset ends every prevention.
    await lib.exec(cdb.prevent(1));
    lib.unit.lu.reset('lun-reset', lib.nexus);
    await lib.inventory.insertIntoMailslot('E01003L8');
  });

  it('has transport geometry and TapeAlert pages', async () => {
    const geometry = (await lib.exec(cdb.modeSense6(0x1e))).data;
    expect([...geometry]).toEqual([7, 0, 0, 0, 0x1e, 2, 0, 0]);
    lib.unit.changer.tapeAlerts.add(3);
    const log = (await lib.exec(cdb.logSense(0x2e))).data;
    expect(log[0] & 0x3f).toBe(0x2e);
    expect(log.readUInt16BE(2)).toBe(64 * 5);
    expect(log[4 + 2 * 5 + 4]).toBe(1); // flag 3
    expect(log[4 + 0 * 5 + 4]).toBe(0);
    const again = (await lib.exec(cdb.logSense(0x2e))).data;
    expect(again[4 + 2 * 5 + 4]).toBe(0);
    const supported = (await lib.exec(cdb.logSense(0x00))).data;
    expect([...supported.subarray(4)]).toContain(0x2e);
  });

  it('has a serial in VPD 80h and refuses MODE SELECT changes to page 1Dh', async () => {
    const vpd = await lib.exec(cdb.inquiry(true, 0x80));
    expect(vpd.data.subarray(4).toString('latin1')).toBe('LIB0000001');
    const page = (await lib.exec(cdb.modeSense6(0x1d))).data;
    const list = Buffer.from(page);
    list[0] = 0;
    list[4 + 9] ^= 1; // storage count
    const r = await lib.exec([0x15, 0x10, 0, 0, list.length, 0], { dataOut: list });
    expect(r.sense).toMatchObject({ key: 5, asc: 0x26 });
  });
});
