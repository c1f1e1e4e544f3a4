/**
 * Sessions over real loopback sockets, once per transport (net, and native when it loads):
 * discovery, login, NOP, task management, logout, reinstatement and malformed input.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/util/log.js';
import { RejectReason, TmfFunction, TmfResponse } from '../../../src/target/pdu/constants.js';
import { Initiator, LoginError, RejectedError } from '../../support/initiator.js';
import { EchoOp, INITIATOR, TARGET, cdb6, pattern, targetScope, tick, transports } from './fixtures.js';

const cases = await transports();

describe.each(cases)('iSCSI target over the $name transport', ({ create }) => {
  const t = targetScope(create);
  const { start, connect } = t;

  describe('discovery', () => {
    it('answers SendTargets=All with TargetName and TargetAddress host:port,tpgt', async () => {
      await start();
      const s = await connect({ targetName: undefined });
      expect(await s.sendTargets('All')).toEqual([
        { key: 'TargetName', value: TARGET },
        { key: 'TargetAddress', value: `127.0.0.1:${t.h.port},1` },
      ]);
      expect(await s.logout()).toBe(0);
    });

    it('splits a long SendTargets answer with the C bit and continues on the TTT', async () => {
      await start({
        targets: Array.from({ length: 300 }, (_, i) => ({
          name: `iqn.2024-01.org.example:target-with-a-long-name-${i}`,
          luns: new Map(),
        })),
      });
      const s = await connect({ targetName: undefined, maxRecvDataSegmentLength: 512 });
      const pairs = await s.sendTargets('All');
      expect(pairs.length).toBe(600);
      expect(pairs[598]).toEqual({
        key: 'TargetName',
        value: 'iqn.2024-01.org.example:target-with-a-long-name-299',
      });
      const textResponses = s.received.filter((p) => (p.bhs[0] & 0x3f) === 0x24);
      expect(textResponses.length).toBeGreaterThan(40);
      expect(textResponses.every((p) => (p.data?.length ?? 0) <= 512)).toBe(true);
    });

    it('hides targets from initiators outside their ACL and lists the own target for SendTargets= in a normal session', async () => {
      await start({}, { allowedInitiators: [INITIATOR] });
      const other = await connect({ targetName: undefined, initiatorName: 'iqn.2024-01.org.example:other' });
      expect(await other.sendTargets('All')).toEqual([]);
      const s = await connect();
      expect((await s.sendTargets(''))[0]).toEqual({ key: 'TargetName', value: TARGET });
    });

    it('rejects SCSI commands in a discovery session', async () => {
      await start();
      const s = await connect({ targetName: undefined });
      await expect(s.command(0, cdb6(EchoOp.TEST_UNIT_READY))).rejects.toEqual(
        new RejectedError(RejectReason.PROTOCOL_ERROR),
      );
      expect((await s.sendTargets()).length).toBe(2);
    });
  });

  describe('login', () => {
    it('fails with 0x0203 for an unknown target and 0x0202 outside the ACL', async () => {
      await start({}, { allowedInitiators: ['iqn.2024-01.org.example:someone'] });
      await expect(connect({ targetName: 'iqn.2024-01.org.example:nope' })).rejects.toMatchObject({
        status: 0x0203,
      });
      await expect(connect()).rejects.toMatchObject({ status: 0x0202 });
    });

    it('negotiates header and data digests and moves data with them', async () => {
      await start();
      const s = await connect({ headerDigest: true, dataDigest: true, maxRecvDataSegmentLength: 8192 });
      expect(s.negotiated.get('HeaderDigest')).toBe('CRC32C');
      expect(s.negotiated.get('DataDigest')).toBe('CRC32C');
      const data = pattern(300000);
      expect((await s.command(1, cdb6(EchoOp.WRITE, data.length), { dataOut: data })).status).toBe(0);
      const r = await s.command(1, cdb6(EchoOp.READ, data.length), { expectedLength: data.length });
      expect(r.data.equals(data)).toBe(true);
      expect(r.dataInPdus).toBe(Math.ceil(300000 / 8192));
    });

    it('declares MaxRecvDataSegmentLength and the fast defaults', async () => {
      await start({ maxRecvDataSegmentLength: 1048576 });
      const s = await connect();
      expect(s.negotiated.get('MaxRecvDataSegmentLength')).toBe('1048576');
      expect(s.negotiated.get('InitialR2T')).toBe('No');
      expect(s.negotiated.get('ImmediateData')).toBe('Yes');
      expect(s.negotiated.get('FirstBurstLength')).toBe('262144');
      expect(s.negotiated.get('TargetPortalGroupTag')).toBe('1');
    });

    it('authenticates with CHAP (hex and base64, MD5 and SHA-256), mutual too, and refuses a wrong secret', async () => {
      const chap = {
        user: 'alice',
        secret: 'alice-secret-1',
        mutual: { user: 'vtl', secret: 'target-secret-2' },
      };
      await start({}, { chap });
      await connect({ chap: { user: 'alice', secret: 'alice-secret-1' } });
      await connect({
        chap: { user: 'alice', secret: 'alice-secret-1', encoding: 'base64', algorithms: [7, 5] },
      });
      const m = await connect({
        chap: { user: 'alice', secret: 'alice-secret-1', mutual: { user: 'vtl', secret: 'target-secret-2' } },
      });
      expect((await m.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
      await expect(connect({ chap: { user: 'alice', secret: 'wrong' } })).rejects.toMatchObject({
        status: 0x0201,
      });
      await expect(connect()).rejects.toBeInstanceOf(LoginError);
    });
  });

  describe('NOP', () => {
    it('echoes NOP-Out ping data', async () => {
      await start();
      const s = await connect();
      expect((await s.nop(Buffer.from('ping-data'))).toString()).toBe('ping-data');
    });

    it('pings an idle initiator and keeps the connection while it answers', async () => {
      await start({ nopInterval: 60, nopTimeout: 200 });
      const s = await connect();
      await tick(400);
      expect(s.pingsAnswered).toBeGreaterThan(1);
      expect(s.isOpen).toBe(true);
    });

    it('drops the connection when a ping goes unanswered', async () => {
      await start({ nopInterval: 60, nopTimeout: 150 });
      const s = await connect({ answerPings: false });
      await s.closed;
      expect(t.h.target.sessionCount).toBe(0);
      expect(t.h.lu.nexuses.size).toBe(0);
    });
  });

  describe('task management', () => {
    it('aborts a running task: function complete, no response for it, and the LU goes on', async () => {
      await start();
      const s = await connect();
      let answered = false;
      void s.command(1, cdb6(EchoOp.HOLD)).then(
        () => (answered = true),
        () => undefined,
      );
      await tick();
      const itt = s.lastItt;
      const tmf = s.tmf(TmfFunction.ABORT_TASK, { lun: 1, referencedTaskTag: itt, refCmdSN: s.cmdSN - 1 });
      await tick();
      t.h.lu.release();
      expect(await tmf).toBe(TmfResponse.FUNCTION_COMPLETE);
      await tick();
      expect(answered).toBe(false);
      expect((await s.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
    });

    it('aborts a queued task at once and lets the one before it finish', async () => {
      await start();
      const s = await connect();
      const first = s.command(1, cdb6(EchoOp.HOLD));
      let answered = false;
      void s.command(1, cdb6(EchoOp.PATTERN, 4), { expectedLength: 4 }).then(
        () => (answered = true),
        () => undefined,
      );
      await tick();
      const queued = s.lastItt;
      expect(
        await s.tmf(TmfFunction.ABORT_TASK, { lun: 1, referencedTaskTag: queued, refCmdSN: s.cmdSN - 1 }),
      ).toBe(TmfResponse.FUNCTION_COMPLETE);
      t.h.lu.release();
      expect((await first).status).toBe(0);
      await tick();
      expect(answered).toBe(false);
      expect(t.h.lu.executed).toEqual([EchoOp.HOLD]);
    });

    it('answers task does not exist, LUN does not exist, not supported', async () => {
      await start();
      const s = await connect();
      await s.command(1, cdb6(EchoOp.TEST_UNIT_READY));
      expect(
        await s.tmf(TmfFunction.ABORT_TASK, { lun: 1, referencedTaskTag: 0x4242, refCmdSN: s.cmdSN - 1 }),
      ).toBe(TmfResponse.TASK_DOES_NOT_EXIST);
      expect(await s.tmf(TmfFunction.LOGICAL_UNIT_RESET, { lun: 9 })).toBe(TmfResponse.LUN_DOES_NOT_EXIST);
      expect(await s.tmf(TmfFunction.CLEAR_ACA, { lun: 1 })).toBe(TmfResponse.FUNCTION_NOT_SUPPORTED);
      expect(await s.tmf(TmfFunction.TASK_REASSIGN, { lun: 1 })).toBe(TmfResponse.REASSIGNMENT_NOT_SUPPORTED);
    });

    it('runs ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET and TARGET WARM RESET through the LU', async () => {
      await start();
      const s = await connect();
      expect(await s.tmf(TmfFunction.ABORT_TASK_SET, { lun: 1 })).toBe(0);
      expect(await s.tmf(TmfFunction.CLEAR_TASK_SET, { lun: 1 })).toBe(0);
      expect(await s.tmf(TmfFunction.LOGICAL_UNIT_RESET, { lun: 1 })).toBe(0);
      expect(await s.tmf(TmfFunction.TARGET_WARM_RESET)).toBe(0);
      expect(t.h.lu.events.slice(1)).toEqual([
        'cleared own',
        'cleared all',
        'reset lun-reset',
        'reset target-warm-reset',
      ]);
    });

    it('ends the tasks of other sessions with TASK ABORTED on LOGICAL UNIT RESET', async () => {
      await start();
      const a = await connect();
      const b = await connect();
      const held = b.command(1, cdb6(EchoOp.HOLD));
      await tick();
      const reset = a.tmf(TmfFunction.LOGICAL_UNIT_RESET, { lun: 1 });
      expect((await held).status).toBe(0x40);
      t.h.lu.release();
      expect(await reset).toBe(0);
    });

    it('drops every session after answering TARGET COLD RESET', async () => {
      await start();
      const a = await connect();
      const b = await connect();
      expect(await a.tmf(TmfFunction.TARGET_COLD_RESET)).toBe(0);
      await Promise.all([a.closed, b.closed]);
      expect(t.h.lu.events).toContain('reset target-cold-reset');
    });
  });

  describe('session lifecycle', () => {
    it('logs out, closes and removes the nexus', async () => {
      await start();
      const s = await connect();
      expect(t.h.lu.nexuses.size).toBe(1);
      expect([...t.h.lu.nexuses][0]).toMatch(
        /^iqn\.2024-01\.org\.example:host1,i,0x[0-9a-f]{12}\|iqn\.2024-01\.org\.example:vtl,t,0x0001$/,
      );
      expect(await s.logout()).toBe(0);
      await tick();
      expect(t.h.target.sessionCount).toBe(0);
      expect(t.h.lu.nexuses.size).toBe(0);
    });

    it('asks initiators to log out (Async Message event 1) when the target stops', async () => {
      const lines: string[] = [];
      await start({ logger: createLogger({ write: (l) => lines.push(l) }) });
      const s = await connect();
      await t.h.target.stop({ logoutWaitMs: 2000 });
      await s.closed;
      expect(s.asyncMessages.map((m) => [m.event, m.parameter3])).toEqual([[1, 2]]);
      const closed = lines
        .map((l) => JSON.parse(l) as { msg: string; reason?: string })
        .find((r) => r.msg === 'session closed');
      expect(closed?.reason).toBe('logout');
    });

    it('reinstates the connection of a session logged in again with its TSIH and CID', async () => {
      await start();
      const a = await connect({ isid: 0x23d000000043 });
      await a.command(1, cdb6(EchoOp.TEST_UNIT_READY));
      const b = await connect({ isid: 0x23d000000043, tsih: a.tsih, cid: 0, cmdSN: a.cmdSN });
      await a.closed;
      expect(b.tsih).toBe(a.tsih);
      expect(t.h.target.sessionCount).toBe(1);
      expect((await b.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
      await expect(connect({ isid: 0x23d000000043, tsih: a.tsih, cid: 1 })).rejects.toMatchObject({
        status: 0x0206,
      });
      await expect(connect({ isid: 0x23d000000043, tsih: 0x7777 })).rejects.toMatchObject({ status: 0x020a });
    });

    it('reinstates a session logged in again with the same ISID', async () => {
      await start();
      const a = await connect({ isid: 0x23d000000042 });
      const b = await connect({ isid: 0x23d000000042 });
      await a.closed;
      expect(t.h.target.sessionCount).toBe(1);
      expect(t.h.lu.events.map((e) => e.split(' ')[0])).toEqual(['added', 'removed', 'added']);
      expect((await b.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
    });
  });

  describe('malformed input', () => {
    it('rejects an unknown opcode (0x05) and a Data-Out for an unknown task (0x09), and keeps serving', async () => {
      await start();
      const s = await connect();
      const bad = Buffer.alloc(48);
      bad[0] = 0x1c;
      bad[1] = 0x80;
      s.sendRaw(bad);
      const dout = Buffer.alloc(48);
      dout[0] = 0x05;
      dout[1] = 0x80;
      dout.writeUInt32BE(0x7777, 16);
      dout.writeUInt32BE(0xffffffff, 20);
      s.sendRaw(dout);
      expect((await s.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
      expect(s.rejects.map((r) => r.reason)).toEqual([
        RejectReason.COMMAND_NOT_SUPPORTED,
        RejectReason.INVALID_PDU_FIELD,
      ]);
      expect(s.rejects[0].header.equals(bad)).toBe(true);
    });

    it('rejects a Data-Out with a wrong DataSN (0x09) and ends the task with DATA PHASE ERROR', async () => {
      await start();
      const s = await connect({ initialR2T: true, immediateData: false });
      const itt = s.nextItt();
      const solicited = s.waitFor(itt);
      const header = buildWrite(s, 1000, itt, false);
      s.cmdSN++;
      s.sendRaw(header);
      const r2t = await solicited;
      expect(r2t.bhs[0] & 0x3f).toBe(0x31);
      expect(r2t.bhs.readUInt32BE(44)).toBe(1000);
      const response = s.waitFor(itt);
      const dout = Buffer.alloc(48);
      dout[0] = 0x05;
      dout[1] = 0x80;
      dout.writeUIntBE(1000, 5, 3);
      dout[9] = 1;
      dout.writeUInt32BE(itt, 16);
      dout.writeUInt32BE(r2t.bhs.readUInt32BE(20), 20);
      dout.writeUInt32BE(5, 36);
      s.sendRaw(dout, pattern(1000));
      const res = await response;
      expect(res.bhs[3]).toBe(2);
      expect(s.rejects.map((x) => x.reason)).toEqual([RejectReason.INVALID_PDU_FIELD]);
      expect(t.h.lu.records.length).toBe(0);
      expect((await s.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
    });

    it('answers a data digest error with Reject 0x02 and drops the connection, while other sessions go on', async () => {
      await start();
      const other = await connect();
      const s = await connect({ dataDigest: true });
      s.sendRaw(buildWrite(s, 100, s.nextItt(), true), pattern(100), { corruptDataDigest: true });
      await s.closed;
      expect(s.rejects.map((r) => r.reason)).toEqual([RejectReason.DATA_DIGEST_ERROR]);
      expect((await other.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
    });

    it('drops a connection that sends garbage instead of a login', async () => {
      await start({ loginTimeout: 300 });
      const raw = await Initiator.raw({ host: t.h.host, port: t.h.port });
      raw.sendRaw(Buffer.alloc(48, 0xff));
      await raw.closed;
      const s = await connect();
      expect((await s.command(1, cdb6(EchoOp.TEST_UNIT_READY))).status).toBe(0);
    });
  });
});

/** A WRITE command header for raw tests, with or without `length` bytes of immediate data. */
function buildWrite(s: Initiator, length: number, itt: number, immediateData: boolean): Buffer {
  const h = Buffer.alloc(48);
  h[0] = 0x01;
  h[1] = 0x80 | 0x20 | 1;
  h.writeUIntBE(immediateData ? length : 0, 5, 3);
  h[9] = 1;
  h.writeUInt32BE(itt, 16);
  h.writeUInt32BE(length, 20);
  h.writeUInt32BE(s.cmdSN, 24);
  h.writeUInt32BE(s.expStatSN, 28);
  cdb6(EchoOp.WRITE, length).copy(h, 32);
  return h;
}
