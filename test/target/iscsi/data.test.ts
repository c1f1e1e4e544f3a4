/**
 * Data movement over real loopback sockets, once per transport (net, and native when it
 * loads): immediate, unsolicited and solicited writes, Data-In splitting, residuals, CmdSN order.
 */
import { describe, expect, it } from 'vitest';
import { decodeSense } from '../../../src/target/scsi/sense.js';
import type { IscsiTargetOptions } from '../../../src/target/iscsi-target.js';
import type { InitiatorOptions } from '../../support/initiator.js';
import { EchoOp, cdb6, pattern, targetScope, tick, transports } from './fixtures.js';

const cases = await transports();

describe.each(cases)('iSCSI target over the $name transport', ({ create }) => {
  const t = targetScope(create);
  const { start, connect } = t;

  describe('writes and reads', () => {
    const sizes = [1, 4096, 262144, 262145, 1048579, 3 * 1024 * 1024];
    const variants: [string, Partial<IscsiTargetOptions>, Partial<InitiatorOptions>][] = [
      ['immediate + unsolicited + R2T', {}, {}],
      ['InitialR2T=Yes', {}, { initialR2T: true }],
      ['ImmediateData=No', {}, { immediateData: false }],
      [
        'small PDUs and bursts, 4 R2Ts outstanding',
        { maxRecvDataSegmentLength: 8192, maxBurstLength: 65536, firstBurstLength: 16384 },
        { maxOutstandingR2T: 4 },
      ],
    ];
    it.each(variants)('writes every size intact with %s', async (_name, targetOptions, initiatorOptions) => {
      await start(targetOptions);
      const s = await connect(initiatorOptions);
      for (const size of sizes) {
        const data = pattern(size, size);
        const w = await s.command(1, cdb6(EchoOp.WRITE, size), { dataOut: data });
        expect(w.status).toBe(0);
        expect(t.h.lu.records.at(-1)!.equals(data)).toBe(true);
        const solicited = w.r2ts.reduce((n, r) => n + r.desiredLength, 0);
        const burst = Number(s.negotiated.get('MaxBurstLength'));
        expect(w.r2ts.every((r) => r.desiredLength <= burst)).toBe(true);
        const unsolicitedCap = s.initialR2T
          ? s.immediateData
            ? Math.min(s.firstBurstLength, s.targetMaxRecv)
            : 0
          : s.firstBurstLength;
        expect(solicited).toBe(Math.max(0, size - Math.min(size, unsolicitedCap)));
      }
    });

    it('splits reads at the initiator MaxRecvDataSegmentLength with status in the last Data-In', async () => {
      await start();
      const s = await connect({ maxRecvDataSegmentLength: 16384 });
      const data = pattern(100000);
      await s.command(1, cdb6(EchoOp.WRITE, data.length), { dataOut: data });
      const r = await s.command(1, cdb6(EchoOp.READ, data.length), { expectedLength: data.length });
      expect(r.collapsed).toBe(true);
      expect(r.dataInPdus).toBe(7);
      expect(r.data.equals(data)).toBe(true);
    });

    it('reports underflow and overflow residuals', async () => {
      await start();
      const s = await connect();
      await s.command(1, cdb6(EchoOp.WRITE, 100), { dataOut: pattern(100) });
      const short = await s.command(1, cdb6(EchoOp.READ, 4096), { expectedLength: 4096 });
      expect([short.underflow, short.residual, short.data.length]).toEqual([true, 3996, 100]);
      const long = await s.command(1, cdb6(EchoOp.PATTERN, 5000), { expectedLength: 3000 });
      expect([long.overflow, long.residual, long.data.length]).toEqual([true, 2000, 3000]);
      const w = await s.command(1, cdb6(EchoOp.WRITE, 600), { dataOut: pattern(1000) });
      expect([w.underflow, w.residual]).toEqual([true, 400]);
    });

    it('sends data and then sense in a separate SCSI Response', async () => {
      await start();
      const s = await connect();
      const r = await s.command(1, cdb6(EchoOp.DATA_WITH_SENSE, 2000), { expectedLength: 2000 });
      expect(r.status).toBe(2);
      expect(r.collapsed).toBe(false);
      expect(r.data.length).toBe(2000);
      expect(decodeSense(r.sense!).name).toBe('UNRECOVERED_READ_ERROR');
    });

    it('answers CHECK CONDITION INVALID FIELD IN CDB for a write above the transfer limit', async () => {
      await start({ maxTransferLength: 65536 });
      const s = await connect();
      const r = await s.command(1, cdb6(EchoOp.WRITE, 100000), { dataOut: pattern(100000) });
      expect(r.status).toBe(2);
      expect(decodeSense(r.sense!).name).toBe('INVALID_FIELD_IN_CDB');
      expect(t.h.lu.records.length).toBe(0);
      expect((await s.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
    });

    it('passes a 32-byte CDB from the extended-CDB AHS to the logical unit', async () => {
      await start();
      const s = await connect();
      const cdb = Buffer.alloc(32, 0xee);
      cdb[0] = 0x7f;
      const r = await s.command(1, cdb);
      expect(r.status).toBe(2);
      expect(t.h.lu.lastCdb.equals(cdb)).toBe(true);
    });

    it('answers for a LUN without a device: INQUIRY qualifier 011b type 1Fh, other commands 25/00', async () => {
      await start();
      const s = await connect();
      const inq = await s.command(5, Buffer.from([0x12, 0, 0, 0, 36, 0]), { expectedLength: 36 });
      expect(inq.data[0]).toBe(0x7f);
      const tur = await s.command(5, cdb6(EchoOp.TEST_UNIT_READY));
      expect(decodeSense(tur.sense!).name).toBe('LOGICAL_UNIT_NOT_SUPPORTED');
      const luns = await s.command(0, Buffer.from([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]), {
        expectedLength: 256,
      });
      expect(luns.data.subarray(0, 16).toString('hex')).toBe('00000008000000000001000000000000');
    });
  });

  describe('command sequencing', () => {
    it('runs one task at a time per LU and keeps the CmdSN window at the configured size', async () => {
      await start({ commandWindow: 4 });
      const s = await connect();
      const first = s.cmdSN;
      const held = [0, 1, 2, 3].map(() => s.command(1, cdb6(EchoOp.HOLD)));
      await tick(50);
      expect(t.h.lu.heldCount).toBe(1);
      expect(s.maxCmdSN).toBe(first + 3);
      // Outside the window: dropped without an answer.
      let late = false;
      void s.command(1, cdb6(EchoOp.TEST_UNIT_READY), { cmdSN: first + 10 }).then(
        () => (late = true),
        () => undefined,
      );
      for (let i = 0; i < 4; i++) {
        t.h.lu.release();
        await tick(30);
      }
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([0, 0, 0, 0]);
      expect(t.h.lu.maxConcurrent).toBe(1);
      expect(late).toBe(false);
      expect(s.maxCmdSN).toBe(first + 7);
    });

    it('drops a command whose CmdSN was already used and holds one that arrives early', async () => {
      await start();
      const s = await connect();
      const sn = s.cmdSN;
      await s.command(1, cdb6(EchoOp.TEST_UNIT_READY));
      let stale = false;
      void s.command(1, cdb6(EchoOp.INQUIRY), { cmdSN: sn }).then(
        () => (stale = true),
        () => undefined,
      );
      const later = s.command(1, cdb6(EchoOp.PATTERN, 10), { cmdSN: sn + 2, expectedLength: 10 });
      await tick();
      expect(t.h.lu.executed).toEqual([EchoOp.TEST_UNIT_READY]);
      const now = s.command(1, cdb6(EchoOp.TEST_UNIT_READY), { cmdSN: sn + 1 });
      await Promise.all([now, later]);
      expect(t.h.lu.executed).toEqual([EchoOp.TEST_UNIT_READY, EchoOp.TEST_UNIT_READY, EchoOp.PATTERN]);
      expect(stale).toBe(false);
    });
  });
});
