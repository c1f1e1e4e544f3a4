/**
 * Tape data encryption (SSC-4 8.5, security protocol 20h) through real CDBs: the SPIN pages
 * decoded field by field from the SSC-4/SPC-4 layouts, SPOUT set data encryption and each of its
 * refusals, AES-256-GCM on the data path (ciphertext on disk, no key bytes, position bound), the
 * DATA PROTECT 74h replies, and when keys go away (reset, I_T nexus loss, CKOD, restart).
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { createFileBackend } from '../../../src/vtl/image/index.js';
import { Harness, block, cdb, type Result } from './harness.js';

const GOOD = 0;
const KEY = Buffer.from('00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210', 'hex');
const OTHER_KEY = Buffer.alloc(32, 0x5a);

/** Set Data Encryption page (SSC-4 8.5.3.2), built from the standard's layout. */
function sde(
  o: {
    scope?: number;
    lock?: boolean;
    ceem?: number;
    rdmc?: number;
    sdk?: boolean;
    ckod?: boolean;
    enc?: number;
    dec?: number;
    alg?: number;
    keyFormat?: number;
    kadFormat?: number;
    key?: Buffer | null;
    kads?: { type: number; value: Buffer }[];
  } = {},
): Buffer {
  const key = o.key === undefined ? KEY : (o.key ?? Buffer.alloc(0));
  const kads = (o.kads ?? []).map((k) => {
    const h = Buffer.alloc(4);
    h[0] = k.type;
    h.writeUInt16BE(k.value.length, 2);
    return Buffer.concat([h, k.value]);
  });
  const head = Buffer.alloc(20);
  head.writeUInt16BE(0x0010, 0);
  head[4] = ((o.scope ?? 2) << 5) | (o.lock ? 1 : 0);
  head[5] = ((o.ceem ?? 0) << 6) | ((o.rdmc ?? 0) << 4) | (o.sdk ? 8 : 0) | (o.ckod ? 4 : 0);
  head[6] = o.enc ?? 2;
  head[7] = o.dec ?? 3;
  head[8] = o.alg ?? 1;
  head[9] = o.keyFormat ?? 0;
  head[10] = o.kadFormat ?? 0;
  head.writeUInt16BE(key.length, 18);
  const page = Buffer.concat([head, key, ...kads]);
  page.writeUInt16BE(page.length - 4, 2);
  return page;
}

const harnesses: Harness[] = [];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vtl-tde-'));
});
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  await rm(dir, { recursive: true, force: true });
});
async function drive(
  options: { model?: string; compression?: boolean; file?: boolean } = {},
): Promise<Harness> {
  const h = await new Harness(options.file ? createFileBackend(dir) : undefined, {
    model: options.model ?? 'IBM ULT3580-TD8',
    compression: options.compression ?? false,
  }).start();
  harnesses.push(h);
  return h;
}
async function setKey(h: Harness, page: Buffer, nexus = h.nexus): Promise<Result> {
  return h.exec(cdb.spout(0x20, 0x0010, page.length), { dataOut: Buffer.from(page), nexus });
}
async function spin(
  h: Harness,
  protocol: number,
  page: number,
  alloc = 8192,
  nexus = h.nexus,
): Promise<Buffer> {
  const r = await h.exec(cdb.spin(protocol, page, alloc), { nexus });
  expect(r.status, r.sense?.name).toBe(GOOD);
  return r.data;
}
const expectSense = (r: Result, key: number, asc: number, ascq: number): void => {
  expect(r.status).toBe(2);
  expect(r.sense).toMatchObject({ key, asc, ascq });
};

