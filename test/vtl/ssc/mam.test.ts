/**
 * Medium auxiliary memory: READ ATTRIBUTE service actions 00h, 01h, 02h, 03h, 05h and WRITE
 * ATTRIBUTE with WTC and zero-length deletes, checked against SPC-4 7.4 lengths and formats, and
 * every refusal's sense (read-only or unknown attribute, wrong length or format, order, volume
 * and partition numbers, no cartridge).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { openTapeImage } from '../../../src/vtl/image/index.js';
import { attributeList, decodeAttributes, num, padded } from './decode.js';
import { Harness, cdb } from './harness.js';

const BINARY = 0;
const ASCII = 1;
const TEXT = 2;
const MIB = 1 << 20;

let h: Harness;
beforeEach(async () => {
  h = await new Harness().start();
});
afterEach(async () => {
  await h.close();
});

/** SPC-4 7.4.2 tables: identifier, length, format, read only. */
const STANDARD: [number, number, number, boolean][] = [
  [0x0000, 8, BINARY, true],
  [0x0001, 8, BINARY, true],
  [0x0002, 8, BINARY, true],
  [0x0003, 8, BINARY, true],
  [0x0004, 8, BINARY, true],
  [0x0005, 8, ASCII, true],
  [0x0006, 1, BINARY, true],
  [0x0007, 2, BINARY, true],
  [0x0008, 32, ASCII, true],
  [0x0009, 4, BINARY, true],
  [0x020a, 40, ASCII, true],
  [0x0220, 8, BINARY, true],
  [0x0221, 8, BINARY, true],
  [0x0222, 8, BINARY, true],
  [0x0223, 8, BINARY, true],
  [0x0400, 8, ASCII, true],
  [0x0401, 32, ASCII, true],
  [0x0402, 4, BINARY, true],
  [0x0403, 4, BINARY, true],
  [0x0404, 8, ASCII, true],
  [0x0405, 1, BINARY, true],
  [0x0406, 8, ASCII, true],
  [0x0407, 8, BINARY, true],
  [0x0408, 1, BINARY, true],
  [0x0409, 2, BINARY, true],
];

async function read(
  o: Parameters<typeof cdb.readAttribute>[0] = {},
): Promise<ReturnType<typeof decodeAttributes>> {
  const r = await h.exec(cdb.readAttribute(o));
  expect(r.status, r.sense?.name).toBe(0);
  return decodeAttributes(r.data);
}

