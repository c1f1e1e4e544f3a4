/**
 * Proxmox Backup Server's userspace driver (pbs-tape sg_tape.rs, clients.md 3) replayed as CDBs:
 * `proxmox-tape status` (get_drive_and_media_status), `format` (format_media, LTO-8 and LTO-9
 * slow format), `label` (label_tape + write_mam_attributes) and `read-label`. Every field PBS
 * checks is asserted with PBS's own acceptance rules. Encryption (pbs-tape encryption.rs,
 * drive/lto/mod.rs): clear the key before labels, set the media-set key (SPOUT 0010h, scope all
 * I_T nexus, ENCRYPT/MIXED) after the media-set label, clear it when the handle drops.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAttributes, decodeLogPage, num } from './decode.js';
import { Harness, cdb, decodeLongPosition } from './harness.js';

const GOOD = 0;
const BLOCK = 256 * 1024;
/** Density codes pbs-api-types TapeDensity accepts; anything else fails `status`. */
const PBS_DENSITIES = [0x00, 0x40, 0x42, 0x44, 0x46, 0x58, 0x5a, 0x5c, 0x5d, 0x5e, 0x60];
/** MAM attributes PBS knows and their lengths (mam.rs MAM_ATTRIBUTES); other lengths are dropped. */
const PBS_MAM: Record<number, number> = {
  0x0000: 8,
  0x0001: 8,
  0x0002: 8,
  0x0003: 8,
  0x0004: 8,
  0x0005: 8,
  0x0006: 1,
  0x0007: 2,
  0x0009: 4,
  0x020a: 40,
  0x020b: 40,
  0x020c: 40,
  0x020d: 40,
  0x0220: 8,
  0x0221: 8,
  0x0222: 8,
  0x0223: 8,
  0x0400: 8,
  0x0401: 32,
  0x0402: 4,
  0x0403: 4,
  0x0404: 8,
  0x0405: 1,
  0x0406: 8,
  0x0407: 8,
  0x0408: 1,
  0x0409: 2,
  0x0800: 8,
  0x0801: 32,
  0x0802: 8,
  0x0803: 160,
  0x0804: 12,
  0x0805: 1,
  0x0806: 32,
  0x0807: 80,
  0x0808: 160,
  0x080b: 16,
  0x0820: 36,
  0x0821: 36,
};

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const x of harnesses.splice(0)) await x.close();
});
async function drive(model: string, mediaOptimizationMs = 100): Promise<Harness> {
  const h = await new Harness(undefined, { model, mediaOptimizationMs, compression: true }).start();
  harnesses.push(h);
  return h;
}

/** sgutils2.rs decode_mode_sense10_result: exact length, 8-byte block descriptor, page checks. */
async function modeSense10(
  h: Harness,
  page: number,
  pageLength: number,
): Promise<{ head: Buffer; bd: Buffer; page: Buffer }> {
  const r = await h.exec(cdb.modeSense10(page, 4096));
  expect(r.status).toBe(GOOD);
  expect(r.data.length).toBe(r.data.readUInt16BE(0) + 2);
  expect(r.data.readUInt16BE(6)).toBe(8);
  const p = r.data.subarray(16);
  expect([p[0] & 0x3f, p[1]]).toEqual([page, pageLength]);
  return { head: r.data.subarray(0, 8), bd: r.data.subarray(8, 16), page: p };
}

/** wait_until_ready: TUR every second (here 20 ms) until GOOD. */
async function waitUntilReady(h: Harness): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await h.exec(cdb.testUnitReady())).status === GOOD) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('drive never became ready');
}

