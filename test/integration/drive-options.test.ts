/**
 * Per-drive options in the library config reach the drive: a drive told to want cleaning after
 * 128 KiB raises TapeAlert CLEAN NOW (14h) once that much has moved, and the library's cleaning
 * cartridge, moved in by MOVE MEDIUM, ends it and counts a use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSense } from '../../src/target/scsi/sense.js';
import { VirtualLibrary } from '../../src/vtl/library.js';
import type { Initiator } from '../support/initiator.js';
import { ADDRESS, clearAttention, connectLibrary, moveMedium } from '../support/library-session.js';

const CLEAN_NOW = 0x14;

/** LOG SENSE page 2Eh (TapeAlert), current values: the set flags' parameter codes. */
async function tapeAlerts(s: Initiator, lun: number): Promise<number[]> {
  const r = await s.command(lun, Buffer.from([0x4d, 0, 0x40 | 0x2e, 0, 0, 0, 0, 0x01, 0x40, 0]), {
    expectedLength: 0x140,
  });
  expect(r.sense ? decodeSense(r.sense).name : 'GOOD').toBe('GOOD');
  const set: number[] = [];
  for (let off = 4; off + 5 <= 4 + r.data.readUInt16BE(2); off += 4 + r.data[off + 3]) {
    if (r.data[off + 4] & 1) set.push(r.data.readUInt16BE(off));
  }
  return set;
}

describe('drive options from the config', () => {
  let lib: VirtualLibrary;
  let s: Initiator;

  beforeAll(async () => {
    lib = await VirtualLibrary.start({
      backend: 'memory',
      portals: ['127.0.0.1:0'],
      drives: [{ cleaningIntervalBytes: 131072 }],
      changer: { slots: 4, mailslots: 1, cartridges: ['D00001L8', 'CLN001L1'] },
    });
    s = await connectLibrary(lib.portals[0].port, lib.targetName, 'iqn.2026-11.test:options');
  });
  afterAll(async () => {
    await s?.logout();
    await lib?.stop();
  });

  it('cleaningIntervalBytes raises CLEAN NOW; the cleaning cartridge ends it', async () => {
    expect(await moveMedium(s, ADDRESS.slot, ADDRESS.drive)).toBe(0);
    await clearAttention(s, 1);
    expect(await tapeAlerts(s, 1)).not.toContain(CLEAN_NOW);
    const block = Buffer.alloc(65536, 0xa7);
    for (let i = 0; i < 3; i++) {
      expect((await s.command(1, Buffer.from([0x0a, 0, 0x01, 0, 0, 0]), { dataOut: block })).status).toBe(0);
    }
    expect(await tapeAlerts(s, 1)).toContain(CLEAN_NOW);
    // condition flag: still set on a second read, until the drive is cleaned
    expect(await tapeAlerts(s, 1)).toContain(CLEAN_NOW);

    expect(await moveMedium(s, ADDRESS.drive, ADDRESS.slot)).toBe(0);
    expect(await moveMedium(s, ADDRESS.slot + 1, ADDRESS.drive)).toBe(0);
    expect(await moveMedium(s, ADDRESS.drive, ADDRESS.slot + 1)).toBe(0);
    expect(lib.inventory!.cartridge('CLN001L1')?.cleaningUsesLeft).toBe(49);
    await clearAttention(s, 1);
    expect(await tapeAlerts(s, 1)).not.toContain(CLEAN_NOW);
  });

  it('refuses an option of the wrong kind, naming it', async () => {
    await expect(
      VirtualLibrary.start({ backend: 'memory', drives: [{ mediaLifePasses: -1 }] }),
    ).rejects.toThrow(/drives\.0\.mediaLifePasses: Too small/);
  });
});
