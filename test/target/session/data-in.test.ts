import { describe, expect, it } from 'vitest';
import { decodeDataIn } from '../../../src/target/pdu/data.js';
import { decodeScsiResponse, decodeSenseSegment } from '../../../src/target/pdu/scsi.js';
import { completionPdus, type CompletedTask } from '../../../src/target/session/data-in.js';

function run(
  task: Partial<CompletedTask>,
  response: Parameters<typeof completionPdus>[1],
  maxSegment = 1000,
  maxBurst = 2500,
) {
  let sn = 50;
  const t: CompletedTask = {
    itt: 9,
    lun: 1,
    expectedLength: 0,
    read: false,
    write: false,
    dataSNCount: 0,
    ...task,
  };
  return completionPdus(t, response, {
    maxSegment,
    maxBurst,
    nextStatSN: () => sn++,
    expCmdSN: 5,
    maxCmdSN: 36,
  });
}

describe('Data-In and SCSI Response', () => {
  it('splits reads at MaxRecvDataSegmentLength and MaxBurstLength, status in the last Data-In', () => {
    const data = Buffer.from(Array.from({ length: 6000 }, (_, i) => i & 0xff));
    const pdus = run({ read: true, expectedLength: 6000 }, { status: 0, data });
    const h = pdus.map((p) => decodeDataIn(p.header));
    expect(h.map((x) => [x.bufferOffset, x.dataLength, x.final, x.dataSN])).toEqual([
      [0, 1000, false, 0],
      [1000, 1000, false, 1],
      [2000, 500, true, 2],
      [2500, 1000, false, 3],
      [3500, 1000, false, 4],
      [4500, 500, true, 5],
      [5000, 1000, true, 6],
    ]);
    expect(h.slice(0, -1).every((x) => !x.hasStatus && x.statSN === 0)).toBe(true);
    const last = h.at(-1)!;
    expect(last.hasStatus).toBe(true);
    expect(last.statSN).toBe(50);
    expect(last.underflow || last.overflow).toBe(false);
    expect(Buffer.concat(pdus.map((p) => p.data!)).equals(data)).toBe(true);
  });

  it('reports an underflow residual on a short read', () => {
    const [p] = run({ read: true, expectedLength: 100 }, { status: 0, data: Buffer.alloc(60) });
    const h = decodeDataIn(p.header);
    expect(h.underflow).toBe(true);
    expect(h.residualCount).toBe(40);
  });

  it('truncates to the expected length and reports an overflow residual', () => {
    const pdus = run({ read: true, expectedLength: 100 }, { status: 0, data: Buffer.alloc(160) });
    const h = decodeDataIn(pdus[0].header);
    expect(h.dataLength).toBe(100);
    expect(h.overflow).toBe(true);
    expect(h.residualCount).toBe(60);
  });

  it('sends sense in a separate SCSI Response after the data, with ExpDataSN and the residual', () => {
    const sense = Buffer.from([0x70, 0, 3, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x11, 0, 0, 0, 0, 0]);
    const pdus = run({ read: true, expectedLength: 1500 }, { status: 2, data: Buffer.alloc(1200), sense });
    expect(pdus.length).toBe(3);
    expect(decodeDataIn(pdus[1].header).hasStatus).toBe(false);
    const r = decodeScsiResponse(pdus[2].header);
    expect(r.status).toBe(2);
    expect(r.expDataSN).toBe(2);
    expect(r.underflow).toBe(true);
    expect(r.residualCount).toBe(300);
    expect(r.statSN).toBe(50);
    expect(decodeSenseSegment(pdus[2].data)!.equals(sense)).toBe(true);
  });

  it('answers a read with no data by a SCSI Response with the full residual', () => {
    const [p] = run({ read: true, expectedLength: 512 }, { status: 0 });
    const r = decodeScsiResponse(p.header);
    expect(r.underflow).toBe(true);
    expect(r.residualCount).toBe(512);
  });

  it('reports write residuals from dataOutNeeded', () => {
    const under = decodeScsiResponse(
      run({ write: true, expectedLength: 1000 }, { status: 0, dataOutNeeded: 600 })[0].header,
    );
    expect([under.underflow, under.overflow, under.residualCount]).toEqual([true, false, 400]);
    const over = decodeScsiResponse(
      run({ write: true, expectedLength: 1000 }, { status: 0, dataOutNeeded: 1500 })[0].header,
    );
    expect([over.underflow, over.overflow, over.residualCount]).toEqual([false, true, 500]);
    const exact = decodeScsiResponse(
      run({ write: true, expectedLength: 1000 }, { status: 0, dataOutNeeded: 1000 })[0].header,
    );
    expect([exact.underflow, exact.overflow]).toEqual([false, false]);
  });
});
