/**
 * Programmable early warning (SSC-4 4.2.5; clients.md 4, LTFS): PEWS in the Device
 * Configuration Extension page 10h/01h, 00/07 with EOM once when a write reaches the zone,
 * BPEW in READ POSITION, then the ordinary early warning 00/02 closer to the end.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SenseKey } from '../../../src/target/scsi/sense.js';
import { createMemoryBackend } from '../../../src/vtl/image/index.js';
import { Harness, cdb, type Result } from './harness.js';

const MiB = 1024 * 1024;
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

async function drive(): Promise<Harness> {
  const h = await new Harness(createMemoryBackend(), { model: 'IBM ULT3580-TD8' }).start();
  harnesses.push(h);
  return h;
}

/** MODE SENSE(10) of page 10h/01h with DBD: the page alone. */
async function extensionPage(h: Harness, pc = 0): Promise<Buffer> {
  const r = await h.exec(cdb.modeSense10(0x10, 255, { dbd: true, subpage: 0x01, pc }));
  expect(r.status).toBe(0);
  return r.data.subarray(8);
}

async function setPews(h: Harness, mb: number): Promise<Result> {
  const page = Buffer.from(await extensionPage(h));
  page[0] &= 0x7f; // PS is reserved in MODE SELECT
  page.writeUInt16BE(mb, 6);
  const list = Buffer.concat([Buffer.alloc(8), page]);
  return h.exec(cdb.modeSelect10(list.length), { dataOut: list });
}

async function bpewEop(h: Harness): Promise<{ bpew: boolean; eop: boolean }> {
  const r = await h.exec(cdb.readPosition(0x06), { expectedLength: 32 });
  return { bpew: (r.data[0] & 0x01) !== 0, eop: (r.data[0] & 0x40) !== 0 };
}

describe('programmable early warning', () => {
  it('page 10h/01h: SPF, subpage 01h, length 1Ch, PEWS at bytes 6-7 and only PEWS changeable', async () => {
    const h = await drive();
    await h.insert();
    const page = await extensionPage(h);
    expect(page.length).toBe(32);
    expect([page[0] & 0x7f, page[1], page.readUInt16BE(2)]).toEqual([0x50, 0x01, 0x1c]);
    expect(page.readUInt16BE(6)).toBe(0);
    const mask = await extensionPage(h, 1);
    expect(mask.readUInt16BE(6)).toBe(0xffff);
    expect([...mask.subarray(4, 6), ...mask.subarray(8)].every((b) => b === 0)).toBe(true);
    expect((await setPews(h, 300)).status).toBe(0);
    expect((await extensionPage(h)).readUInt16BE(6)).toBe(300);
  });

  it('reports 00/07 with EOM once on reaching the zone, BPEW while in it, then 00/02 at early warning', async () => {
    const h = await drive();
    // 10 MB cartridge, early warning 2 MB before the end; PEWS 3 MB: the zone starts 5 MB before the end.
    await h.insert({ capacity: 10_000_000, earlyWarning: 2_000_000 });
    expect((await setPews(h, 3)).status).toBe(0);
    const blocks = Array.from({ length: 8 }, () => randomBytes(MiB));
    const results: Result[] = [];
    for (const b of blocks) results.push(await h.exec(cdb.write6(MiB), { dataOut: b }));
    const senses = results.map((r) => (r.status === 0 ? 'GOOD' : `${r.sense!.asc}/${r.sense!.ascq}`));
    // 4 MiB written leaves 5.8 MB; the 5th MiB reaches the zone; the 8th early warning (< 2 MB left).
    expect(senses).toEqual(['GOOD', 'GOOD', 'GOOD', 'GOOD', '0/7', 'GOOD', 'GOOD', '0/2']);
    expect(results[4].sense).toMatchObject({ key: SenseKey.NO_SENSE, eom: true, information: 0 });
    expect(await bpewEop(h)).toEqual({ bpew: true, eop: true });
    // Everything was written.
    await h.exec(cdb.rewind());
    for (const b of blocks) expect((await h.exec(cdb.read6(MiB))).data.equals(b)).toBe(true);
    // Rewritten from BOP, the drive has left the zone: crossing it again is reported again.
    await h.exec(cdb.rewind());
    const again: string[] = [];
    for (const b of blocks.slice(0, 6)) {
      const r = await h.exec(cdb.write6(MiB), { dataOut: b });
      again.push(r.status === 0 ? 'GOOD' : `${r.sense!.asc}/${r.sense!.ascq}`);
      if (again.length === 4) expect(await bpewEop(h)).toEqual({ bpew: false, eop: false });
    }
    expect(again).toEqual(['GOOD', 'GOOD', 'GOOD', 'GOOD', '0/7', 'GOOD']);
    expect(await bpewEop(h)).toEqual({ bpew: true, eop: false });
  });

  it('without PEWS nothing comes before early warning; PEWS set inside the zone is reported by the next write or filemark', async () => {
    const h = await drive();
    await h.insert({ capacity: 10_000_000, earlyWarning: 2_000_000 });
    for (let i = 0; i < 7; i++) {
      expect((await h.exec(cdb.write6(MiB), { dataOut: randomBytes(MiB) })).status).toBe(0);
    }
    expect(await bpewEop(h)).toEqual({ bpew: false, eop: false });
    expect((await setPews(h, 2)).status).toBe(0); // the zone now starts 4 MB before the end
    const fm = await h.exec(cdb.writeFilemarks6(1));
    expect(fm.sense).toMatchObject({
      name: 'PROGRAMMABLE_EARLY_WARNING_DETECTED',
      eom: true,
      information: 0,
    });
    expect((await h.exec(cdb.writeFilemarks6(1))).status).toBe(0); // once
    expect(await bpewEop(h)).toEqual({ bpew: true, eop: false });
  });
});