describe('SECURITY PROTOCOL IN pages', () => {
  it('protocol 00h: supported protocols 00h and 20h; certificate data of length 0', async () => {
    const h = await drive();
    const list = await spin(h, 0x00, 0x0000);
    expect(list.readUInt16BE(6)).toBe(2);
    expect([...list.subarray(8)]).toEqual([0x00, 0x20]);
    expect([...(await spin(h, 0x00, 0x0001))]).toEqual([0, 0, 0, 0]);
  });

  it('protocol 20h: in and out support pages list exactly what answers', async () => {
    const h = await drive();
    const inPages = await spin(h, 0x20, 0x0000);
    expect(inPages.readUInt16BE(0)).toBe(0x0000);
    const codes = [];
    for (let i = 4; i < 4 + inPages.readUInt16BE(2); i += 2) codes.push(inPages.readUInt16BE(i));
    expect(codes).toEqual([0x0000, 0x0001, 0x0010, 0x0011, 0x0012, 0x0020, 0x0021]);
    await h.insert();
    for (const c of codes) expect((await h.exec(cdb.spin(0x20, c))).status, c.toString(16)).toBe(GOOD);
    expect([...(await spin(h, 0x20, 0x0001))]).toEqual([0x00, 0x01, 0x00, 0x02, 0x00, 0x10]);
    expect([...(await spin(h, 0x20, 0x0011))]).toEqual([0x00, 0x11, 0x00, 0x01, 0x00]);
    // 0012h: CKOD_C only; scopes ALL I_T NEXUS, LOCAL, PUBLIC.
    const mc = await spin(h, 0x20, 0x0012);
    expect([mc.readUInt16BE(0), mc.readUInt16BE(2), mc[4] & 1, mc[5] & 7, mc[7] & 7]).toEqual([
      0x12, 12, 0, 4, 7,
    ]);
  });

  it('0010h capabilities: one AES-256-GCM descriptor PBS and stenc accept, page exactly its length', async () => {
    const h = await drive();
    const empty = await spin(h, 0x20, 0x0010);
    expect(empty[24] & 0x80).toBe(0); // AVFMV: no volume mounted
    await h.insert();
    const d = await spin(h, 0x20, 0x0010);
    expect(d.length).toBe(4 + d.readUInt16BE(2));
    expect([d.readUInt16BE(0), d.readUInt16BE(2), (d[4] >> 2) & 3, d[4] & 3]).toEqual([0x10, 40, 1, 1]);
    const a = d.subarray(20);
    expect({
      index: a[0],
      length: a.readUInt16BE(2),
      avfmv: a[4] >> 7,
      macC: (a[4] >> 5) & 1,
      delbC: (a[4] >> 4) & 1,
      decryptC: (a[4] >> 2) & 3,
      encryptC: a[4] & 3,
      avfcp: a[5] >> 6,
      nonceC: (a[5] >> 4) & 3,
      kadfC: (a[5] >> 3) & 1,
      vcelbC: (a[5] >> 2) & 1,
      ukadMax: a.readUInt16BE(6),
      akadMax: a.readUInt16BE(8),
      keySize: a.readUInt16BE(10),
      dkadC: a[12] >> 6,
      rdmcC: (a[12] >> 1) & 7,
      code: a.readUInt32BE(20),
    }).toEqual({
      index: 1,
      length: 0x14,
      avfmv: 1,
      macC: 1,
      delbC: 1,
      decryptC: 2,
      encryptC: 2,
      avfcp: 1,
      nonceC: 1,
      kadfC: 1,
      vcelbC: 1,
      ukadMax: 32,
      akadMax: 12,
      keySize: 32,
      dkadC: 3,
      rdmcC: 1,
      code: 0x00010014,
    });
    // The allocation length cuts the page.
    expect((await spin(h, 0x20, 0x0010, 10)).length).toBe(10);
  });

  it('unknown protocol, unknown page and INC_512 are INVALID FIELD IN CDB with the field pointer', async () => {
    const h = await drive();
    const p = await h.exec(cdb.spin(0xef, 0));
    expect(p.sense).toMatchObject({ key: SenseKey.ILLEGAL_REQUEST, asc: 0x24, fieldPointer: 1 });
    const g = await h.exec(cdb.spin(0x20, 0x0030));
    expect(g.sense).toMatchObject({ asc: 0x24, fieldPointer: 2 });
    const i = await h.exec(cdb.spin(0x20, 0x0010, 512, { inc512: true }));
    expect(i.sense).toMatchObject({ asc: 0x24, fieldPointer: 4, bitPointer: 7 });
    // 0021h needs a volume.
    expect((await h.exec(cdb.spin(0x20, 0x0021))).sense).toMatchObject({ key: 2, asc: 0x3a });
  });
});

