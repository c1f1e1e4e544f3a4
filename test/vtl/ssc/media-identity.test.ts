/**
 * What the drive says about the loaded medium, per cartridge type and drive generation (issue 5
 * "Identity and generations"): REPORT DENSITY SUPPORT in the drive and media forms (SSC-4 density
 * support data, byte-exact), MODE SENSE page 3Fh (every page, lengths that add up, in both CDB
 * sizes and with subpages), the mode header MEDIUM TYPE and the block descriptor DENSITY CODE per
 * cartridge (data and WORM, IBM and HP styles), and WORM in the MAM and VPD B0h.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MediaType } from '../../../src/vtl/image/types.js';
import { decodeAttributes, num } from './decode.js';
import { Harness, cdb } from './harness.js';

const harnesses: Harness[] = [];
async function drive(model: string): Promise<Harness> {
  const h = await new Harness(undefined, { model }).start();
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

let labels = 0;
/** Loads a fresh cartridge of `mediaType` (label suffix as a library would print it). */
async function load(h: Harness, mediaType: MediaType): Promise<void> {
  if (h.drive.image) await h.drive.unload();
  const suffix = `${mediaType.endsWith('-WORM') ? 'W' : 'L'}${mediaType[3]}`;
  await h.insert({ mediaType, label: `MI${String(++labels).padStart(4, '0')}${suffix}` });
}

/** SSC-4 density support data descriptor, every field at its offset. */
interface DensityDescriptor {
  primary: number;
  secondary: number;
  wrtok: boolean;
  dup: boolean;
  deflt: boolean;
  dlv: boolean;
  descriptorLength: number;
  bitsPerMm: number;
  mediaWidth: number;
  tracks: number;
  capacity: number;
  organization: string;
  name: string;
  description: string;
}

function densityData(d: Buffer): DensityDescriptor[] {
  // Header: AVAILABLE DENSITY SUPPORT LENGTH (the bytes after it), two reserved bytes.
  expect(d.readUInt16BE(0)).toBe(d.length - 2);
  expect([d[2], d[3]]).toEqual([0, 0]);
  expect((d.length - 4) % 52).toBe(0);
  const out: DensityDescriptor[] = [];
  for (let off = 4; off < d.length; off += 52) {
    const flags = d[off + 2];
    expect(flags & 0x1e).toBe(0); // reserved bits
    out.push({
      primary: d[off],
      secondary: d[off + 1],
      wrtok: (flags & 0x80) !== 0,
      dup: (flags & 0x40) !== 0,
      deflt: (flags & 0x20) !== 0,
      dlv: (flags & 0x01) !== 0,
      descriptorLength: d.readUInt16BE(off + 3),
      bitsPerMm: d.readUIntBE(off + 5, 3),
      mediaWidth: d.readUInt16BE(off + 8),
      tracks: d.readUInt16BE(off + 10),
      capacity: d.readUInt32BE(off + 12),
      organization: d.toString('latin1', off + 16, off + 24),
      name: d.toString('latin1', off + 24, off + 32),
      description: d.toString('latin1', off + 32, off + 52),
    });
  }
  return out;
}

const LTO7 = {
  primary: 0x5c,
  secondary: 0x5c,
  dup: false,
  dlv: true,
  descriptorLength: 0x31,
  bitsPerMm: 19094,
  mediaWidth: 127,
  tracks: 3584,
  capacity: 6_000_000,
  organization: 'LTO-CVE ',
  name: 'U-732   ',
  description: 'Ultrium 7/32T       ',
};
const M8 = {
  ...LTO7,
  primary: 0x5d,
  secondary: 0x5d,
  bitsPerMm: 20668,
  tracks: 5376,
  capacity: 9_000_000,
  name: 'U-732M  ',
  description: 'Ultrium 7/32T M8    ',
};
const LTO8 = {
  ...LTO7,
  primary: 0x5e,
  secondary: 0x5e,
  bitsPerMm: 20668,
  tracks: 6656,
  capacity: 12_000_000,
  name: 'U-832   ',
  description: 'Ultrium 8/32T       ',
};