describe('READ ATTRIBUTE', () => {
  it('00h: device and medium attributes with the standard lengths, formats and live values', async () => {
    await h.insert({ label: 'MAM001L8', mediaType: 'LTO8' });
    await h.exec(cdb.write6(3 * MIB), { dataOut: Buffer.alloc(3 * MIB) });
    const { available, attributes } = await read();
    for (const [id, length, format, ro] of STANDARD) {
      const a = attributes.get(id);
      expect(a, id.toString(16)).toBeDefined();
      expect([a!.value.length, a!.format, a!.readOnly], id.toString(16)).toEqual([length, format, ro]);
    }
    let sum = 0;
    for (const a of attributes.values()) sum += 5 + a.value.length;
    expect(available).toBe(sum);
    const v = (id: number): bigint => num(attributes.get(id)!.value);
    expect(v(0x0001)).toBe(BigInt(Math.floor(12e12 / MIB)));
    expect(v(0x0000)).toBe(BigInt(Math.floor((12e12 - 3 * MIB) / MIB)));
    expect(v(0x0003)).toBe(1n); // one load
    expect(v(0x0006)).toBe(0x5en);
    expect(v(0x0220)).toBe(3n); // MiB written in life
    expect(v(0x0222)).toBe(3n); // ... and in this load
    expect(v(0x0403)).toBe(127n);
    expect(v(0x0408)).toBe(0x00n); // data medium
    expect(attributes.get(0x0005)!.value.toString('latin1')).toBe('LTO-CVE ');
    expect(attributes.get(0x0008)!.value).toEqual(padded('MAM001L8', 32));
    expect(attributes.get(0x0406)!.value.toString('latin1')).toMatch(/^20\d{6}$/);
    // Load history: the T10 vendor (8) and the drive serial (32) of the drive it was loaded in.
    expect(attributes.get(0x020a)!.value).toEqual(
      Buffer.concat([padded('IBM', 8), padded('TST0000001', 32)]),
    );
    expect(v(0x0009)).toBe(1n); // volume change reference moved with the write
  });

  it('WORM medium type 80h; FIRST ATTRIBUTE IDENTIFIER skips lower ids; allocation cuts, AVAILABLE DATA does not', async () => {
    await h.insert({ label: 'MAM002LW', mediaType: 'LTO8-WORM' });
    const all = await read();
    expect(num(all.attributes.get(0x0408)!.value)).toBe(0x80n);
    const from = await read({ first: 0x0400 });
    expect([...from.attributes.keys()].every((id) => id >= 0x0400)).toBe(true);
    const r = await h.exec(cdb.readAttribute({ alloc: 16 }));
    expect(r.data.length).toBe(16);
    expect(r.data.readUInt32BE(0)).toBe(all.available);
  });

  it('01h lists present ids, 05h every supported id, 02h/03h one volume and one partition', async () => {
    await h.insert();
    const list = async (sa: number): Promise<number[]> => {
      const d = (await h.exec(cdb.readAttribute({ sa }))).data;
      const n = d.readUInt32BE(0);
      return Array.from({ length: n / 2 }, (_, i) => d.readUInt16BE(4 + 2 * i));
    };
    const present = await list(0x01);
    expect(present).toContain(0x0000);
    expect(present).not.toContain(0x0800); // no host attribute written yet
    const supported = await list(0x05);
    expect(supported).toEqual(expect.arrayContaining([0x0800, 0x0803, 0x0808, 0x080c, 0x0821]));
    expect([...(await h.exec(cdb.readAttribute({ sa: 0x02 }))).data]).toEqual([0, 2, 0, 1]);
    expect([...(await h.exec(cdb.readAttribute({ sa: 0x03 }))).data]).toEqual([0, 2, 0, 1]);
  });

  it('refusals: no cartridge 3A/00; volume 1 and partition 1 are 24/00 at bytes 5 and 7; SA 04h 24/00 at byte 1', async () => {
    expect((await h.exec(cdb.readAttribute())).sense).toMatchObject({ key: SenseKey.NOT_READY, asc: 0x3a });
    await h.insert();
    expect((await h.exec(cdb.readAttribute({ volume: 1 }))).sense).toMatchObject({
      asc: 0x24,
      fieldPointer: 5,
    });
    expect((await h.exec(cdb.readAttribute({ partition: 1 }))).sense).toMatchObject({
      asc: 0x24,
      fieldPointer: 7,
    });
    expect((await h.exec(cdb.readAttribute({ sa: 0x04 }))).sense).toMatchObject({
      key: SenseKey.ILLEGAL_REQUEST,
      asc: 0x24,
      fieldPointer: 1,
    });
  });
});

