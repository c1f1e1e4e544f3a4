import { describe, expect, it } from 'vitest';
import { RESERVED_TAG } from '../../../src/target/pdu/constants.js';
import { DataOutError, Task, type WriteLimits } from '../../../src/target/session/task.js';
import type { DataOut } from '../../../src/target/pdu/data.js';

const limits = (o: Partial<WriteLimits> = {}): WriteLimits => ({
  firstBurstLength: 1000,
  maxBurstLength: 4000,
  maxOutstandingR2T: 2,
  initialR2T: false,
  ...o,
});

function write(length: number): Task {
  return new Task(1, 0, 0, Buffer.alloc(6), length, true, false, 1, null);
}

function tags(): () => number {
  let t = 100;
  return () => t++;
}

function dout(ttt: number, dataSN: number, bufferOffset: number, final: boolean): DataOut {
  return { final, lun: Buffer.alloc(8), itt: 1, ttt, expStatSN: 0, dataSN, bufferOffset, dataLength: 0 };
}

describe('write data sequencing', () => {
  it('is ready at once when immediate data covers the whole transfer, without copying it', () => {
    const t = write(500);
    const data = Buffer.alloc(500, 1);
    expect(t.startWrite(data, true, limits(), tags())).toEqual([]);
    expect(t.state).toBe('ready');
    expect(t.dataOut()).toBe(data);
  });

  it('takes unsolicited Data-Out up to FirstBurstLength, then solicits the rest in MaxBurstLength pieces', () => {
    const t = write(10000);
    const alloc = tags();
    expect(t.startWrite(Buffer.alloc(400), false, limits(), alloc)).toEqual([]);
    expect(t.acceptDataOut(dout(RESERVED_TAG, 0, 400, false), Buffer.alloc(300), limits(), alloc)).toEqual(
      [],
    );
    const r2ts = t.acceptDataOut(dout(RESERVED_TAG, 1, 700, true), Buffer.alloc(300), limits(), alloc);
    expect(r2ts).toEqual([
      { ttt: 100, r2tSN: 0, offset: 1000, length: 4000, received: 0, nextDataSN: 0 },
      { ttt: 101, r2tSN: 1, offset: 5000, length: 4000, received: 0, nextDataSN: 0 },
    ]);
    expect(t.acceptDataOut(dout(100, 0, 1000, false), Buffer.alloc(2000), limits(), alloc)).toEqual([]);
    const third = t.acceptDataOut(dout(100, 1, 3000, true), Buffer.alloc(2000), limits(), alloc);
    expect(third).toEqual([{ ttt: 102, r2tSN: 2, offset: 9000, length: 1000, received: 0, nextDataSN: 0 }]);
    t.acceptDataOut(dout(101, 0, 5000, true), Buffer.alloc(4000), limits(), alloc);
    expect(t.state).toBe('collecting');
    t.acceptDataOut(dout(102, 0, 9000, true), Buffer.alloc(1000), limits(), alloc);
    expect(t.state).toBe('ready');
    expect(t.dataOut()!.length).toBe(10000);
    expect(t.dataSNCount).toBe(3);
  });

  it('solicits everything with R2Ts when InitialR2T=Yes or the command has F=1', () => {
    const t = write(3000);
    const r = t.startWrite(null, true, limits({ initialR2T: true }), tags());
    expect(r.map((x) => [x.offset, x.length])).toEqual([[0, 3000]]);
    const u = write(3000);
    expect(u.startWrite(Buffer.alloc(200), true, limits(), tags()).map((x) => [x.offset, x.length])).toEqual([
      [200, 2800],
    ]);
  });

  it('solicits the rest when the initiator ends its unsolicited burst early with F=1', () => {
    const t = write(3000);
    const alloc = tags();
    t.startWrite(null, false, limits(), alloc);
    const r = t.acceptDataOut(dout(RESERVED_TAG, 0, 0, true), Buffer.alloc(200), limits(), alloc);
    expect(r.map((x) => [x.offset, x.length])).toEqual([[200, 2800]]);
  });

  it.each([
    ['a wrong DataSN', dout(RESERVED_TAG, 1, 0, false)],
    ['a wrong offset', dout(RESERVED_TAG, 0, 8, false)],
    ['an unknown TTT', dout(77, 0, 0, false)],
  ])('refuses %s', (_n, h) => {
    const t = write(3000);
    t.startWrite(null, false, limits(), tags());
    expect(() => t.acceptDataOut(h, Buffer.alloc(100), limits(), tags())).toThrow(DataOutError);
  });

  it('refuses unsolicited data beyond FirstBurstLength, a burst end without F, and F before the R2T is filled', () => {
    const a = write(3000);
    a.startWrite(null, false, limits(), tags());
    expect(() =>
      a.acceptDataOut(dout(RESERVED_TAG, 0, 0, false), Buffer.alloc(1200), limits(), tags()),
    ).toThrow(DataOutError);
    const b = write(3000);
    b.startWrite(null, false, limits(), tags());
    expect(() =>
      b.acceptDataOut(dout(RESERVED_TAG, 0, 0, false), Buffer.alloc(1000), limits(), tags()),
    ).toThrow(/without F/);
    const c = write(3000);
    const alloc = tags();
    const [r] = c.startWrite(null, true, limits(), alloc);
    expect(() => c.acceptDataOut(dout(r.ttt, 0, 0, true), Buffer.alloc(100), limits(), alloc)).toThrow(
      /F bit before/,
    );
  });

  it('refuses immediate data beyond FirstBurstLength and F=0 with InitialR2T=Yes', () => {
    expect(() => write(3000).startWrite(Buffer.alloc(1001), false, limits(), tags())).toThrow(DataOutError);
    expect(() => write(3000).startWrite(null, false, limits({ initialR2T: true }), tags())).toThrow(
      DataOutError,
    );
  });

  it('refuses any Data-Out once the data is complete', () => {
    const t = write(100);
    t.startWrite(Buffer.alloc(100), true, limits(), tags());
    expect(() =>
      t.acceptDataOut(dout(RESERVED_TAG, 0, 100, true), Buffer.alloc(1), limits(), tags()),
    ).toThrow(DataOutError);
  });
});
