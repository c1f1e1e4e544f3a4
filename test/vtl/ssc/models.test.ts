/**
 * Personalities and identity: every model's INQUIRY strings and density table, HP/HPE medium
 * type style, unknown models, serial/NAA checks, and the command table as REPORT SUPPORTED
 * OPERATION CODES shows it (LTFS sizes its timeouts from it).
 */
import { describe, expect, it } from 'vitest';
import { VtlError } from '../../../src/util/errors.js';
import {
  DRIVE_MODELS,
  createTapeDrive,
  findDriveModel,
  mediaAccess,
  naaFromSerial,
} from '../../../src/vtl/ssc/index.js';
import { Harness, cdb } from './harness.js';

describe('drive models', () => {
  it('IBM TD5..TDA, IBM HH5..HH9, HP/HPE Ultrium 5..9, Quantum HH5..HH9, native density first', () => {
    expect(DRIVE_MODELS.map((m) => `${m.key}:${m.densities[0].density.code.toString(16)}`)).toEqual([
      'IBM ULT3580-TD5:58',
      'IBM ULT3580-TD6:5a',
      'IBM ULT3580-TD7:5c',
      'IBM ULT3580-TD8:5e',
      'IBM ULT3580-TD9:60',
      'IBM ULT3580-TDA:62',
      'IBM ULTRIUM-HH5:58',
      'IBM ULTRIUM-HH6:5a',
      'IBM ULTRIUM-HH7:5c',
      'IBM ULTRIUM-HH8:5e',
      'IBM ULTRIUM-HH9:60',
      'HP Ultrium 5-SCSI:58',
      'HP Ultrium 6-SCSI:5a',
      'HP Ultrium 7-SCSI:5c',
      'HPE Ultrium 8-SCSI:5e',
      'HPE Ultrium 9-SCSI:60',
      'QUANTUM ULTRIUM-HH5:58',
      'QUANTUM ULTRIUM-HH6:5a',
      'QUANTUM ULTRIUM-HH7:5c',
      'QUANTUM ULTRIUM-HH8:5e',
      'QUANTUM ULTRIUM-HH9:60',
    ]);
    // LTFS whitelists (ibm_tape.c, hp_tape.c, quantum_tape.c): vendor and product prefixes.
    const ltfs: Record<string, RegExp> = {
      IBM: /^(ULT3580-(TD|HH)[5-9A]|ULTRIUM-(TD|HH)[5-9A])$/,
      HP: /^Ultrium [567]-SCSI$/,
      HPE: /^Ultrium [89]-SCSI$/,
      QUANTUM: /^ULTRIUM-HH[5-9]$/,
    };
    for (const m of DRIVE_MODELS) expect(m.product, m.key).toMatch(ltfs[m.vendor]);
    // Only LTO-9 and later optimize new media; only IBM carries the IBM vendor pages.
    expect(DRIVE_MODELS.filter((m) => m.mediaOptimization).map((m) => m.generation)).toEqual([
      9, 10, 9, 9, 9,
    ]);
    expect(findDriveModel('QUANTUM ULTRIUM-HH8').mediumTypeStyle).toBe('hp');
    expect(findDriveModel('IBM ULTRIUM-HH8')).toMatchObject({ formFactor: 'half-height', speedMBps: 300 });
    expect(findDriveModel('IBM ULT3580-TD8')).toMatchObject({ formFactor: 'full-height', speedMBps: 360 });
    // LTFS's firmware gate: LTO-5 >= B170, LTO-8 >= HB81 (4-character compare).
    for (const m of DRIVE_MODELS.filter((x) => x.vendor === 'IBM' && x.generation === 5))
      expect(m.revision >= 'B170', m.key).toBe(true);
    for (const m of DRIVE_MODELS.filter((x) => x.vendor === 'IBM' && x.generation === 8))
      expect(m.revision >= 'HB81', m.key).toBe(true);
  });

  it('generation rules: LTO-8 reads/writes 7 and 8 only, LTO-9 reads/writes 8 and 9', () => {
    const td8 = findDriveModel('IBM ULT3580-TD8');
    const td9 = findDriveModel('IBM ULT3580-TD9');
    expect(['LTO6', 'LTO7', 'LTO8', 'LTO9'].map((m) => mediaAccess(td8, m as 'LTO8'))).toEqual([
      'incompatible',
      'read-write',
      'read-write',
      'incompatible',
    ]);
    expect(['LTO7', 'LTO8', 'LTO9-WORM'].map((m) => mediaAccess(td9, m as 'LTO8'))).toEqual([
      'incompatible',
      'read-write',
      'read-write',
    ]);
    expect(mediaAccess(td8, 'CLEANING')).toBe('incompatible');
    // LTO-10 reads and writes LTO-10 only; an LTO-7 drive reads LTO-5 without writing it.
    const tda = findDriveModel('IBM ULT3580-TDA');
    expect(tda.densities.map((d) => [d.density.code, d.write])).toEqual([[0x62, true]]);
    expect(mediaAccess(tda, 'LTO9')).toBe('incompatible');
    expect(mediaAccess(findDriveModel('IBM ULT3580-TD7'), 'LTO5')).toBe('read-only');
  });

  it('an unknown model is a configuration error naming the known ones', () => {
    expect(() => findDriveModel('IBM ULT3580-TD4')).toThrow(VtlError);
    expect(() => findDriveModel('IBM ULT3580-TD4')).toThrow(/ULT3580-TD8/);
  });

  it('serial and NAA are checked; NAA 5 differs per serial', () => {
    expect(() => createTapeDrive({ serial: 'TOO-LONG-SERIAL' })).toThrow(/serial/);
    expect(() => createTapeDrive({ serial: 'A', naa: Buffer.alloc(4) })).toThrow(/naa/);
    expect(() => createTapeDrive({ maxBlockLength: 0 })).toThrow(/maxBlockLength/);
    const m = findDriveModel();
    const a = naaFromSerial(m, 'A000000001');
    expect(a[0] >> 4).toBe(5);
    expect(a.equals(naaFromSerial(m, 'A000000002'))).toBe(false);
    expect(a.equals(naaFromSerial(m, 'A000000001'))).toBe(true);
  });
});

