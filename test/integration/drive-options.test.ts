/**
 * Per-drive options in the library config reach the drive: a drive told to want cleaning after
 * 128 KiB raises TapeAlert CLEAN NOW (14h) once that much has moved, and the library's cleaning
 * cartridge, moved in by MOVE MEDIUM, ends it and counts a use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSense } from '../../src/target/scsi/sense.js';
import { VirtualLibrary } from '../../src/vtl/library.js';
import { Initiator } from '../support/initiator.js';

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

/** TEST UNIT READY until no unit attention is left (a move raises 28/00 on the drive). */
async function clearAttention(s: Initiator, lun: number): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const r = await s.command(lun, Buffer.alloc(6));
    if (!r.sense || decodeSense(r.sense).key !== 0x6) return;
  }
}

function moveCdb(from: number, to: number): Buffer {
  const cdb = Buffer.alloc(12);
  cdb[0] = 0xa5;
  cdb.writeUInt16BE(1, 2);
  cdb.writeUInt16BE(from, 4);
  cdb.writeUInt16BE(to, 6);
  return cdb;
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
    s = await Initiator.connect({
      host: '127.0.0.1',
      port: lib.portals[0].port,
      targetName: lib.targetName,
      initiatorName: 'iqn.2026-11.test:options',
    });
    for (const lun of [0, 1]) await s.command(lun, Buffer.alloc(6)); // 29/00
  });
  afterAll(async () => {
    await s?.logout();
    await lib?.stop();
  });

  it('cleaningIntervalBytes raises CLEAN NOW; the cleaning cartridge ends it', async () => {
    expect((await s.command(0, moveCdb(0x400, 0x100))).status).toBe(0);
    await clearAttention(s, 1);
    expect(await tapeAlerts(s, 1)).not.toContain(CLEAN_NOW);
    const block = Buffer.alloc(65536, 0xa7);
    for (let i = 0; i < 3; i++) {
      expect((await s.command(1, Buffer.from([0x0a, 0, 0x01, 0, 0, 0]), { dataOut: block })).status).toBe(0);
    }
    expect(await tapeAlerts(s, 1)).toContain(CLEAN_NOW);
    // condition flag: still set on a second read, until the drive is cleaned
    expect(await tapeAlerts(s, 1)).toContain(CLEAN_NOW);

    expect((await s.command(0, moveCdb(0x100, 0x400))).status).toBe(0);
    expect((await s.command(0, moveCdb(0x401, 0x100))).status).toBe(0);
    expect((await s.command(0, moveCdb(0x100, 0x401))).status).toBe(0);
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