describe('WRITE ATTRIBUTE', () => {
  const vendor = { id: 0x0800, format: ASCII, value: padded('Proxmox', 8) };
  const pool = { id: 0x0808, format: TEXT, value: padded('daily', 160) };

  it('host attributes persist with WTC=1 (cartridge.json) and read back with READ ONLY clear', async () => {
    const image = await h.insert({ label: 'MAM003L8' });
    const list = attributeList(vendor, pool);
    const w = await h.exec(cdb.writeAttribute(list.length), { dataOut: list });
    expect(w.status).toBe(0);
    const { attributes } = await read();
    expect(attributes.get(0x0800)).toEqual({
      id: 0x0800,
      readOnly: false,
      format: ASCII,
      value: vendor.value,
    });
    expect(attributes.get(0x0808)!.value).toEqual(pool.value);
    const again = await openTapeImage(h.backend, image.label);
    expect(again.meta.attributes['0808']).toBe(pool.value.toString('hex'));
    await again.close();
  });

  it('zero length deletes; deleting an absent attribute is no error; MAM SPACE REMAINING follows', async () => {
    await h.insert();
    const space = async (): Promise<bigint> => num((await read()).attributes.get(0x0004)!.value);
    const before = await space();
    let list = attributeList(pool);
    await h.exec(cdb.writeAttribute(list.length), { dataOut: list });
    expect(await space()).toBe(before - 165n);
    list = attributeList(
      { id: 0x0803, format: TEXT, value: Buffer.alloc(0) },
      { id: 0x0808, format: TEXT, value: Buffer.alloc(0) },
    );
    expect((await h.exec(cdb.writeAttribute(list.length), { dataOut: list })).status).toBe(0);
    expect((await read()).attributes.has(0x0808)).toBe(false);
    expect(await space()).toBe(before);
  });

  it('refusals are 26/00 pointing at the field, and nothing of the list is applied', async () => {
    await h.insert();
    const refuse = async (list: Buffer, fieldPointer: number): Promise<void> => {
      const r = await h.exec(cdb.writeAttribute(list.length), { dataOut: list });
      expect(r.sense).toMatchObject({
        key: SenseKey.ILLEGAL_REQUEST,
        asc: 0x26,
        ascq: 0,
        inCdb: false,
        fieldPointer,
      });
    };
    // Read-only device attribute (LOAD COUNT), after a valid one: neither is applied.
    await refuse(attributeList(vendor, { id: 0x0003, format: BINARY, value: Buffer.alloc(8) }), 4 + 13);
    expect((await read()).attributes.has(0x0800)).toBe(false);
    // Deleting a read-only attribute is refused too.
    await refuse(attributeList({ id: 0x0400, format: ASCII, value: Buffer.alloc(0) }), 4);
    // Unsupported identifier.
    await refuse(attributeList({ id: 0x0bff, format: BINARY, value: Buffer.alloc(1) }), 4);
    // Wrong length (7 for an 8-byte attribute): points at ATTRIBUTE LENGTH.
    await refuse(attributeList({ id: 0x0800, format: ASCII, value: Buffer.alloc(7) }), 4 + 3);
    // Wrong format (binary for an ASCII attribute): points at the FORMAT byte.
    await refuse(attributeList({ id: 0x0800, format: BINARY, value: Buffer.alloc(8) }), 4 + 2);
    // Not ascending.
    await refuse(attributeList(pool, vendor), 4 + 165);
    // A list shorter than PARAMETER DATA LENGTH says: 1A/00.
    const short = attributeList(vendor).subarray(0, 10);
    const r = await h.exec(cdb.writeAttribute(short.length), { dataOut: short });
    expect(r.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x1a });
  });

  it('more than the host MAM space (1 KiB on LTO-5): 55/06 and nothing stored', async () => {
    const drive5 = await new Harness(undefined, { model: 'IBM ULT3580-TD5', serial: 'TST0000005' }).start();
    try {
      await drive5.insert({ mediaType: 'LTO5', label: 'MAM005L5' });
      // What PBS and LTFS write together fits.
      const fits = attributeList(
        vendor,
        { id: 0x0801, format: ASCII, value: padded('Proxmox Backup Server', 32) },
        { id: 0x0803, format: TEXT, value: padded('MAM005L5', 160) },
        { id: 0x0806, format: ASCII, value: padded('MAM005L5', 32) },
        pool,
        { id: 0x080c, format: BINARY, value: Buffer.alloc(70) },
      );
      expect((await drive5.exec(cdb.writeAttribute(fits.length), { dataOut: fits })).status).toBe(0);
      const more = attributeList(
        { id: 0x0807, format: TEXT, value: Buffer.alloc(80) },
        { id: 0x080c, format: BINARY, value: Buffer.alloc(600) },
      );
      const r = await drive5.exec(cdb.writeAttribute(more.length), { dataOut: more });
      expect(r.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x55, ascq: 0x06 });
      const d = decodeAttributes((await drive5.exec(cdb.readAttribute())).data).attributes;
      expect(d.has(0x0807)).toBe(false);
      expect(d.get(0x080c)!.value.length).toBe(70);
    } finally {
      await drive5.close();
    }
  });
});