describe('SECURITY PROTOCOL OUT set data encryption', () => {
  it('sets a key with scope ALL I_T NEXUS; 0020h shows it to every nexus; a new key bumps the counter', async () => {
    const h = await drive();
    const ukad = Buffer.from('backup-key-1');
    expect((await setKey(h, sde({ kadFormat: 2, kads: [{ type: 0, value: ukad }] }))).status).toBe(GOOD);
    for (const nexus of [h.nexus, h.other]) {
      const s = await spin(h, 0x20, 0x0020, 8192, nexus);
      expect(s.readUInt16BE(0)).toBe(0x20);
      expect({
        itNexusScope: s[4] >> 5,
        keyScope: s[4] & 7,
        enc: s[5],
        dec: s[6],
        alg: s[7],
        counter: s.readUInt32BE(8),
        parametersControl: (s[12] >> 4) & 7,
        rdmd: s[12] & 1,
        kadFormat: s[13],
        kadType: s[24],
        kad: s.subarray(28, 28 + s.readUInt16BE(26)).toString(),
      }).toEqual({
        itNexusScope: 0,
        keyScope: 2,
        enc: 2,
        dec: 3,
        alg: 1,
        counter: 1,
        parametersControl: 1,
        rdmd: 1,
        kadFormat: 2,
        kadType: 0,
        kad: 'backup-key-1',
      });
    }
    await setKey(h, sde({ key: OTHER_KEY }));
    expect((await spin(h, 0x20, 0x0020)).readUInt32BE(8)).toBe(2);
    // Clearing: modes 0/0, no key (what PBS sends).
    expect((await setKey(h, sde({ enc: 0, dec: 0, key: null }))).status).toBe(GOOD);
    const off = await spin(h, 0x20, 0x0020);
    expect([off[5], off[6], off.readUInt16BE(2)]).toEqual([0, 0, 20]);
  });

  it('LOCAL scope is one nexus only, PUBLIC goes back to the shared set, nexus loss drops the LOCAL set', async () => {
    const h = await drive();
    await setKey(h, sde({ scope: 1 }));
    const mine = await spin(h, 0x20, 0x0020);
    expect([mine[4] >> 5, mine[4] & 7, mine[5]]).toEqual([1, 1, 2]);
    expect((await spin(h, 0x20, 0x0020, 8192, h.other))[5]).toBe(0);
    await setKey(h, sde({ scope: 0 }));
    expect((await spin(h, 0x20, 0x0020))[5]).toBe(0);
    await setKey(h, sde({ scope: 1 }));
    h.unit.lu.nexusRemoved(h.nexus);
    h.unit.lu.nexusAdded(h.nexus);
    await h.clearUnitAttentions();
    expect((await spin(h, 0x20, 0x0020))[5]).toBe(0);
  });

  it('refuses what the capabilities rule out, naming the byte and bit, and changes nothing', async () => {
    const h = await drive();
    const cases: [Buffer, number, number | null][] = [
      [sde({ scope: 3 }), 4, 7],
      [sde({ lock: true }), 4, 0],
      [sde({ ceem: 2 }), 5, 7],
      [sde({ rdmc: 2 }), 5, 5],
      [sde({ sdk: true }), 5, 3],
      [sde({ enc: 1 }), 6, null],
      [sde({ dec: 4 }), 7, null],
      [sde({ alg: 2 }), 8, null],
      [sde({ keyFormat: 2 }), 9, null],
      [sde({ kadFormat: 3 }), 10, null],
      [sde({ key: Buffer.alloc(16, 1) }), 18, null],
      [sde({ kads: [{ type: 0, value: Buffer.alloc(33, 0x41) }] }), 54, null],
      [sde({ kads: [{ type: 2, value: Buffer.alloc(12) }] }), 52, null],
    ];
    for (const [page, byte, bit] of cases) {
      const r = await setKey(h, page);
      expect(r.sense, `byte ${byte}`).toMatchObject({
        key: SenseKey.ILLEGAL_REQUEST,
        asc: 0x26,
        ascq: 0,
        fieldPointer: byte,
      });
      if (bit !== null) expect(r.sense?.bitPointer).toBe(bit);
    }
    expect((await spin(h, 0x20, 0x0020))[5]).toBe(0);
    const short = await h.exec(cdb.spout(0x20, 0x0010, 8), { dataOut: sde().subarray(0, 8) });
    expectSense(short, SenseKey.ILLEGAL_REQUEST, 0x1a, 0);
    const page = await h.exec(cdb.spout(0x20, 0x0011, 52), { dataOut: sde() });
    expect(page.sense).toMatchObject({ asc: 0x24, fieldPointer: 2 });
    // CKOD without a volume: nothing to demount.
    expectSense(await setKey(h, sde({ ckod: true })), SenseKey.NOT_READY, 0x3a, 0);
  });
});

