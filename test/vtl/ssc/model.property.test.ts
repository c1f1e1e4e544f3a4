/**
 * Property test (STYLE.md 13): random sequences of WRITE, WRITE FILEMARKS, READ, SPACE (blocks,
 * filemarks, EOD; 6- and 16-byte forms), LOCATE (object and file), and REWIND, sent as CDBs to a
 * real drive, agree with a reference model of a tape as a list of objects: same status, sense
 * key/ASC/ASCQ, FILEMARK/EOM/ILI flags, INFORMATION, data, and READ POSITION after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Harness, cdb, decodeLongPosition } from './harness.js';

type Obj = { kind: 'data'; tag: number; size: number } | { kind: 'fm' };

type Op =
  | { op: 'write'; size: number }
  | { op: 'wfm'; count: number; immed: boolean }
  | { op: 'read'; length: number; sili: boolean }
  | { op: 'spaceBlocks'; count: number; long: boolean }
  | { op: 'spaceFilemarks'; count: number; long: boolean }
  | { op: 'spaceEod' }
  | { op: 'locate'; to: number; long: boolean }
  | { op: 'locateFile'; file: number }
  | { op: 'rewind' };

/** What a client sees of one command. */
interface Outcome {
  status: number;
  sense: {
    key: number;
    asc: number;
    ascq: number;
    filemark: boolean;
    eom: boolean;
    ili: boolean;
    information: number | null;
  } | null;
  data?: string;
}

const GOOD: Outcome = { status: 0, sense: null };
const check = (
  key: number,
  ascq: number,
  o: { filemark?: boolean; eom?: boolean; ili?: boolean; information?: number | null } = {},
): Outcome => ({
  status: 2,
  sense: {
    key,
    asc: 0,
    ascq,
    filemark: o.filemark ?? false,
    eom: o.eom ?? false,
    ili: o.ili ?? false,
    information: o.information ?? null,
  },
});

function payload(tag: number, size: number): Buffer {
  const b = Buffer.alloc(size, tag & 0xff);
  b.writeUInt32BE(tag, 0);
  return b;
}

/** The reference model: SSC-4 semantics stated as plainly as possible. */
class TapeModel {
  objs: Obj[] = [];
  p = 0;
  private nextTag = 1;

  get file(): number {
    return this.objs.slice(0, this.p).filter((o) => o.kind === 'fm').length;
  }

  apply(op: Op): Outcome {
    switch (op.op) {
      case 'write': {
        this.objs.length = this.p;
        this.objs.push({ kind: 'data', tag: this.nextTag++, size: op.size });
        this.p++;
        return GOOD;
      }
      case 'wfm': {
        if (op.count === 0) return GOOD;
        this.objs.length = this.p;
        for (let i = 0; i < op.count; i++) this.objs.push({ kind: 'fm' });
        this.p += op.count;
        return GOOD;
      }
      case 'read': {
        if (this.p >= this.objs.length) return check(8, 5, { information: op.length });
        const o = this.objs[this.p++];
        if (o.kind === 'fm') return check(0, 1, { filemark: true, information: op.length });
        const full = payload(o.tag, o.size);
        if (o.size === op.length || (o.size < op.length && op.sili))
          return { ...GOOD, data: full.toString('hex') };
        const shown = full.subarray(0, Math.min(o.size, op.length)).toString('hex');
        return { ...check(0, 0, { ili: true, information: op.length - o.size }), data: shown };
      }
      case 'spaceBlocks': {
        const m = Math.abs(op.count);
        let moved = 0;
        while (moved < m) {
          if (op.count > 0) {
            if (this.p >= this.objs.length) return check(8, 5, { information: m - moved });
            if (this.objs[this.p].kind === 'fm') {
              this.p++;
              return check(0, 1, { filemark: true, information: m - moved });
            }
            this.p++;
          } else {
            if (this.p === 0) return check(0, 4, { eom: true, information: m - moved });
            if (this.objs[this.p - 1].kind === 'fm') {
              this.p--;
              return check(0, 1, { filemark: true, information: m - moved });
            }
            this.p--;
          }
          moved++;
        }
        return GOOD;
      }
      case 'spaceFilemarks': {
        const m = Math.abs(op.count);
        let moved = 0;
        while (moved < m) {
          if (op.count > 0) {
            if (this.p >= this.objs.length) return check(8, 5, { information: m - moved });
            if (this.objs[this.p++].kind === 'fm') moved++;
          } else {
            if (this.p === 0) return check(0, 4, { eom: true, information: m - moved });
            if (this.objs[--this.p].kind === 'fm') moved++;
          }
        }
        return GOOD;
      }
      case 'spaceEod':
        this.p = this.objs.length;
        return GOOD;
      case 'locate':
        this.p = Math.min(op.to, this.objs.length);
        return op.to > this.objs.length ? check(8, 5) : GOOD;
      case 'locateFile': {
        if (op.file === 0) {
          this.p = 0;
          return GOOD;
        }
        const fms = this.objs.flatMap((o, i) => (o.kind === 'fm' ? [i] : []));
        if (op.file - 1 < fms.length) {
          this.p = fms[op.file - 1] + 1;
          return GOOD;
        }
        this.p = this.objs.length;
        return check(8, 5);
      }
      case 'rewind':
        this.p = 0;
        return GOOD;
    }
  }
}

