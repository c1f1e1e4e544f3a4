/**
 * Session sequencing without sockets: the CmdSN window (RFC 7143 4.2.2.1), immediate delivery,
 * early commands held until the gap fills, StatSN on status-bearing PDUs, Rejects.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { silentLogger } from '../../../src/util/log.js';
import { RESERVED_TAG, RejectReason } from '../../../src/target/pdu/constants.js';
import { encodeNopOut } from '../../../src/target/pdu/control.js';
import { decodeScsiResponse, encodeScsiCommand } from '../../../src/target/pdu/scsi.js';
import { defaultParams, DEFAULT_TARGET_OFFER } from '../../../src/target/login/params.js';
import { LuQueue } from '../../../src/target/session/lu-queue.js';
import { buildNexus } from '../../../src/target/session/nexus.js';
import { Session } from '../../../src/target/session/session.js';
import type { SessionConnection, SessionHost, TargetConfig } from '../../../src/target/session/types.js';
import { ScsiStatus, type LogicalUnit, type ScsiTask } from '../../../src/target/scsi/types.js';
import { UnsupportedLun } from '../../../src/target/scsi/unsupported-lun.js';
import type { Pdu } from '../../../src/target/transport/types.js';

class FakeConnection implements SessionConnection {
  readonly cid = 0;
  readonly localAddress = '127.0.0.1';
  readonly maxSendSegment = 8192;
  readonly sent: Buffer[] = [];
  readonly rejects: number[] = [];
  private statSN = 1000;
  private tag = 0;
  send(header: Buffer): void {
    this.sent.push(header);
  }
  nextStatSN(): number {
    return this.statSN++;
  }
  peekStatSN(): number {
    return this.statSN;
  }
  allocateTag(): number {
    return ++this.tag;
  }
  reject(reason: number): void {
    this.rejects.push(reason);
  }
  end(): void {}
  destroy(): void {}
}

function setup(window = 4) {
  const executed: number[] = [];
  const lu: LogicalUnit = {
    deviceType: 1,
    execute: (t: ScsiTask) => {
      executed.push(t.cdb[1]);
      return { status: ScsiStatus.GOOD };
    },
    nexusAdded() {},
    nexusRemoved() {},
    reset() {},
    close: () => Promise.resolve(),
  };
  const target: TargetConfig = { name: 'iqn.2024-01.x:t', luns: new Map([[0, lu]]) };
  const queue = new LuQueue();
  const host: SessionHost = {
    logger: silentLogger,
    limits: { commandWindow: window, maxTransferLength: 1 << 20 },
    queueFor: () => queue,
    targetContext: () => ({ name: target.name, portalGroupTag: 1, luns: () => [0] }),
    unsupportedLun: new UnsupportedLun(),
    sessionsOf: () => [],
    sendTargets: () => [],
    sessionClosed: () => undefined,
    coldReset: () => undefined,
  };
  const conn = new FakeConnection();
  const params = defaultParams(DEFAULT_TARGET_OFFER);
  const session = new Session(
    host,
    conn,
    1,
    1,
    params,
    target,
    buildNexus('iqn.2024-01.x:i', 1, target.name, 1),
    100,
  );
  let itt = 1;
  const command = (cmdSN: number, tag: number, immediate = false): void => {
    const cdb = Buffer.alloc(6);
    cdb[1] = tag;
    const bhs = encodeScsiCommand(
      {
        immediate,
        final: true,
        read: false,
        write: false,
        attribute: 1,
        lun: 0,
        itt: itt++,
        expectedLength: 0,
        cmdSN,
        expStatSN: 0,
        cdb,
      },
      0,
    );
    session.dispatch({ bhs, ahs: null, data: null, dataDigestError: false } satisfies Pdu);
  };
  return { session, conn, executed, command };
}

describe('session sequencing', () => {
  it('executes in CmdSN order, holding early commands until the gap fills', () => {
    const { session, executed, command } = setup();
    command(102, 3);
    command(101, 2);
    expect(executed).toEqual([]);
    command(100, 1);
    expect(executed).toEqual([1, 2, 3]);
    expect(session.expCmdSN).toBe(103);
  });

  it('drops commands below ExpCmdSN or above MaxCmdSN silently', () => {
    const { session, conn, executed, command } = setup(4);
    expect(session.maxCmdSN).toBe(103);
    command(104, 9);
    command(99, 8);
    expect(executed).toEqual([]);
    expect(conn.rejects).toEqual([]);
    expect(session.expCmdSN).toBe(100);
  });

  it('delivers immediate commands at once without advancing ExpCmdSN', () => {
    const { session, executed, command } = setup();
    command(100, 7, true);
    expect(executed).toEqual([7]);
    expect(session.expCmdSN).toBe(100);
  });

  it('opens MaxCmdSN as commands complete and never shrinks it', () => {
    const { session, conn, command } = setup(4);
    command(100, 1);
    command(101, 2);
    expect(session.maxCmdSN).toBe(105);
    const last = decodeScsiResponse(conn.sent.at(-1)!);
    expect(last.expCmdSN).toBe(102);
    expect(last.maxCmdSN).toBe(105);
    expect(conn.sent.map((h) => decodeScsiResponse(h).statSN)).toEqual([1000, 1001]);
  });

  it('answers a NOP-Out ping with a NOP-In and ignores one with the reserved ITT', () => {
    const { session, conn } = setup();
    const ping = encodeNopOut(
      { immediate: true, lun: 0, itt: 5, ttt: RESERVED_TAG, cmdSN: 100, expStatSN: 0 },
      0,
    );
    session.dispatch({ bhs: ping, ahs: null, data: null, dataDigestError: false });
    const answer = encodeNopOut(
      { immediate: true, lun: 0, itt: RESERVED_TAG, ttt: 3, cmdSN: 100, expStatSN: 0 },
      0,
    );
    session.dispatch({ bhs: answer, ahs: null, data: null, dataDigestError: false });
    expect(conn.sent.length).toBe(1);
    expect(conn.sent[0][0]).toBe(0x20);
    expect(conn.sent[0].readUInt32BE(16)).toBe(5);
  });

  it('never throws on arbitrary full-feature PDUs (fast-check over header bytes)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 48, maxLength: 48 }),
        fc.option(fc.uint8Array({ minLength: 0, maxLength: 64 })),
        fc.option(fc.uint8Array({ minLength: 4, maxLength: 32 })),
        (header, data, ahs) => {
          const { session, conn } = setup();
          const bhs = Buffer.from(header);
          // Initiator opcodes only, as the framer would deliver them.
          bhs[0] = (bhs[0] & 0x40) | [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x10, 0x1f][bhs[0] & 7];
          const pdu: Pdu = {
            bhs,
            ahs: ahs && ahs.length % 4 === 0 ? Buffer.from(ahs) : null,
            data: data && data.length ? Buffer.from(data) : null,
            dataDigestError: false,
          };
          session.dispatch(pdu);
          session.dispatch(pdu);
          return conn.sent.length + conn.rejects.length >= 0;
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects immediate data on a command without W (0x09) and consumes its CmdSN', () => {
    const { session, conn, executed, command } = setup();
    const cdb = Buffer.alloc(6);
    const bhs = encodeScsiCommand(
      {
        immediate: false,
        final: true,
        read: true,
        write: false,
        attribute: 1,
        lun: 0,
        itt: 77,
        expectedLength: 4,
        cmdSN: 100,
        expStatSN: 0,
        cdb,
      },
      4,
    );
    session.dispatch({ bhs, ahs: null, data: Buffer.alloc(4), dataDigestError: false });
    expect(conn.rejects).toEqual([RejectReason.INVALID_PDU_FIELD]);
    command(101, 4);
    expect(executed).toEqual([4]);
  });
});

describe('Data-Out buffer release', () => {
  /** A WRITE with immediate data to a unit that answers after a tick; `releases` opts in. */
  async function writeOnce(releases: boolean | undefined) {
    const events: string[] = [];
    let seen: Buffer | null = null;
    const lu: LogicalUnit = {
      deviceType: 1,
      releasesDataOut: releases,
      execute: async (t: ScsiTask) => {
        seen = t.dataOut;
        events.push('execute');
        await new Promise((r) => setTimeout(r, 1));
        events.push('answered');
        return { status: ScsiStatus.GOOD };
      },
      nexusAdded() {},
      nexusRemoved() {},
      reset() {},
      close: () => Promise.resolve(),
    };
    class ReleasingConnection extends FakeConnection {
      readonly released: Buffer[] = [];
      override send(header: Buffer): void {
        events.push('send');
        super.send(header);
      }
      releaseData(data: Buffer): void {
        events.push('release');
        this.released.push(data);
      }
    }
    const target: TargetConfig = { name: 'iqn.2024-01.x:t', luns: new Map([[0, lu]]) };
    const queue = new LuQueue();
    const host: SessionHost = {
      logger: silentLogger,
      limits: { commandWindow: 4, maxTransferLength: 1 << 20 },
      queueFor: () => queue,
      targetContext: () => ({ name: target.name, portalGroupTag: 1, luns: () => [0] }),
      unsupportedLun: new UnsupportedLun(),
      sessionsOf: () => [],
      sendTargets: () => [],
      sessionClosed: () => undefined,
      coldReset: () => undefined,
    };
    const conn = new ReleasingConnection();
    const params = { ...defaultParams(DEFAULT_TARGET_OFFER), immediateData: true, initialR2T: false };
    const session = new Session(
      host,
      conn,
      1,
      1,
      params,
      target,
      buildNexus('iqn.2024-01.x:i', 1, target.name, 1),
      100,
    );
    const data = Buffer.alloc(512, 0x5a);
    const bhs = encodeScsiCommand(
      {
        immediate: false,
        final: true,
        read: false,
        write: true,
        attribute: 1,
        lun: 0,
        itt: 1,
        expectedLength: data.length,
        cmdSN: 100,
        expStatSN: 0,
        cdb: Buffer.from([0x0a, 0, 0, 2, 0, 0]),
      },
      data.length,
    );
    session.dispatch({ bhs, ahs: null, data, dataDigestError: false } satisfies Pdu);
    while (!events.includes('send')) await new Promise((r) => setTimeout(r, 1));
    return { events, released: conn.released, data, seen: seen as Buffer | null };
  }

  it('hands the Data-Out back once the unit has answered and the response is sent', async () => {
    const { events, released, data, seen } = await writeOnce(true);
    expect(seen).toBe(data);
    expect(events).toEqual(['execute', 'answered', 'send', 'release']);
    expect(released).toEqual([data]);
  });

  it('keeps it for a unit that does not promise to let it go', async () => {
    const { events, released } = await writeOnce(undefined);
    expect(events).toEqual(['execute', 'answered', 'send']);
    expect(released).toEqual([]);
  });
});
