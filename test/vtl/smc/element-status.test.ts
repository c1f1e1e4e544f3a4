/**
 * READ ELEMENT STATUS and page 1Dh as PBS and mtx read them (clients.md 2 'Changer element
 * reporting'): per-type queries, VOLTAG/DVCID layouts, counts equal to page 1Dh, drive
 * identifiers equal to the drives' VPD 80h, SVALID and source, truncation by whole descriptors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADDR, Library, cdb, exec } from './harness.js';
import { mtxDecode, mtxDriveLine, pbsDecode } from './decoders.js';

const PBS_ALLOC = 0x10000;

async function pbsQuery(lib: Library, type: number, voltag: boolean, dvcid = false) {
  const r = await lib.exec(
    cdb.readElementStatus({ type, voltag, dvcid, start: 0, count: 1000, alloc: PBS_ALLOC }),
    {
      expectedLength: PBS_ALLOC,
    },
  );
  expect(r.status).toBe(0);
  return { raw: r.data, elements: pbsDecode(r.data, 0) };
}

async function assignment(lib: Library) {
  const r = await lib.exec(cdb.modeSense6(0x1d, true, 255));
  expect(r.status).toBe(0);
  const d = r.data;
  return {
    dataLength: d[0],
    bdLength: d[3],
    page: d[4] & 0x3f,
    pageLength: d[5],
    transport: [d.readUInt16BE(6), d.readUInt16BE(8)],
    storage: [d.readUInt16BE(10), d.readUInt16BE(12)],
    ie: [d.readUInt16BE(14), d.readUInt16BE(16)],
    dt: [d.readUInt16BE(18), d.readUInt16BE(20)],
    length: d.length,
  };
}

describe('READ ELEMENT STATUS', () => {
  let lib: Library;
  beforeEach(async () => {
    lib = await Library.create({ slots: 8, mailslots: 2, drives: 2 });
    await lib.inventory.createCartridges(['E01001L8..E01005L8', 'CLN001L1']);
    await lib.settle();
  });
  afterEach(() => lib.close());

  it('page 1Dh under DBD=1 has mode data length 23 and the element map', async () => {
    const a = await assignment(lib);
    expect(a).toMatchObject({ dataLength: 23, bdLength: 0, page: 0x1d, pageLength: 0x12, length: 24 });
    expect(a.transport).toEqual([ADDR.transport, 1]);
    expect(a.storage).toEqual([ADDR.slot, 8]);
    expect(a.ie).toEqual([ADDR.mailslot, 2]);
    expect(a.dt).toEqual([ADDR.drive, 2]);
  });

  it('answers PBS per-type queries with the counts page 1Dh announces', async () => {
    const a = await assignment(lib);
    const storage = await pbsQuery(lib, 2, true);
    const ie = await pbsQuery(lib, 3, true);
    const dt = await pbsQuery(lib, 4, true);
    const dvcid = await pbsQuery(lib, 4, false, true);
    const mt = await pbsQuery(lib, 1, true);
    expect(storage.elements).toHaveLength(a.storage[1]);
    expect(ie.elements).toHaveLength(a.ie[1]);
    expect(dt.elements).toHaveLength(a.dt[1]);
    expect(dvcid.elements).toHaveLength(a.dt[1]);
    expect(mt.elements).toHaveLength(a.transport[1]);
    expect(storage.elements.map((e) => e.volumeTag)).toEqual([
      'E01001L8',
      'E01002L8',
      'E01003L8',
      'E01004L8',
      'E01005L8',
      'CLN001L1',
      null,
      null,
    ]);
    expect(storage.elements.map((e) => e.address)).toEqual([...Array(8).keys()].map((i) => ADDR.slot + i));
    // SMC-3 MEDIUM TYPE: data 1, cleaning 2.
    expect(storage.elements[0].mediumType).toBe(1);
    expect(storage.elements[5].mediumType).toBe(2);
    expect(ie.elements.every((e) => !e.full)).toBe(true);
  });

  it('reports each drive with a 34-byte DVCID equal to its INQUIRY and VPD 80h', async () => {
    const { elements } = await pbsQuery(lib, 4, false, true);
    for (const [i, el] of elements.entries()) {
      const vpd = await exec(lib.drives[i].lu, cdb.inquiry(true, 0x80), lib.nexus);
      const serial = vpd.data
        .subarray(4, 4 + vpd.data.readUInt16BE(2))
        .toString('latin1')
        .trim();
      const std = await exec(lib.drives[i].lu, cdb.inquiry(), lib.nexus);
      expect(el.dvcid).toEqual({
        codeSet: 2,
        idType: 1,
        vendor: std.data.subarray(8, 16).toString('latin1').trim(),
        product: std.data.subarray(16, 32).toString('latin1').trim(),
        serial,
      });
      // LU VALID with the drive's LUN (1..N).
      expect(el.byte6).toBe(0x10 | (i + 1));
    }
  });

  it('uses 48-byte VOLTAG descriptors (mtx sizes 52 per element) and 86 with DVCID on drives', async () => {
    const plain = await lib.exec(cdb.readElementStatus({ type: 4, voltag: false }));
    expect(plain.data.readUInt16BE(8 + 2)).toBe(12);
    const tagged = await lib.exec(cdb.readElementStatus({ type: 4, voltag: true }));
    expect(tagged.data[9]).toBe(0x80); // PVOLTAG, no AVOLTAG
    expect(tagged.data.readUInt16BE(8 + 2)).toBe(48);
    const both = await lib.exec(cdb.readElementStatus({ type: 4, voltag: true, dvcid: true }));
    expect(both.data.readUInt16BE(8 + 2)).toBe(86);
    // Storage elements with DVCID (some mtx builds ask): an empty identifier keeps one length.
    const slots = await lib.exec(cdb.readElementStatus({ type: 2, voltag: true, dvcid: true }));
    expect(slots.data.readUInt16BE(8 + 2)).toBe(52);
    expect(pbsDecode(slots.data, 0)).toHaveLength(8);
  });

  it('reports a loaded drive with SVALID and its source slot (mtx and PBS agree)', async () => {
    expect((await lib.exec(cdb.moveMedium(0, ADDR.slot + 1, ADDR.drive))).status).toBe(0);
    const all = await lib.exec(cdb.readElementStatus({ voltag: true }));
    const elements = mtxDecode(all.data);
    const storage = elements.filter((e) => e.type === 2).map((e) => e.address);
    const drives = elements.filter((e) => e.type === 4);
    expect(mtxDriveLine(drives[0], 0, storage)).toBe(
      'Data Transfer Element 0:Full (Storage Element 2 Loaded):VolumeTag = E01002L8',
    );
    expect(mtxDriveLine(drives[1], 1, storage)).toBe('Data Transfer Element 1:Empty');
    const { elements: pbs } = await pbsQuery(lib, 4, true);
    expect(pbs[0]).toMatchObject({ full: true, svalid: true, source: ADDR.slot + 1, volumeTag: 'E01002L8' });
    const { elements: slots } = await pbsQuery(lib, 2, true);
    expect(slots[1].full).toBe(false);
  });

  it('reports every type for element type 0, in ascending address order, in one reply', async () => {
    const r = await lib.exec(cdb.readElementStatus({ type: 0, voltag: true }));
    const elements = pbsDecode(r.data, 0);
    expect(elements.map((e) => e.type)).toEqual([1, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(r.data.readUInt16BE(0)).toBe(ADDR.transport);
    expect(r.data.readUInt16BE(2)).toBe(13);
    expect(r.data.readUIntBE(5, 3)).toBe(r.data.length - 8);
    expect(mtxDecode(r.data)).toHaveLength(13);
  });

  it('answers an element type with no elements with an 8-byte header', async () => {
    const bare = await Library.create({ slots: 4, mailslots: 0, drives: 1 });
    try {
      const r = await bare.exec(cdb.readElementStatus({ type: 3, voltag: true }));
      expect(r.status).toBe(0);
      expect([...r.data]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      expect(pbsDecode(r.data, 0)).toEqual([]);
      expect((await assignment(bare)).ie).toEqual([ADDR.mailslot, 0]);
    } finally {
      await bare.close();
    }
  });

  it('honours the starting address and the number of elements', async () => {
    const r = await lib.exec(cdb.readElementStatus({ type: 2, voltag: true, start: ADDR.slot + 3 }));
    const e = pbsDecode(r.data, ADDR.slot + 3);
    expect(e.map((x) => x.address)).toEqual([3, 4, 5, 6, 7].map((i) => ADDR.slot + i));
    const two = await lib.exec(cdb.readElementStatus({ type: 0, count: 2 }));
    expect(pbsDecode(two.data, 0).map((x) => x.address)).toEqual([ADDR.transport, ADDR.drive]);
    const upper = await lib.exec(cdb.readElementStatus({ type: 0, start: 0x200 }));
    expect(upper.data.readUInt16BE(0)).toBe(ADDR.mailslot);
  });

  it('truncates by whole descriptors and reports exactly what it sends', async () => {
    // Header 8 + page header 8 + 48 per slot: room for 3 slots and half of a fourth.
    const alloc = 8 + 8 + 3 * 48 + 20;
    const r = await lib.exec(cdb.readElementStatus({ type: 2, voltag: true, alloc }));
    expect(r.data.length).toBe(8 + 8 + 3 * 48);
    expect(r.data.readUInt16BE(2)).toBe(3);
    expect(r.data.readUIntBE(5, 3)).toBe(r.data.length - 8);
    expect(r.data.readUIntBE(8 + 5, 3)).toBe(3 * 48);
    expect(pbsDecode(r.data, 0).map((e) => e.volumeTag)).toEqual(['E01001L8', 'E01002L8', 'E01003L8']);
    expect(mtxDecode(r.data)).toHaveLength(3);
    // Across pages (type 0): a page header is only sent with at least one of its descriptors.
    const across = await lib.exec(
      cdb.readElementStatus({ type: 0, voltag: false, alloc: 8 + 8 + 12 + 8 + 12 + 6 }),
    );
    expect(pbsDecode(across.data, 0).map((e) => e.type)).toEqual([1, 4]);
  });

  it('announces the whole report when the allocation holds no descriptor (mtx sizing probe)', async () => {
    const full = await lib.exec(cdb.readElementStatus({ type: 2, voltag: true }));
    const r = await lib.exec(cdb.readElementStatus({ type: 2, voltag: true, alloc: 8 }));
    expect(r.data.length).toBe(8);
    expect(r.data.readUInt16BE(2)).toBe(8);
    expect(r.data.readUIntBE(5, 3) + 8).toBe(full.data.length);
    const tiny = await lib.exec(cdb.readElementStatus({ type: 2, voltag: true, alloc: 4 }));
    expect([...tiny.data]).toEqual([...full.data.subarray(0, 4)]);
  });

  it('refuses a bad element type, an unknown flag and a start beyond every element', async () => {
    const badType = await lib.exec(cdb.readElementStatus({ type: 5 }));
    expect(badType.sense).toMatchObject({ key: 5, asc: 0x24, ascq: 0, fieldPointer: 1, bitPointer: 3 });
    const mixed = cdb.readElementStatus({});
    mixed[6] |= 0x04;
    expect((await lib.exec(mixed)).sense).toMatchObject({
      key: 5,
      asc: 0x24,
      fieldPointer: 6,
      bitPointer: 2,
    });
    const beyond = await lib.exec(cdb.readElementStatus({ start: ADDR.slot + 8 }));
    expect(beyond.sense).toMatchObject({ key: 5, asc: 0x21, ascq: 0x01, fieldPointer: 2 });
    const curdata = await lib.exec(cdb.readElementStatus({ curdata: true, voltag: true }));
    expect(curdata.status).toBe(0);
  });
});