describe('REPORT DENSITY SUPPORT', () => {
  it('LTO-8 drive form: 5Eh (DEFLT), 5Dh M8, 5Ch, all WRTOK, whole 52-byte descriptors', async () => {
    const h = await drive('IBM ULT3580-TD8');
    await load(h, 'LTO7'); // the drive form does not depend on the medium
    expect(densityData((await h.exec(cdb.reportDensitySupport())).data)).toEqual([
      { ...LTO8, wrtok: true, deflt: true },
      { ...M8, wrtok: true, deflt: false },
      { ...LTO7, wrtok: true, deflt: false },
    ]);
  });

  it('LTO-8 drive, LTO-7 cartridge, media form: what the cartridge can hold, DEFLT on LTO-7', async () => {
    const h = await drive('IBM ULT3580-TD8');
    await load(h, 'LTO7');
    expect(densityData((await h.exec(cdb.reportDensitySupport({ media: true }))).data)).toEqual([
      { ...M8, wrtok: true, deflt: false },
      { ...LTO7, wrtok: true, deflt: true },
    ]);
  });

  it('media form follows the cartridge: LTO-8 WORM in LTO-8, LTO-8 in LTO-9, read-only LTO-5 in LTO-7', async () => {
    const td8 = await drive('IBM ULT3580-TD8');
    await load(td8, 'LTO8-WORM');
    expect(densityData((await td8.exec(cdb.reportDensitySupport({ media: true }))).data)).toEqual([
      { ...LTO8, wrtok: true, deflt: true },
    ]);
    const td9 = await drive('IBM ULT3580-TD9');
    await load(td9, 'LTO8');
    expect(densityData((await td9.exec(cdb.reportDensitySupport({ media: true }))).data)).toEqual([
      { ...LTO8, wrtok: true, deflt: true },
    ]);
    const td7 = await drive('IBM ULT3580-TD7');
    await load(td7, 'LTO5');
    const five = densityData((await td7.exec(cdb.reportDensitySupport({ media: true }))).data);
    expect(five.map((d) => [d.primary, d.wrtok, d.deflt])).toEqual([[0x58, false, true]]);
  });
});

/** Walks the pages after the header and block descriptors; checks each page's length field. */
function walkPages(d: Buffer, start: number, end: number): string[] {
  const pages: string[] = [];
  let off = start;
  while (off < end) {
    const spf = (d[off] & 0x40) !== 0;
    const code = d[off] & 0x3f;
    const length = spf ? 4 + d.readUInt16BE(off + 2) : 2 + d[off + 1];
    pages.push(spf ? `${code.toString(16)}/${d[off + 1].toString(16)}` : code.toString(16));
    off += length;
  }
  expect(off).toBe(end); // the last page ends exactly where the mode data does
  return pages;
}

describe('MODE SENSE page 3Fh', () => {
  it('(10): mode data length = bytes - 2, one 8-byte descriptor, pages in ascending order, each once', async () => {
    const h = await drive('IBM ULT3580-TD8');
    await load(h, 'LTO8');
    const r = await h.exec(cdb.modeSense10(0x3f, 0xffff));
    expect(r.status).toBe(0);
    expect(r.data.readUInt16BE(0)).toBe(r.data.length - 2);
    expect(r.data.readUInt16BE(6)).toBe(8);
    const pages = walkPages(r.data, 16, r.data.length);
    expect(pages).toEqual([...new Set(pages)]);
    const codes = pages.map((p) => parseInt(p, 16));
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
    expect(pages).toEqual(expect.arrayContaining(['a', 'f', '10', '11', '1c', '1d', '24', '25']));
    // Subpage 00h asks for pages only: no SPF page is in the list.
    expect(pages.every((p) => !p.includes('/'))).toBe(true);
  });

  it('(6) gives the same pages with a one-byte mode data length; DBD drops the descriptor', async () => {
    const h = await drive('IBM ULT3580-TD8');
    await load(h, 'LTO8');
    const ten = await h.exec(cdb.modeSense10(0x3f, 0xffff));
    const six = await h.exec(cdb.modeSense6(0x3f, 255));
    expect(six.status).toBe(0);
    expect(six.data.length).toBe(ten.data.length - 4);
    expect(six.data.length).toBeLessThanOrEqual(255);
    expect(six.data[0]).toBe(six.data.length - 1);
    expect([six.data[1], six.data[3]]).toEqual([0x88, 8]);
    expect(walkPages(six.data, 12, six.data.length)).toEqual(walkPages(ten.data, 16, ten.data.length));
    const dbd = await h.exec(cdb.modeSense6(0x3f, 255, { dbd: true }));
    expect(dbd.data[3]).toBe(0);
    expect(dbd.data.length).toBe(six.data.length - 8);
    expect(dbd.data[0]).toBe(dbd.data.length - 1);
  });

  it('subpage FFh adds the subpages (control data protection 0Ah/F0h) in SPF form', async () => {
    const h = await drive('IBM ULT3580-TD8');
    await load(h, 'LTO8');
    const r = await h.exec(cdb.modeSense10(0x3f, 0xffff, { subpage: 0xff }));
    expect(r.data.readUInt16BE(0)).toBe(r.data.length - 2);
    const pages = walkPages(r.data, 16, r.data.length);
    expect(pages).toEqual(expect.arrayContaining(['a', 'a/f0', 'f', '10', '11', '1d']));
  });

  it('changeable values: MEDIUM TYPE and DEVICE-SPECIFIC 0, the same pages with the same lengths', async () => {
    const h = await drive('IBM ULT3580-TD8');
    await load(h, 'LTO8-WORM');
    const cur = await h.exec(cdb.modeSense10(0x3f, 0xffff));
    const ch = await h.exec(cdb.modeSense10(0x3f, 0xffff, { pc: 1 }));
    expect([ch.data[2], ch.data[3]]).toEqual([0, 0]);
    expect(ch.data.length).toBe(cur.data.length);
    expect(walkPages(ch.data, 16, ch.data.length)).toEqual(walkPages(cur.data, 16, cur.data.length));
  });
});

