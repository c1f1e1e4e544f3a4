import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../../src/util/bytes.js';
import { I1, cdb, dataOf, readyUnit, run, senseOf } from './processor.js';

const rsoc = (options: number, opcode: number, sa: number, alloc: number): Buffer =>
  cdb(
    0xa3,
    0x0c,
    options,
    opcode,
    sa >> 8,
    sa & 0xff,
    alloc >>> 24,
    (alloc >> 16) & 0xff,
    (alloc >> 8) & 0xff,
    alloc & 0xff,
    0,
    0,
  );

interface Descriptor {
  opcode: number;
  sa: number;
  servactv: boolean;
  ctdp: boolean;
  cdbLength: number;
  timeouts?: [number, number];
}

function decodeAll(d: Buffer, size: number): Descriptor[] {
  const r = new ByteReader(d);
  const len = r.u32();
  expect(len % size).toBe(0);
  expect(d.length).toBe(4 + len);
  const out: Descriptor[] = [];
  while (r.remaining > 0) {
    const opcode = r.u8();
    const sa = r.skip(1).u16();
    const flags = r.skip(1).u8();
    const cdbLength = r.u16();
    const desc: Descriptor = { opcode, sa, servactv: (flags & 1) !== 0, ctdp: (flags & 2) !== 0, cdbLength };
    if (desc.ctdp) {
      expect(r.u16()).toBe(0x0a);
      desc.timeouts = [r.skip(2).u32(), r.u32()];
    }
    out.push(desc);
  }
  return out;
}

describe('REPORT SUPPORTED OPERATION CODES', () => {
  it('lists every command of the merged table, 8 bytes each', async () => {
    const { lu } = await readyUnit(I1);
    const all = decodeAll(dataOf(await run(lu, rsoc(0, 0, 0, 8192), I1)), 8);
    const key = (d: Descriptor): string =>
      d.servactv ? `${d.opcode.toString(16)}/${d.sa}` : d.opcode.toString(16);
    expect(all.map(key)).toEqual([
      '0',
      '3',
      '8',
      'a',
      '12',
      '15',
      '16',
      '17',
      '1a',
      '1d',
      '4c',
      '4d',
      '55',
      '56',
      '57',
      '5a',
      '5e/0',
      '5e/1',
      '5e/2',
      '5e/3',
      '5f/0',
      '5f/1',
      '5f/2',
      '5f/3',
      '5f/4',
      '5f/5',
      '5f/6',
      'a0',
      'a3/12',
    ]);
    expect(all.every((d) => !d.ctdp)).toBe(true);
    expect(all.find((d) => d.opcode === 0xa0)!.cdbLength).toBe(12);
  });

  it('adds a 12-byte timeouts descriptor to every entry with RCTD (20 bytes each, as LTFS needs)', async () => {
    const { lu } = await readyUnit(I1);
    const all = decodeAll(dataOf(await run(lu, rsoc(0x80, 0, 0, 8192), I1)), 20);
    expect(all.every((d) => d.ctdp && d.timeouts !== undefined)).toBe(true);
    expect(all.find((d) => d.opcode === 0x0a)!.timeouts).toEqual([120, 120]);
  });

  it('reports one command with its CDB usage data (options 1, 2, 3)', async () => {
    const { lu } = await readyUnit(I1);
    const inq = dataOf(await run(lu, rsoc(1, 0x12, 0, 512), I1));
    // SPC-4 6.35.3: CDB USAGE DATA starts with the operation code itself.
    expect(inq.toString('hex')).toBe('00030006' + '1201ffffff00');
    const withT = dataOf(await run(lu, rsoc(0x81, 0x12, 0, 512), I1));
    expect(withT.toString('hex')).toBe('00830006' + '1201ffffff00' + '000a0000' + '0000000a0000000a');
    const prout = dataOf(await run(lu, rsoc(2, 0x5f, 6, 512), I1));
    expect(prout.subarray(0, 4).toString('hex')).toBe('0003000a');
    expect(dataOf(await run(lu, rsoc(3, 0x12, 7, 512), I1))[1]).toBe(0x03);
    expect(dataOf(await run(lu, rsoc(3, 0x5f, 7, 512), I1)).toString('hex')).toBe('00010000');
    expect(dataOf(await run(lu, rsoc(1, 0xc7, 0, 512), I1)).toString('hex')).toBe('00010000');
  });

  it('refuses option 1 for a service-action opcode, option 2 for a plain one, unknown options', async () => {
    const { lu } = await readyUnit(I1);
    const a = senseOf(await run(lu, rsoc(1, 0x5e, 0, 512), I1));
    expect([a.name, a.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 3]);
    const b = senseOf(await run(lu, rsoc(2, 0x12, 0, 512), I1));
    expect([b.name, b.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 3]);
    const c = senseOf(await run(lu, rsoc(4, 0x12, 0, 512), I1));
    expect([c.name, c.fieldPointer, c.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2, 2]);
  });

  it('truncates to the allocation length', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, rsoc(0, 0, 0, 10), I1));
    expect(d).toHaveLength(10);
    expect(d.readUInt32BE(0)).toBe(29 * 8);
  });
});