function cdbFor(op: Op, tag: number): { c: number[]; dataOut?: Buffer } {
  switch (op.op) {
    case 'write':
      return { c: cdb.write6(op.size), dataOut: payload(tag, op.size) };
    case 'wfm':
      return { c: cdb.writeFilemarks6(op.count, { immed: op.immed }) };
    case 'read':
      return { c: cdb.read6(op.length, { sili: op.sili }) };
    case 'spaceBlocks':
      return { c: op.long ? cdb.space16(0, op.count) : cdb.space6(0, op.count) };
    case 'spaceFilemarks':
      return { c: op.long ? cdb.space16(1, op.count) : cdb.space6(1, op.count) };
    case 'spaceEod':
      return { c: cdb.space6(3, 0) };
    case 'locate':
      return { c: op.long ? cdb.locate16(op.to) : cdb.locate10(op.to) };
    case 'locateFile':
      return { c: cdb.locate16(op.file, { destType: 1 }) };
    case 'rewind':
      return { c: cdb.rewind() };
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ op: fc.constant('write' as const), size: fc.integer({ min: 4, max: 48 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('wfm' as const),
      count: fc.integer({ min: 0, max: 2 }),
      immed: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('read' as const),
      length: fc.integer({ min: 1, max: 64 }),
      sili: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('spaceBlocks' as const),
      count: fc.integer({ min: -6, max: 6 }),
      long: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('spaceFilemarks' as const),
      count: fc.integer({ min: -3, max: 3 }),
      long: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('spaceEod' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('locate' as const),
      to: fc.integer({ min: 0, max: 30 }),
      long: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('locateFile' as const), file: fc.integer({ min: 0, max: 6 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rewind' as const) }) },
);

describe('tape drive against a reference model', () => {
  it('agrees on every outcome and position', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const h = await new Harness().start();
        try {
          await h.insert({ label: 'MODEL1L8' });
          const model = new TapeModel();
          let tag = 1;
          for (const op of ops) {
            const { c, dataOut } = cdbFor(op, tag);
            if (op.op === 'write') tag++;
            const expected = model.apply(op);
            const r = await h.exec(c, dataOut ? { dataOut } : {});
            const got: Outcome = {
              status: r.status,
              sense: r.sense
                ? {
                    key: r.sense.key,
                    asc: r.sense.asc,
                    ascq: r.sense.ascq,
                    filemark: r.sense.filemark,
                    eom: r.sense.eom,
                    ili: r.sense.ili,
                    information: r.sense.information,
                  }
                : null,
            };
            if (expected.data !== undefined) got.data = r.data.toString('hex');
            expect(got, JSON.stringify(op)).toEqual(expected);
            const pos = decodeLongPosition((await h.exec(cdb.readPosition(0x06))).data);
            expect({ object: pos.object, file: pos.file, bop: pos.bop }, JSON.stringify(op)).toEqual({
              object: model.p,
              file: model.file,
              bop: model.p === 0,
            });
          }
        } finally {
          await h.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