describe('mode header MEDIUM TYPE and block descriptor DENSITY CODE per cartridge', () => {
  /** [drive, cartridge, medium type, density, WP] as MODE SENSE(6) page 00h (st's open) shows them. */
  const cases: [string, MediaType, number, number, boolean][] = [
    ['IBM ULT3580-TD6', 'LTO5', 0x58, 0x58, false],
    ['IBM ULT3580-TD6', 'LTO5-WORM', 0x5c, 0x58, false],
    ['IBM ULT3580-TD6', 'LTO6', 0x68, 0x5a, false],
    ['IBM ULT3580-TD7', 'LTO5', 0x58, 0x58, true], // read-only generation: WP
    ['IBM ULT3580-TD7', 'LTO7-WORM', 0x7c, 0x5c, false],
    ['IBM ULT3580-TD8', 'LTO7', 0x78, 0x5c, false],
    ['IBM ULT3580-TD8', 'LTO8', 0x88, 0x5e, false],
    ['IBM ULT3580-TD8', 'LTO8-WORM', 0x8c, 0x5e, false],
    ['IBM ULT3580-TD9', 'LTO8', 0x88, 0x5e, false],
    ['IBM ULT3580-TD9', 'LTO9', 0x98, 0x60, false],
    ['IBM ULT3580-TD9', 'LTO9-WORM', 0x9c, 0x60, false],
    ['HPE Ultrium 8-SCSI', 'LTO8', 0x00, 0x5e, false],
    ['HPE Ultrium 8-SCSI', 'LTO8-WORM', 0x01, 0x5e, false],
    ['QUANTUM ULTRIUM-HH9', 'LTO9-WORM', 0x01, 0x60, false],
  ];

  it.each(cases)('%s with %s: medium type %i, density %i, WP %s', async (model, media, type, density, wp) => {
    const h = await drive(model);
    const before = await h.exec(cdb.modeSense6(0x00, 12));
    expect([before.data[1], before.data[3], before.data[4]]).toEqual([0x00, 8, 0x00]);
    await load(h, media);
    const r = await h.exec(cdb.modeSense6(0x00, 12));
    expect(r.status).toBe(0);
    expect([r.data[1], r.data[2] & 0x80, r.data[4]]).toEqual([type, wp ? 0x80 : 0, density]);
    await h.drive.unload();
    const after = await h.exec(cdb.modeSense6(0x00, 12));
    expect([after.data[1], after.data[2] & 0x80, after.data[4]]).toEqual([0x00, 0, 0x00]);
  });
});

describe('WORM in the MAM and in VPD B0h', () => {
  const mam = async (h: Harness): Promise<Map<number, bigint>> => {
    const r = await h.exec(cdb.readAttribute());
    expect(r.status).toBe(0);
    const { attributes } = decodeAttributes(r.data);
    return new Map([0x0405, 0x0408].map((id) => [id, num(attributes.get(id)!.value)]));
  };

  it('MEDIUM TYPE (0408h) is 80h for WORM and 00h for data; MEDIUM DENSITY CODE (0405h) the format', async () => {
    const h = await drive('IBM ULT3580-TD8');
    await load(h, 'LTO8-WORM');
    expect(await mam(h)).toEqual(
      new Map([
        [0x0405, 0x5en],
        [0x0408, 0x80n],
      ]),
    );
    await load(h, 'LTO7');
    expect(await mam(h)).toEqual(
      new Map([
        [0x0405, 0x5cn],
        [0x0408, 0x00n],
      ]),
    );
  });

  it('VPD B0h says the drive supports WORM, with or without a WORM cartridge', async () => {
    const h = await drive('IBM ULT3580-TD8');
    const worm = async (): Promise<number> => (await h.exec(cdb.inquiry(255, 0xb0))).data[4] & 0x01;
    expect(await worm()).toBe(1);
    await load(h, 'LTO8-WORM');
    expect(await worm()).toBe(1);
  });
});
