/**
 * One TCP connection: login, then full feature phase bound to a session. The connection state
 * is a union with one transition point (STYLE habit 4). It owns StatSN and target transfer
 * tags, sends Rejects, answers digest errors by dropping the connection (ERL 0), and pings an
 * idle initiator with NOP-In, dropping it when the ping goes unanswered.
 */
import type { Connection, ConnectionHandler, Pdu } from '../transport/types.js';
import type { VtlError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { opcodeOf } from '../pdu/bhs.js';
import {
  LOGIN_STATUS_NAMES,
  OPCODE_NAMES,
  REJECT_REASON_NAMES,
  RESERVED_TAG,
  RejectReason,
} from '../pdu/constants.js';
import { encodeNopIn, encodeReject } from '../pdu/control.js';
import { LoginStateMachine, type LoginEnvironment } from '../login/login.js';
import type { Session } from './session.js';
import type { SessionConnection } from './types.js';

export interface ConnectionTimers {
  /** Idle time before a NOP-In ping, ms; 0 disables pings. */
  readonly nopInterval: number;
  /** Time an unanswered ping may wait before the connection is dropped, ms. */
  readonly nopTimeout: number;
  /** Time allowed from accept to full feature phase, ms. */
  readonly loginTimeout: number;
}

export interface ConnectionOwner {
  readonly logger: Logger;
  readonly timers: ConnectionTimers;
  loginEnvironment(conn: IscsiConnection): LoginEnvironment;
  connectionClosed(conn: IscsiConnection): void;
}

type ConnectionState =
  | { readonly phase: 'login'; readonly login: LoginStateMachine }
  | { readonly phase: 'full'; readonly session: Session }
  | { readonly phase: 'closed' };

export class IscsiConnection implements ConnectionHandler, SessionConnection {
  private state: ConnectionState;
  private statSN = 0;
  private tag = 0;
  private pausedForDrain = false;
  private lastReceive = performance.now();
  private ping: { ttt: number; sentAt: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly logger: Logger;
  cid = 0;
  maxSendSegment = 8192;

  constructor(
    readonly transport: Connection,
    private readonly owner: ConnectionOwner,
  ) {
    this.logger = owner.logger.child({
      conn: transport.id,
      remote: `${transport.remoteAddress}:${transport.remotePort}`,
    });
    this.state = { phase: 'login', login: new LoginStateMachine(owner.loginEnvironment(this)) };
    transport.setHandler(this);
    this.timer = setTimeout(() => this.loginExpired(), owner.timers.loginTimeout);
    this.timer.unref();
  }

  get localAddress(): string {
    return this.transport.localAddress;
  }

  get session(): Session | null {
    return this.state.phase === 'full' ? this.state.session : null;
  }

  get closed(): boolean {
    return this.state.phase === 'closed';
  }

  /** Called by the login environment when `admit` binds this connection to a session. */
  attach(session: Session): void {
    this.state = { phase: 'full', session };
  }

  onPdus(batch: readonly Pdu[]): void {
    this.lastReceive = performance.now();
    for (const pdu of batch) {
      const state = this.state;
      if (state.phase === 'closed') return;
      try {
        if (state.phase === 'login') this.onLoginPdu(state.login, pdu);
        else this.onSessionPdu(state.session, pdu);
      } catch (err) {
        // A bug of ours must not take the process down; the initiator will log in again.
        this.logger.error('internal error handling a PDU', { err, opcode: OPCODE_NAMES[opcodeOf(pdu.bhs)] });
        this.transport.destroy();
        return;
      }
    }
  }

  private onLoginPdu(login: LoginStateMachine, pdu: Pdu): void {
    const step = login.handle(pdu);
    this.transport.send(step.header, step.data);
    if (step.kind === 'failed') {
      this.logger.warn('login rejected', {
        status: LOGIN_STATUS_NAMES[step.status],
        reason: step.reason,
        initiator: login.initiatorName || undefined,
      });
      this.state = { phase: 'closed' };
      this.transport.end();
      return;
    }
    if (step.kind !== 'complete') return;
    const { params } = step.result;
    this.cid = step.result.cid;
    this.statSN = step.result.statSN;
    this.maxSendSegment = params.initiatorMaxRecvDataSegmentLength;
    // The final Login Response went out without digests; everything after uses them.
    this.transport.setDigests(params.headerDigest, params.dataDigest);
    this.transport.setMaxRecvDataSegmentLength(params.targetMaxRecvDataSegmentLength);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.startPings();
    this.logger.info('login accepted', {
      initiator: params.initiatorName,
      target: params.targetName || undefined,
      sessionType: params.sessionType,
      tsih: this.session?.tsih,
      headerDigest: params.headerDigest,
      dataDigest: params.dataDigest,
      maxRecvDataSegmentLength: params.initiatorMaxRecvDataSegmentLength,
      maxBurstLength: params.maxBurstLength,
      firstBurstLength: params.firstBurstLength,
      immediateData: params.immediateData,
      initialR2T: params.initialR2T,
    });
  }

  private onSessionPdu(session: Session, pdu: Pdu): void {
    if (pdu.dataDigestError) {
      // RFC 7143 7.8 at ERL 0: Reject the PDU, then the connection (and session) is lost.
      this.reject(RejectReason.DATA_DIGEST_ERROR, pdu.bhs, 'data digest mismatch');
      this.drop('data digest error');
      return;
    }
    session.dispatch(pdu);
  }

  send(header: Buffer, data?: Buffer | null): void {
    if (this.state.phase === 'closed') return;
    if (!this.transport.send(header, data) && !this.pausedForDrain) {
      // Receive backpressure while the peer is not reading what we send.
      this.pausedForDrain = true;
      this.transport.pause();
    }
  }

  releaseData(data: Buffer): void {
    this.transport.releaseData?.(data);
  }

  nextStatSN(): number {
    const v = this.statSN;
    this.statSN = (v + 1) >>> 0;
    return v;
  }

  peekStatSN(): number {
    return this.statSN;
  }

  allocateTag(): number {
    this.tag = (this.tag + 1) >>> 0;
    if (this.tag === RESERVED_TAG) this.tag = 1;
    return this.tag;
  }

  reject(reason: number, bhs: Buffer, detail: string): void {
    this.logger.warn('protocol error', {
      reject: REJECT_REASON_NAMES[reason] ?? reason,
      opcode: OPCODE_NAMES[opcodeOf(bhs)],
      detail,
    });
    const session = this.session;
    const header = encodeReject(
      {
        reason,
        statSN: this.nextStatSN(),
        expCmdSN: session?.expCmdSN ?? 0,
        maxCmdSN: session?.maxCmdSN ?? 0,
        dataSN: 0,
      },
      48,
    );
    this.send(header, Buffer.from(bhs.subarray(0, 48)));
  }

  end(): void {
    this.stopTimer();
    this.transport.end();
  }

  destroy(): void {
    this.stopTimer();
    this.transport.destroy();
  }

  /** Drops the connection after queued PDUs are flushed; the session ends with it. */
  drop(reason: string): void {
    const session = this.session;
    if (session && session.conn === this) session.close(reason);
    this.state = { phase: 'closed' };
    this.end();
  }

  onError(err: VtlError): void {
    this.logger.warn('connection error', { err });
  }

  onClose(): void {
    this.stopTimer();
    const session = this.session;
    this.state = { phase: 'closed' };
    if (session && session.conn === this) session.close('connection closed');
    this.owner.connectionClosed(this);
  }

  onDrain(): void {
    if (!this.pausedForDrain) return;
    this.pausedForDrain = false;
    this.transport.resume();
  }

  private loginExpired(): void {
    if (this.state.phase !== 'login') return;
    this.logger.warn('login timed out');
    this.state = { phase: 'closed' };
    this.transport.destroy();
  }

  private startPings(): void {
    const { nopInterval, nopTimeout } = this.owner.timers;
    if (nopInterval <= 0) return;
    const period = Math.max(10, Math.min(nopInterval, nopTimeout) / 2);
    this.timer = setInterval(() => this.tick(nopInterval, nopTimeout), period);
    this.timer.unref();
  }

  /** RFC 7143 11.19: a NOP-In with a TTT asks the initiator to answer with a NOP-Out. */
  private tick(interval: number, timeout: number): void {
    const session = this.session;
    if (!session) return;
    const now = performance.now();
    if (this.ping) {
      if (this.lastReceive >= this.ping.sentAt) this.ping = null;
      else if (now - this.ping.sentAt >= timeout) {
        this.logger.warn('NOP-In ping unanswered, dropping the connection', {
          waitedMs: Math.round(now - this.ping.sentAt),
        });
        this.ping = null;
        session.close('ping timeout');
        this.state = { phase: 'closed' };
        this.destroy();
        return;
      }
    }
    if (!this.ping && now - this.lastReceive >= interval) {
      const ttt = this.allocateTag();
      this.ping = { ttt, sentAt: now };
      // The StatSN of a NOP-In with ITT 0xffffffff is not advanced (RFC 7143 11.19.4).
      this.send(
        encodeNopIn(
          {
            lun: 0,
            itt: RESERVED_TAG,
            ttt,
            statSN: this.statSN,
            expCmdSN: session.expCmdSN,
            maxCmdSN: session.maxCmdSN,
          },
          0,
        ),
      );
    }
  }

  private stopTimer(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      clearInterval(this.timer);
    }
    this.timer = null;
  }
}