/** get_drive_and_media_status, with every check PBS makes. */
async function status(h: Harness): Promise<Record<string, unknown>> {
  const rs = await h.exec(cdb.requestSense(18));
  expect(rs.data[0] & 0x7f).toBe(0x70);
  const { head, bd, page } = await modeSense10(h, 0x0f, 0x0e);
  expect(PBS_DENSITIES).toContain(bd[0]);
  const dt = await h.exec(cdb.logSense(0x11, 8192));
  const vhf = decodeLogPage(dt.data).params.find((p) => p.code === 0)!;
  expect([vhf.value.length, vhf.value[0] & 1]).toEqual([4, 1]);
  const activity = vhf.value[2];
  const ta = await h.exec(cdb.logSense(0x12, 512));
  expect([
    ta.data[0] & 0x3f,
    ta.data[1],
    ta.data.readUInt16BE(2),
    ta.data.readUInt16BE(4),
    ta.data[7],
  ]).toEqual([0x12, 0, 0x0c, 0, 8]);
  const out: Record<string, unknown> = {
    density: bd[0],
    blocksize: bd.readUIntBE(5, 3),
    bufferMode: (head[3] >> 4) & 7,
    compression: (page[2] & 0x80) !== 0,
    activity,
    alertFlags: ta.data.readBigUInt64BE(8),
  };
  if ((await h.exec(cdb.testUnitReady())).status !== GOOD) return out;
  const pos = await h.exec(cdb.readPosition(0x06), { expectedLength: 32 });
  expect(pos.data.length).toBe(32);
  const p = decodeLongPosition(pos.data);
  expect(p.partition).toBe(0);
  Object.assign(out, { file: p.file, block: p.object });
  const mam = await h.exec(cdb.readAttribute({ alloc: 32 * 1024 }));
  const d = mam.data.readUInt32BE(0);
  expect(mam.data.length - 4).toBe(d);
  const attrs = decodeAttributes(mam.data).attributes;
  for (const [id, a] of attrs)
    if (PBS_MAM[id] !== undefined) expect(a.value.length, id.toString(16)).toBe(PBS_MAM[id]);
  const date = attrs.get(0x0406)!.value.toString('latin1');
  expect(date).toMatch(/^\d{8}$/);
  Object.assign(out, {
    manufactured: date,
    bytesWritten: num(attrs.get(0x0220)!.value) * 1048576n,
    bytesRead: num(attrs.get(0x0221)!.value) * 1048576n,
  });
  const vs = decodeLogPage((await h.exec(cdb.logSense(0x17, 8192))).data).params;
  const v = new Map(vs.map((x) => [x.code, x.value]));
  expect(num(v.get(0)!)).not.toBe(0n);
  for (const x of vs)
    if (x.code <= 0x0102 && x.code !== 0x0040) expect(x.value.length).toBeGreaterThanOrEqual(1);
  Object.assign(out, { mounts: num(v.get(1)!), passes: num(v.get(0x0101)!) });
  return out;
}

/** format_media(fast): medium configuration page, then the generation's flow, then MAM cleared. */
async function format(h: Harness, fast: boolean): Promise<void> {
  const { bd, page } = await modeSense10(h, 0x1d, 0x1e);
  expect(page[2] & 1).toBe(0); // not WORM
  expect((await h.exec(cdb.rewind())).status).toBe(GOOD);
  if (bd[0] >= 0x58 && bd[0] <= 0x5e) {
    expect((await h.exec(cdb.formatMedium())).status).toBe(GOOD);
    if (!fast) expect((await h.exec(cdb.erase6(true))).status).toBe(GOOD);
  } else if (bd[0] >= 0x60 && !fast) {
    expect((await h.exec(cdb.formatMedium({ immed: true }))).status).toBe(GOOD);
    await waitUntilReady(h);
    expect((await h.exec(cdb.erase6(true))).status).toBe(GOOD);
  } else {
    expect((await h.exec(cdb.erase6(!fast))).status).toBe(GOOD);
  }
  for (const id of [0x0800, 0x0801, 0x0802, 0x0803, 0x0808]) {
    const list = Buffer.alloc(9);
    list.writeUInt32BE(5, 0);
    list.writeUInt16BE(id, 4);
    list[6] = id === 0x0803 || id === 0x0808 ? 2 : 1;
    expect((await h.exec(cdb.writeAttribute(9), { dataOut: list })).status).toBe(GOOD);
  }
}

function mamWrite(id: number, format: number, length: number, text: string): Buffer {
  const v = Buffer.alloc(length);
  v.write(text, 'latin1');
  const list = Buffer.alloc(4 + 5 + length);
  list.writeUInt32BE(5 + length, 0);
  list.writeUInt16BE(id, 4);
  list[6] = format;
  list.writeUInt16BE(length, 7);
  v.copy(list, 9);
  return list;
}

