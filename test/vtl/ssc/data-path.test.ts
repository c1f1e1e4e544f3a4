/**
 * The data path besides encryption: drive compression (page 0Fh DCE, zstd per block, capacity on
 * bytes stored, ratios in log pages 1Bh and 17h), logical block protection (page 0Ah/F0h,
 * CRC32C), and the media that refuse writes (WORM append-only, write-protected cartridges).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { crc32c } from '../../../src/target/transport/crc32c.js';
import { createMemoryBackend, openTapeImage, setWriteProtected } from '../../../src/vtl/image/index.js';
import { Harness, block, cdb, type Result } from './harness.js';
import { paramMap, num } from './decode.js';

const GOOD = 0;
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});
async function drive(
  o: { model?: string; compression?: boolean } = {},
  backend = createMemoryBackend(),
): Promise<Harness> {
  const h = await new Harness(backend, {
    model: o.model ?? 'IBM ULT3580-TD8',
    compression: o.compression,
  }).start();
  harnesses.push(h);
  return h;
}
const expectSense = (r: Result, key: number, asc: number, ascq: number): void => {
  expect(r.status).toBe(2);
  expect(r.sense).toMatchObject({ key, asc, ascq });
};
/** MODE SELECT(10) of one page (header 8 bytes, no block descriptor). */
async function select10(h: Harness, page: Buffer): Promise<Result> {
  const list = Buffer.concat([Buffer.alloc(8), page]);
  return h.exec(cdb.modeSelect10(list.length), { dataOut: list });
}

describe('drive compression', () => {
  it('compressible blocks are stored smaller and flagged, read back equal; capacity counts stored bytes', async () => {
    const h = await drive({ compression: true });
    const image = await h.insert();
    const text = Buffer.from('all work and no play makes jack a dull boy. '.repeat(6000)).subarray(0, 262144);
    const noise = randomBytes(65536);
    expect((await h.exec(cdb.write6(text.length), { dataOut: text })).status).toBe(GOOD);
    expect((await h.exec(cdb.write6(noise.length), { dataOut: noise })).status).toBe(GOOD);
    expect(image.bytesUsed).toBeLessThan(text.length / 10 + noise.length + 64);
    expect(image.bytesUsed).toBeGreaterThanOrEqual(noise.length); // noise stays as it is
    await h.exec(cdb.rewind());
    const raw1 = await image.read();
    const raw2 = await image.read();
    expect([raw1.kind === 'data' && raw1.flags, raw2.kind === 'data' && (raw2.flags ?? 0)]).toEqual([1, 0]);
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.read6(text.length))).data.equals(text)).toBe(true);
    expect((await h.exec(cdb.read6(noise.length))).data.equals(noise)).toBe(true);
    // Log 1Bh: write ratio x100 well above 100; 0Ch counts host bytes and medium bytes apart.
    const lp = paramMap((await h.exec(cdb.logSense(0x1b))).data);
    expect(Number(num(lp.get(0x0001)!.value))).toBeGreaterThan(100);
    expect(Number(num(lp.get(0x0000)!.value))).toBeGreaterThan(100);
    const seq = paramMap((await h.exec(cdb.logSense(0x0c))).data);
    expect(num(seq.get(0x0000)!.value)).toBe(BigInt(text.length + noise.length));
    expect(num(seq.get(0x0001)!.value)).toBe(BigInt(image.bytesUsed));
    const vs = paramMap((await h.exec(cdb.logSense(0x17))).data);
    expect(Number(num(vs.get(0x0012)!.value))).toBeGreaterThan(100);
  });

  it('a large block whose samples do not compress is stored as it is without a full zstd pass', async () => {
    const h = await drive({ compression: true });
    const image = await h.insert();
    const noise = randomBytes(262144);
    const text = Buffer.from('0123456789abcdef'.repeat(16384));
    expect((await h.exec(cdb.write6(noise.length), { dataOut: noise })).status).toBe(GOOD);
    expect(h.drive.dataPath.probeSkips).toBe(1);
    expect((await h.exec(cdb.write6(text.length), { dataOut: text })).status).toBe(GOOD);
    expect(h.drive.dataPath.probeSkips).toBe(1); // compressible: the probe lets it through
    await h.exec(cdb.rewind());
    const [a, b] = [await image.read(), await image.read()];
    expect(a.kind === 'data' && (a.flags ?? 0)).toBe(0);
    expect(b.kind === 'data' && b.flags).toBe(1);
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.read6(noise.length))).data.equals(noise)).toBe(true);
    expect((await h.exec(cdb.read6(text.length))).data.equals(text)).toBe(true);
  });

  it('DCE=0 (MODE SELECT page 0Fh) stores blocks as they are; ratio 100', async () => {
    const h = await drive({ compression: true });
    const image = await h.insert();
    const ms = await h.exec(cdb.modeSense10(0x0f, 255, { dbd: true }));
    const page = Buffer.from(ms.data.subarray(8));
    page[2] &= ~0x80;
    expect((await select10(h, page)).status).toBe(GOOD);
    await h.exec(cdb.write6(4096), { dataOut: Buffer.alloc(4096) });
    expect(image.bytesUsed).toBe(4096);
    const lp = paramMap((await h.exec(cdb.logSense(0x1b))).data);
    expect(num(lp.get(0x0001)!.value)).toBe(100n);
    expect(num(lp.get(0x0100)!.value)).toBe(0n);
  });
});