describe('identity through INQUIRY', () => {
  it('an HPE LTO-8 drive says HPE / Ultrium 8-SCSI and reports medium type 00h with density 5Eh', async () => {
    const h = await new Harness(undefined, { model: 'HPE Ultrium 8-SCSI', serial: 'HPE0000001' }).start();
    const inq = await h.exec(cdb.inquiry(96));
    expect(inq.data.toString('latin1', 8, 16).trim()).toBe('HPE');
    expect(inq.data.toString('latin1', 16, 32).trim()).toBe('Ultrium 8-SCSI');
    const serial = await h.exec(cdb.inquiry(255, 0x80));
    expect(serial.data.toString('latin1', 4).trim()).toBe('HPE0000001');
    await h.insert();
    const ms = await h.exec(cdb.modeSense10(0x3f, 0xffff));
    expect(ms.data[2]).toBe(0x00);
    expect(ms.data[8]).toBe(0x5e);
    await h.close();
  });

  it('REPORT SUPPORTED OPERATION CODES lists the SSC commands with their timeouts', async () => {
    const h = await new Harness().start();
    // MAINTENANCE IN / REPORT SUPPORTED OPERATION CODES, all commands, RCTD=1 (LTFS).
    const r = await h.exec([0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]);
    expect(r.status).toBe(0);
    const found = new Map<number, number>();
    for (let off = 4; off + 20 <= r.data.length; off += 20)
      found.set(r.data[off], r.data.readUInt32BE(off + 16));
    for (const op of [
      0x00, 0x01, 0x05, 0x08, 0x0a, 0x10, 0x11, 0x19, 0x1b, 0x1e, 0x2b, 0x34, 0x44, 0x91, 0x92,
    ]) {
      expect(found.has(op), `opcode ${op.toString(16)}`).toBe(true);
    }
    // ERASE: IBM's LTO-8 recommended timeout as LTFS's ibm_tape.c tables carry it.
    expect(found.get(0x19)).toBe(54896);
    await h.close();
  });

  it('tapeinfo reads TapeAlert with page control 00b and sees current flags', async () => {
    const h = await new Harness().start();
    await h.insert({ writeProtected: true });
    await h.exec(cdb.write6(4), { dataOut: Buffer.alloc(4) });
    const log = await h.exec(cdb.logSense(0x2e, 0x1000, 0));
    const flags = new Map<number, number>();
    for (let off = 4; off < log.data.length; off += 5)
      flags.set(log.data.readUInt16BE(off), log.data[off + 4]);
    expect(flags.get(9)).toBe(1);
    expect([...flags.values()].filter((v) => v !== 0)).toHaveLength(1);
    await h.close();
  });
});