/** label_tape: file 0 = label block(s), filemark IMMED, WRITE FILEMARKS 0; then MAM attributes. */
async function label(h: Harness, text: string): Promise<void> {
  const block = Buffer.alloc(BLOCK);
  block.write(`label:${text}`, 16, 'latin1');
  expect((await h.exec(cdb.write6(BLOCK), { dataOut: block })).status).toBe(GOOD);
  expect((await h.exec(cdb.writeFilemarks6(1, { immed: true }))).status).toBe(GOOD);
  expect((await h.exec(cdb.writeFilemarks6(0))).status).toBe(GOOD);
  for (const [id, fmt, len, v] of [
    [0x0800, 1, 8, 'Proxmox'],
    [0x0801, 1, 32, 'Proxmox Backup Server'],
    [0x0802, 1, 8, '3.2.7'],
    [0x0803, 2, 160, text],
    [0x0808, 2, 160, 'daily'],
  ] as const) {
    const list = mamWrite(id, fmt, len, v);
    expect((await h.exec(cdb.writeAttribute(list.length), { dataOut: list })).status).toBe(GOOD);
  }
}

/** read-label: REWIND, READ with SILI of exactly 256 KiB; BLANK CHECK 00/05 means empty. */
async function readLabel(h: Harness): Promise<string | null> {
  expect((await h.exec(cdb.rewind())).status).toBe(GOOD);
  const r = await h.exec(cdb.read6(BLOCK, { sili: true }));
  if (r.status !== GOOD) {
    expect(r.sense).toMatchObject({ key: 0x8, asc: 0, ascq: 5 });
    return null;
  }
  expect(r.data.length).toBe(BLOCK);
  return r.data.toString('latin1', 16).replace(/\0+$/, '');
}

describe('Proxmox Backup Server: status, format, label, read-label', () => {
  it('LTO-8: status without media, then with an empty tape; format, label, read-label, status again', async () => {
    const h = await drive('IBM ULT3580-TD8');
    expect(await status(h)).toEqual({
      density: 0,
      blocksize: 0,
      bufferMode: 1,
      compression: true,
      activity: 0,
      alertFlags: 0n,
    });
    await h.insert({ label: 'PBS001L8' });
    // open_lto_drive: set_default_options echoes page 0Fh with variable blocks, buffered, DCE.
    const ms = await h.exec(cdb.modeSense10(0x0f, 4096));
    const sel = Buffer.from(ms.data);
    sel.writeUInt16BE(0, 0);
    expect((await h.exec(cdb.modeSelect10(sel.length), { dataOut: sel })).status).toBe(GOOD);
    const s1 = await status(h);
    expect(s1).toMatchObject({ density: 0x5e, file: 0, block: 0, mounts: 1n, bytesWritten: 0n });
    expect(await readLabel(h)).toBeNull();
    await format(h, false);
    await label(h, 'PBS001L8');
    expect(await readLabel(h)).toBe('label:PBS001L8');
    const s2 = await status(h);
    expect(s2).toMatchObject({ density: 0x5e, file: 0, block: 1, alertFlags: 0n });
    const mam = decodeAttributes((await h.exec(cdb.readAttribute())).data).attributes;
    expect(mam.get(0x0808)!.value).toEqual(Buffer.concat([Buffer.from('daily'), Buffer.alloc(155)]));
    expect(mam.get(0x0801)!.value.toString('latin1').replace(/\0+$/, '')).toBe('Proxmox Backup Server');
    expect(num(mam.get(0x0007)!.value)).toBe(1n); // one FORMAT MEDIUM
  });

  it('LTO-9: first load optimizes (status reports calibrating), slow format waits for the re-optimization', async () => {
    const h = await drive('IBM ULT3580-TD9', 200);
    await h.insert({ mediaType: 'LTO9', label: 'PBS002L9' });
    const during = await status(h);
    expect(during).toMatchObject({ density: 0x60, activity: 0x0b });
    expect(during.file).toBeUndefined(); // TUR failed: PBS skips position and MAM
    await waitUntilReady(h);
    expect(await status(h)).toMatchObject({ activity: 0, file: 0, block: 0 });
    await format(h, false);
    await label(h, 'PBS002L9');
    expect(await readLabel(h)).toBe('label:PBS002L9');
    // Report density: PBS takes the highest primary code as the drive generation.
    const rd = (await h.exec(cdb.reportDensitySupport())).data;
    const codes = [];
    for (let off = 4; off < rd.length; off += 52) codes.push(rd[off]);
    expect(Math.max(...codes)).toBe(0x60);
  });
});