describe('encrypted data path', () => {
  it('writes ciphertext (no plaintext, no key bytes on disk), reads it back equal, and a restart has no key', async () => {
    let h = await drive({ file: true });
    await h.insert({ label: 'ENC001L8' });
    await setKey(h, sde({ kads: [{ type: 0, value: Buffer.from('k1') }] }));
    const plain = Buffer.alloc(65536, 0);
    Buffer.from('PLAINTEXT-MARKER-'.repeat(100)).copy(plain);
    expect((await h.exec(cdb.write6(plain.length), { dataOut: plain })).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(1))).status).toBe(GOOD);
    expect((await h.exec(cdb.rewind())).status).toBe(GOOD);
    const back = await h.exec(cdb.read6(plain.length));
    expect(back.status).toBe(GOOD);
    expect(back.data.equals(plain)).toBe(true);
    // Next block status at BOP: encrypted, decryptable, U-KAD 'k1'.
    await h.exec(cdb.rewind());
    const nb = await spin(h, 0x20, 0x0021);
    expect([
      nb.readUInt16BE(0),
      Number(nb.readBigUInt64BE(4)),
      nb[12] & 0xf,
      nb[13],
      nb[16],
      nb.subarray(20, 22).toString(),
    ]).toEqual([0x21, 0, 5, 1, 0, 'k1']);
    await h.close();
    harnesses.length = 0;
    const files = await readdir(join(dir, 'ENC001L8'));
    for (const f of files) {
      const bytes = await readFile(join(dir, 'ENC001L8', f));
      expect(bytes.includes(Buffer.from('PLAINTEXT-MARKER')), f).toBe(false);
      expect(bytes.includes(KEY.subarray(0, 8)), f).toBe(false);
      expect(bytes.includes(KEY.subarray(16, 24)), f).toBe(false);
    }
    // Restart: the key was only in memory. DATA PROTECT 74/01, INFORMATION = the request, head kept.
    h = await drive({ file: true });
    await h.insert({ label: 'ENC001L8' });
    const r = await h.exec(cdb.read6(plain.length));
    expectSense(r, SenseKey.DATA_PROTECT, 0x74, 0x01);
    expect(r.sense?.information).toBe(plain.length);
    const pos = await h.exec(cdb.readPosition(0x06), { expectedLength: 32 });
    expect(Number(pos.data.readBigUInt64BE(8))).toBe(0);
    expect((await spin(h, 0x20, 0x0021))[12] & 0xf).toBe(6); // encrypted, no key
    await setKey(h, sde());
    expect((await h.exec(cdb.read6(plain.length))).data.equals(plain)).toBe(true);
  });

  it('wrong key is 74/03; DECRYPT mode on a clear block is 74/02, MIXED reads both; RAW is 74/0A', async () => {
    const h = await drive({ compression: true });
    await h.insert();
    await h.exec(cdb.write6(1000), { dataOut: block(1, 1000) }); // clear
    await setKey(h, sde({ dec: 2 }));
    await h.exec(cdb.write6(1000), { dataOut: block(2, 1000) }); // encrypted
    await h.exec(cdb.rewind());
    expectSense(await h.exec(cdb.read6(1000)), SenseKey.DATA_PROTECT, 0x74, 0x02);
    await setKey(h, sde({ dec: 3 }));
    expect((await h.exec(cdb.read6(1000))).data).toEqual(block(1, 1000));
    expect((await h.exec(cdb.read6(1000))).data).toEqual(block(2, 1000));
    await h.exec(cdb.space6(0, -1 & 0xffffff));
    await setKey(h, sde({ key: OTHER_KEY }));
    expectSense(await h.exec(cdb.read6(1000)), SenseKey.DATA_PROTECT, 0x74, 0x03);
    await setKey(h, sde({ enc: 0, dec: 1, key: null }));
    expectSense(await h.exec(cdb.read6(1000)), SenseKey.DATA_PROTECT, 0x74, 0x0a);
  });

  it('a refused read raises TapeAlert 3Dh (ENCRYPTION POLICY VIOLATION) once, cleared by reading page 2Eh', async () => {
    const h = await drive();
    await h.insert();
    /** Flag 3Dh's value in page 2Eh (parameter code = flag, 5 bytes each). */
    const flag3d = async (): Promise<number> => {
      const log = await h.exec(cdb.logSense(0x2e));
      expect(log.status).toBe(0);
      return log.data[4 + (0x3d - 1) * 5 + 4];
    };
    await setKey(h, sde({}));
    await h.exec(cdb.write6(1000), { dataOut: block(3, 1000) });
    await h.exec(cdb.rewind());
    expect((await h.exec(cdb.read6(1000))).status).toBe(0);
    expect(await flag3d()).toBe(0); // a read that decrypts raises nothing
    await h.exec(cdb.rewind());
    await setKey(h, sde({ key: OTHER_KEY }));
    expectSense(await h.exec(cdb.read6(1000)), SenseKey.DATA_PROTECT, 0x74, 0x03);
    expect(await flag3d()).toBe(1);
    expect(await flag3d()).toBe(0);
  });

  it('a block moved to another position fails GCM authentication (74/04)', async () => {
    const h = await drive();
    const image = await h.insert();
    await setKey(h, sde());
    await h.exec(cdb.write6(100), { dataOut: block(1, 100) });
    await h.exec(cdb.rewind());
    const stored = await image.read();
    if (stored.kind !== 'data') throw new Error('expected a block');
    await image.writeBlock(Buffer.from(stored.data), { flags: stored.flags, keyId: stored.keyId });
    await h.exec(cdb.rewind());
    await h.exec(cdb.space6(0, 1));
    expectSense(await h.exec(cdb.read6(100)), SenseKey.DATA_PROTECT, 0x74, 0x04);
  });

  it('LOGICAL UNIT RESET and CKOD demount release the key', async () => {
    const h = await drive();
    await h.insert({ label: 'CKOD01L8' });
    await setKey(h, sde());
    h.unit.lu.reset('lun-reset', h.nexus);
    await h.clearUnitAttentions();
    await h.clearUnitAttentions(h.other);
    expect((await spin(h, 0x20, 0x0020))[5]).toBe(0);
    await setKey(h, sde({ ckod: true }));
    expect((await spin(h, 0x20, 0x0020))[5]).toBe(2);
    expect((await h.exec(cdb.loadUnload({ load: false }))).status).toBe(GOOD);
    expect((await spin(h, 0x20, 0x0020))[5]).toBe(0);
  });
});