describe('logical block protection (0Ah/F0h)', () => {
  const lbpPage = (method: number, length: number, flags: number): Buffer => {
    const p = Buffer.alloc(32);
    p[0] = 0x4a;
    p[1] = 0xf0;
    p.writeUInt16BE(0x1c, 2);
    p[4] = method;
    p[5] = length;
    p[6] = flags;
    return p;
  };
  const withCrc = (d: Buffer): Buffer => {
    const c = Buffer.alloc(4);
    c.writeUInt32LE(crc32c(d, 0), 0);
    return Buffer.concat([d, c]);
  };

  it('IBM: page reads as SSC-4 lays it out; CRC32C with LBP_W/LBP_R round-trips and stores the block without it', async () => {
    const h = await drive();
    const image = await h.insert();
    const ms = await h.exec(cdb.modeSense10(0x0a, 255, { subpage: 0xf0 }));
    expect(ms.status).toBe(GOOD);
    const page = ms.data.subarray(16);
    expect([page[0], page[1], page.readUInt16BE(2), page[4], page[5], page[6]]).toEqual([
      0x4a, 0xf0, 0x1c, 0, 0, 0,
    ]);
    // LTFS's `_set_lbp(true)` on LTO-7+: method CRC32C, length 4, LBP_W|LBP_R, through the 48-byte list.
    const list = Buffer.from(ms.data);
    list.writeUInt16BE(0, 0);
    list[20] = 0x02;
    list[21] = 0x04;
    list[22] = 0xc0;
    expect((await h.exec(cdb.modeSelect10(list.length), { dataOut: list })).status).toBe(GOOD);
    const data = block(3, 1000);
    expect((await h.exec(cdb.write6(1004), { dataOut: withCrc(data) })).status).toBe(GOOD);
    expect(image.bytesUsed).toBe(1000);
    const bad = withCrc(data);
    bad[0] ^= 1;
    expectSense(await h.exec(cdb.write6(1004), { dataOut: bad }), SenseKey.HARDWARE_ERROR, 0x10, 0x01);
    expect(image.objectCount).toBe(1);
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.read6(1004))).data).toEqual(withCrc(data));
    // LBP off: the same block reads without protection information.
    expect((await select10(h, lbpPage(0, 0, 0))).status).toBe(GOOD);
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.read6(1000))).data).toEqual(data);
  });

  it('refuses Reed-Solomon, a wrong length and LBP_W without a method; HP has no such page', async () => {
    const h = await drive();
    for (const [p, byte] of [
      // Field pointers count from the list: 8-byte header, no block descriptor, page byte 4.
      [lbpPage(1, 4, 0xc0), 12],
      [lbpPage(2, 8, 0xc0), 13],
      [lbpPage(0, 0, 0x80), 14],
    ] as const) {
      const r = await select10(h, p);
      expect(r.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x26, fieldPointer: byte });
    }
    const hp = await drive({ model: 'HPE Ultrium 8-SCSI' });
    expect((await hp.exec(cdb.modeSense10(0x0a, 255, { subpage: 0xf0 }))).sense).toMatchObject({ asc: 0x24 });
  });
});

describe('media that refuse writes', () => {
  it('WORM: appends work; overwrite, erase and format of recorded data are DATA PROTECT 30/0C', async () => {
    const h = await drive();
    await h.insert({ label: 'W00001LY', mediaType: 'LTO8-WORM' });
    const ms = await h.exec(cdb.modeSense10(0x1d, 255));
    expect(ms.data[16 + 2] & 1).toBe(1); // WORMM
    expect(ms.data[2]).toBe(0x8c); // IBM medium type: LTO-8 WORM
    expect((await h.exec(cdb.write6(100), { dataOut: block(1, 100) })).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(1))).status).toBe(GOOD);
    // Filemarks just before EOD may be overwritten (WORM mode filemark restrictions 03h).
    await h.exec(cdb.space6(1, -1 & 0xffffff));
    expect((await h.exec(cdb.write6(100), { dataOut: block(2, 100) })).status).toBe(GOOD);
    await h.exec(cdb.rewind());
    expectSense(await h.exec(cdb.write6(100), { dataOut: block(3, 100) }), SenseKey.DATA_PROTECT, 0x30, 0x0c);
    expectSense(await h.exec(cdb.writeFilemarks6(1)), SenseKey.DATA_PROTECT, 0x30, 0x0c);
    expectSense(await h.exec(cdb.erase6()), SenseKey.DATA_PROTECT, 0x30, 0x0c);
    expectSense(await h.exec(cdb.formatMedium()), SenseKey.DATA_PROTECT, 0x30, 0x0c);
    const vs = paramMap((await h.exec(cdb.logSense(0x17))).data);
    expect(num(vs.get(0x0081)!.value)).toBe(1n);
  });

  it('write-protected (operator tab): 27/00 for every write, WP bit in the mode header, TapeAlert 09h', async () => {
    const backend = createMemoryBackend();
    const h = await drive({}, backend);
    await h.insert({ label: 'WP0001L8' });
    expect((await h.exec(cdb.write6(100), { dataOut: block(1, 100) })).status).toBe(GOOD);
    const image = await h.drive.unload();
    await image!.close();
    await setWriteProtected(backend, 'WP0001L8', true);
    await h.drive.load(await openTapeImage(backend, 'WP0001L8'));
    await h.clearUnitAttentions();
    expect((await h.exec(cdb.modeSense6(0, 12))).data[2] & 0x80).toBe(0x80);
    for (const c of [cdb.write6(100), cdb.writeFilemarks6(1), cdb.erase6(), cdb.formatMedium()]) {
      expectSense(await h.exec(c, { dataOut: block(2, 100) }), SenseKey.DATA_PROTECT, 0x27, 0x00);
    }
    const ta = await h.exec(cdb.logSense(0x12));
    expect((ta.data.readBigUInt64BE(8) >> BigInt(64 - 9)) & 1n).toBe(1n);
    expect((await h.exec(cdb.read6(100))).data).toEqual(block(1, 100));
  });
});