/** decode_spin_data_encryption_caps: 20-byte header, 24-byte descriptors to the end of the data. */
function pbsAlgorithmIndex(data: Buffer): number {
  let index: number | null = null;
  for (let off = 20; off < data.length; off += 24) {
    const d = data.subarray(off, off + 24);
    expect(d.length).toBe(24);
    expect(d.readUInt16BE(2)).toBe(0x14); // "got wrong key descriptor len" otherwise
    if ((d[4] & 3) !== 2 || ((d[4] >> 2) & 3) !== 2) continue;
    if (d.readUInt32BE(20) === 0x00010014 && d.readUInt16BE(10) === 32) {
      index = d[0];
      break;
    }
  }
  if (index === null) throw new Error('drive does not support AES-GCM encryption');
  return index;
}

/** drive_set_encryption: caps, SPOUT (scope 0x40, CKOD 0, 2/3 with key or 0/0), status check. */
async function pbsSetEncryption(h: Harness, key: Buffer | null): Promise<void> {
  const caps = await h.exec(cdb.spin(0x20, 0x0010, 8192 + 4));
  expect(caps.status).toBe(GOOD);
  const index = pbsAlgorithmIndex(caps.data);
  const page = Buffer.alloc(20 + (key?.length ?? 0));
  page.writeUInt16BE(0x10, 0);
  page.writeUInt16BE(page.length - 4, 2);
  page[4] = 0b10 << 5;
  page[6] = key ? 2 : 0;
  page[7] = key ? 3 : 0;
  page[8] = index;
  page.writeUInt16BE(key?.length ?? 0, 18);
  key?.copy(page, 20);
  expect((await h.exec(cdb.spout(0x20, 0x0010, page.length), { dataOut: page })).status).toBe(GOOD);
  const st = await h.exec(cdb.spin(0x20, 0x0020, 8192 + 4));
  expect(st.data.readUInt16BE(0)).toBe(0x20);
  expect([st.data[5], st.data[6]]).toEqual(key ? [2, 3] : [0, 0]);
}

describe('Proxmox Backup Server: hardware encryption', () => {
  it('labels in clear, sets the media-set key, writes encrypted, reads back; without the key 74/01', async () => {
    const h = await drive('IBM ULT3580-TD8');
    await h.insert({ label: 'PBS003L8' });
    await pbsSetEncryption(h, null); // label_tape: clear encryption first
    await format(h, false);
    await label(h, 'PBS003L8');
    // File 1: the media-set label, still in clear, then sync; then the media-set key.
    const setLabel = Buffer.alloc(BLOCK);
    setLabel.write('media-set', 16, 'latin1');
    expect((await h.exec(cdb.write6(BLOCK), { dataOut: setLabel })).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(1, { immed: true }))).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(0))).status).toBe(GOOD);
    const key = Buffer.alloc(32, 0x42);
    await pbsSetEncryption(h, key);
    const chunks = [0, 1, 2].map((i) => {
      const b = Buffer.alloc(BLOCK, i + 7);
      b.write(`chunk ${i}`, 16, 'latin1');
      return b;
    });
    for (const c of chunks) expect((await h.exec(cdb.write6(BLOCK), { dataOut: c })).status).toBe(GOOD);
    expect((await h.exec(cdb.writeFilemarks6(1, { immed: true }))).status).toBe(GOOD);
    // Restore: MIXED reads the clear label and the encrypted chunks.
    expect(await readLabel(h)).toBe('label:PBS003L8');
    expect((await h.exec(cdb.locate16(2, { destType: 1 }))).status).toBe(GOOD);
    for (const c of chunks) {
      const r = await h.exec(cdb.read6(BLOCK, { sili: true }));
      expect(r.status).toBe(GOOD);
      expect(r.data.equals(c)).toBe(true);
    }
    // The handle drops: key cleared; the chunks are unreadable, the labels still are.
    await pbsSetEncryption(h, null);
    expect(await readLabel(h)).toBe('label:PBS003L8');
    expect((await h.exec(cdb.locate16(2, { destType: 1 }))).status).toBe(GOOD);
    const denied = await h.exec(cdb.read6(BLOCK, { sili: true }));
    expect(denied.sense).toMatchObject({ key: 0x7, asc: 0x74, ascq: 0x01 });
  });
});
