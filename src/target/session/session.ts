/**
 * A session in full feature phase (RFC 7143 4.2, ERL 0): the CmdSN window, the task table, SCSI
 * commands and their Data-Out/R2T exchange, completion, NOP and Logout. Text and task
 * management live in text.ts and tmf.ts. Every PDU goes through a header stage (opcode, fields,
 * CmdSN window) before its payload is used (STYLE habit 4).
 */
import type { Pdu } from '../transport/types.js';
import type { LogicalUnit, Nexus, ScsiResponse, ScsiTask, TaskAttribute } from '../scsi/types.js';
import { ScsiStatus } from '../scsi/types.js';
import { SENSE, SenseError, encodeSense } from '../scsi/sense.js';
import { isImmediate, opcodeOf, serial } from '../pdu/bhs.js';
import {
  AsyncEvent,
  LogoutReason,
  LogoutResponse,
  OPCODE_NAMES,
  Opcode,
  RESERVED_TAG,
  RejectReason,
} from '../pdu/constants.js';
import { decodeDataOut } from '../pdu/data.js';
import {
  decodeLogoutRequest,
  decodeNopOut,
  encodeAsyncMessage,
  encodeLogoutResponse,
  encodeNopIn,
} from '../pdu/control.js';
import { AhsError, decodeScsiCommand, type ScsiCommand } from '../pdu/scsi.js';
import { encodeR2T } from '../pdu/data.js';
import type { SessionParams } from '../login/params.js';
import { completionPdus, type CompletedTask } from './data-in.js';
import { DataOutError, Task, type R2TRequest, type WriteLimits } from './task.js';
import { handleText, type TextExchange } from './text.js';
import { handleTmf } from './tmf.js';
import type { SessionConnection, SessionHost, TargetConfig } from './types.js';

const ATTRIBUTES: readonly TaskAttribute[] = ['untagged', 'simple', 'ordered', 'head-of-queue', 'aca'];

/** ITTs whose remaining Data-Out is dropped silently after their task ended early. */
const MAX_DISCARDING = 256;

export class Session {
  readonly tasks = new Map<number, Task>();
  expCmdSN: number;
  private maxCmdSNValue: number;
  private readonly deferred = new Map<number, () => void>();
  private readonly discarding = new Set<number>();
  /** CmdSNs an ABORT TASK named before the command arrived (RFC 7143 11.5.1). */
  readonly abortedCmdSNs = new Set<number>();
  private readonly writeLimits: WriteLimits;
  textExchange: TextExchange | null = null;
  closed = false;

  constructor(
    readonly host: SessionHost,
    public conn: SessionConnection,
    readonly tsih: number,
    readonly isid: number,
    readonly params: SessionParams,
    readonly target: TargetConfig | null,
    readonly nexus: Nexus | null,
    cmdSN: number,
  ) {
    this.expCmdSN = cmdSN;
    this.maxCmdSNValue = serial.add(cmdSN, host.limits.commandWindow - 1);
    this.writeLimits = {
      firstBurstLength: params.firstBurstLength,
      maxBurstLength: params.maxBurstLength,
      maxOutstandingR2T: params.maxOutstandingR2T,
      initialR2T: params.initialR2T,
    };
  }

  get initiatorName(): string {
    return this.params.initiatorName;
  }

  get isDiscovery(): boolean {
    return this.params.sessionType === 'Discovery';
  }

  /** MaxCmdSN never shrinks; it opens as tasks complete (RFC 7143 4.2.2.1). */
  get maxCmdSN(): number {
    const open = Math.max(0, this.host.limits.commandWindow - this.tasks.size);
    const candidate = serial.add(this.expCmdSN, open - 1);
    if (serial.gt(candidate, this.maxCmdSNValue)) this.maxCmdSNValue = candidate;
    return this.maxCmdSNValue;
  }

  dispatch(pdu: Pdu): void {
    if (this.closed) return;
    const opcode = opcodeOf(pdu.bhs);
    switch (opcode) {
      case Opcode.SCSI_COMMAND:
        return this.onScsiCommand(pdu);
      case Opcode.DATA_OUT:
        return this.onDataOut(pdu);
      case Opcode.NOP_OUT:
        return this.onNopOut(pdu);
      case Opcode.TEXT_REQUEST:
        return this.ordered(pdu, () => handleText(this, pdu));
      case Opcode.TASK_MANAGEMENT_REQUEST:
        return this.ordered(pdu, () => handleTmf(this, pdu));
      case Opcode.LOGOUT_REQUEST:
        return this.ordered(pdu, () => this.onLogout(pdu));
      case Opcode.LOGIN_REQUEST:
        // RFC 7143 6.3: a Login Request in full feature phase is a protocol error.
        return this.conn.reject(RejectReason.PROTOCOL_ERROR, pdu.bhs, 'Login Request in full feature phase');
      default:
        // SNACK needs ERL >= 1; anything else is not an initiator opcode.
        return this.conn.reject(
          RejectReason.COMMAND_NOT_SUPPORTED,
          pdu.bhs,
          `opcode ${OPCODE_NAMES[opcode] ?? `0x${opcode.toString(16)}`}`,
        );
    }
  }

  /**
   * Header stage for PDUs that carry a CmdSN (RFC 7143 4.2.2.1): immediate ones run now,
   * the next in sequence runs and releases any held behind it, later ones in the window wait,
   * and anything outside the window is dropped silently.
   */
  ordered(pdu: Pdu, run: () => void): void {
    const cmdSN = pdu.bhs.readUInt32BE(24);
    if (isImmediate(pdu.bhs)) return run();
    if (!this.accept(cmdSN, run)) {
      this.host.logger.debug('command outside the CmdSN window dropped', {
        cmdSN,
        expCmdSN: this.expCmdSN,
        maxCmdSN: this.maxCmdSN,
        opcode: OPCODE_NAMES[opcodeOf(pdu.bhs)],
      });
    }
  }

  private accept(cmdSN: number, run: () => void): boolean {
    if (cmdSN === this.expCmdSN) {
      this.expCmdSN = serial.add(this.expCmdSN, 1);
      run();
      for (
        let next = this.deferred.get(this.expCmdSN);
        next && !this.closed;
        next = this.deferred.get(this.expCmdSN)
      ) {
        this.deferred.delete(this.expCmdSN);
        this.expCmdSN = serial.add(this.expCmdSN, 1);
        next();
      }
      return true;
    }
    if (serial.inWindow(cmdSN, this.expCmdSN, this.maxCmdSN) && !this.deferred.has(cmdSN)) {
      this.deferred.set(cmdSN, run);
      return true;
    }
    return false;
  }

  private onScsiCommand(pdu: Pdu): void {
    let cmd: ScsiCommand;
    try {
      cmd = decodeScsiCommand(pdu.bhs, pdu.ahs);
    } catch (err) {
      if (err instanceof AhsError)
        return this.conn.reject(RejectReason.INVALID_PDU_FIELD, pdu.bhs, err.message);
      throw err;
    }
    const rejectAndConsume = (reason: number, detail: string): void => {
      this.conn.reject(reason, pdu.bhs, detail);
      // A rejected command still uses up its CmdSN (RFC 7143 11.17.1).
      if (!cmd.immediate) this.accept(cmd.cmdSN, () => undefined);
    };
    // RFC 7143 4.3: a discovery session carries Text and Logout only.
    if (this.isDiscovery)
      return rejectAndConsume(RejectReason.PROTOCOL_ERROR, 'SCSI command in a discovery session');
    if (cmd.read && cmd.write)
      return rejectAndConsume(RejectReason.COMMAND_NOT_SUPPORTED, 'bidirectional commands are not supported');
    const dataLength = pdu.data ? pdu.data.length : 0;
    if (dataLength > 0 && !cmd.write)
      return rejectAndConsume(RejectReason.INVALID_PDU_FIELD, 'immediate data on a command without W');
    if (dataLength > 0 && !this.params.immediateData)
      return rejectAndConsume(RejectReason.PROTOCOL_ERROR, 'immediate data with ImmediateData=No');
    if (dataLength > cmd.expectedLength)
      return rejectAndConsume(RejectReason.INVALID_PDU_FIELD, 'immediate data beyond the expected length');
    if (this.tasks.has(cmd.itt))
      return rejectAndConsume(RejectReason.TASK_IN_PROGRESS, `ITT 0x${cmd.itt.toString(16)} in use`);
    if (
      !cmd.immediate &&
      (!serial.inWindow(cmd.cmdSN, this.expCmdSN, this.maxCmdSN) || this.deferred.has(cmd.cmdSN))
    ) {
      this.host.logger.debug('command outside the CmdSN window dropped', {
        cmdSN: cmd.cmdSN,
        expCmdSN: this.expCmdSN,
      });
      return;
    }
    this.discarding.delete(cmd.itt);
    if (cmd.write && cmd.expectedLength > this.host.limits.maxTransferLength) {
      // Chosen answer for an oversized write: CHECK CONDITION, ILLEGAL REQUEST, INVALID FIELD
      // IN CDB (the transfer length is a CDB field), without soliciting any data.
      this.discard(cmd.itt);
      const sense = encodeSense(SENSE.INVALID_FIELD_IN_CDB);
      return this.ordered(pdu, () =>
        this.sendCompletion(this.syntheticTask(cmd), { status: ScsiStatus.CHECK_CONDITION, sense }),
      );
    }
    const lu = this.target!.luns.get(cmd.lun) ?? null;
    const task = new Task(
      cmd.itt,
      cmd.lun,
      cmd.cmdSN,
      cmd.cdb,
      cmd.expectedLength,
      cmd.write,
      cmd.read,
      cmd.attribute,
      lu,
    );
    this.tasks.set(task.itt, task);
    if (cmd.write && cmd.expectedLength > 0) {
      try {
        this.sendR2Ts(
          task,
          task.startWrite(pdu.data, cmd.final, this.writeLimits, () => this.conn.allocateTag()),
        );
      } catch (err) {
        if (!(err instanceof DataOutError)) throw err;
        this.tasks.delete(task.itt);
        return rejectAndConsume(RejectReason.PROTOCOL_ERROR, err.message);
      }
    } else {
      task.state = 'ready';
    }
    this.ordered(pdu, () => this.enqueue(task, cmd));
  }

  private enqueue(task: Task, cmd: ScsiCommand): void {
    if (this.tasks.get(task.itt) !== task) return;
    if (this.abortedCmdSNs.delete(cmd.cmdSN)) {
      // ABORT TASK named this command before it arrived: it is discarded, no response.
      this.forget(task);
      return;
    }
    const lu = task.lu ?? this.host.unsupportedLun;
    this.host.queueFor(lu).push({ task, run: () => this.execute(task, lu, cmd) });
  }

  private execute(task: Task, lu: LogicalUnit, cmd: ScsiCommand): void | Promise<void> {
    const scsiTask: ScsiTask = {
      cdb: task.cdb,
      lun: task.lun,
      nexus: this.nexus!,
      target: this.host.targetContext(this.target!),
      expectedLength: task.expectedLength,
      dataOut: task.dataOut(),
      taskTag: task.itt,
      attribute: ATTRIBUTES[cmd.attribute] ?? 'simple',
      get signal(): AbortSignal {
        return task.signal;
      },
    };
    let result: ScsiResponse | Promise<ScsiResponse>;
    try {
      result = lu.execute(scsiTask);
    } catch (err) {
      return this.settled(task, lu, this.failure(err));
    }
    if (result instanceof Promise) {
      return result.then(
        (r) => this.settled(task, lu, r),
        (err: unknown) => this.settled(task, lu, this.failure(err)),
      );
    }
    this.settled(task, lu, result);
  }

  /**
   * The logical unit has answered: complete the task, then give large Data-Out buffers back to
   * the transport for reuse when the unit keeps nothing of them (`send` has copied or written
   * whatever the response referenced by then).
   */
  private settled(task: Task, lu: LogicalUnit, response: ScsiResponse): void {
    this.complete(task, response);
    if (task.write && lu.releasesDataOut === true) {
      const conn = this.conn;
      if (conn.releaseData) task.releaseDataOut((data) => conn.releaseData!(data));
    }
  }

  private failure(err: unknown): ScsiResponse {
    if (err instanceof SenseError) {
      return { status: ScsiStatus.CHECK_CONDITION, sense: encodeSense(err.sense, err.options) };
    }
    this.host.logger.error('logical unit failed', { err });
    return { status: ScsiStatus.CHECK_CONDITION, sense: encodeSense(SENSE.INTERNAL_TARGET_FAILURE) };
  }

  private complete(task: Task, response: ScsiResponse): void {
    task.state = 'done';
    if (task.aborted || this.closed || this.tasks.get(task.itt) !== task) return;
    this.tasks.delete(task.itt);
    this.sendCompletion(task, response);
  }

  sendCompletion(task: CompletedTask, response: ScsiResponse): void {
    const conn = this.conn;
    const pdus = completionPdus(task, response, {
      maxSegment: conn.maxSendSegment,
      maxBurst: this.params.maxBurstLength,
      nextStatSN: () => conn.nextStatSN(),
      expCmdSN: this.expCmdSN,
      maxCmdSN: this.maxCmdSN,
    });
    for (const p of pdus) conn.send(p.header, p.data);
  }

  private syntheticTask(cmd: ScsiCommand): CompletedTask {
    return {
      itt: cmd.itt,
      lun: cmd.lun,
      expectedLength: cmd.expectedLength,
      read: cmd.read,
      write: cmd.write,
      dataSNCount: 0,
    };
  }

  private sendR2Ts(task: Task, r2ts: readonly R2TRequest[]): void {
    for (const r of r2ts) {
      this.conn.send(
        encodeR2T({
          lun: task.lun,
          itt: task.itt,
          ttt: r.ttt,
          statSN: this.conn.peekStatSN(),
          expCmdSN: this.expCmdSN,
          maxCmdSN: this.maxCmdSN,
          r2tSN: r.r2tSN,
          bufferOffset: r.offset,
          desiredLength: r.length,
        }),
      );
    }
  }

  private onDataOut(pdu: Pdu): void {
    const h = decodeDataOut(pdu.bhs);
    const task = this.tasks.get(h.itt);
    if (!task || !task.write || task.state !== 'collecting') {
      if (this.discarding.has(h.itt)) return;
      return this.conn.reject(
        RejectReason.INVALID_PDU_FIELD,
        pdu.bhs,
        `Data-Out for unknown ITT 0x${h.itt.toString(16)}`,
      );
    }
    try {
      this.sendR2Ts(
        task,
        task.acceptDataOut(h, pdu.data, this.writeLimits, () => this.conn.allocateTag()),
      );
    } catch (err) {
      if (!(err instanceof DataOutError)) throw err;
      // ERL 0 cannot re-request the data: reject the PDU and end the task with DATA PHASE ERROR.
      this.conn.reject(RejectReason.INVALID_PDU_FIELD, pdu.bhs, err.message);
      // Out of the LU's task set too, or it would hold back every task behind it.
      void this.abortTask(task, false);
      this.sendCompletion(task, {
        status: ScsiStatus.CHECK_CONDITION,
        sense: encodeSense(SENSE.DATA_PHASE_ERROR),
      });
      return;
    }
    if ((task.state as Task['state']) === 'ready')
      this.host.queueFor(task.lu ?? this.host.unsupportedLun).kick();
  }

  /** Drops a task from the table; its remaining Data-Out, if any, is discarded silently. */
  forget(task: Task): void {
    if (this.tasks.get(task.itt) === task) this.tasks.delete(task.itt);
    if (task.write && task.missing > 0) this.discard(task.itt);
  }

  private discard(itt: number): void {
    if (this.discarding.size >= MAX_DISCARDING)
      this.discarding.delete(this.discarding.values().next().value!);
    this.discarding.add(itt);
  }

  /**
   * Aborts a task for task management. `reportStatus` sends TASK ABORTED (another nexus's
   * task, TAS=1 behaviour); otherwise no response is sent. Resolves once the logical unit no
   * longer runs it.
   */
  abortTask(task: Task, reportStatus: boolean): Promise<void> | null {
    task.markAborted();
    this.forget(task);
    if (reportStatus && !this.closed) this.sendCompletion(task, { status: ScsiStatus.TASK_ABORTED });
    if (task.state === 'done') return null;
    return this.host.queueFor(task.lu ?? this.host.unsupportedLun).remove(task);
  }

  private onNopOut(pdu: Pdu): void {
    const h = decodeNopOut(pdu.bhs);
    // RFC 7143 11.18: ITT 0xffffffff is an answer to our ping or an ExpStatSN update: no reply.
    if (h.itt === RESERVED_TAG) return;
    const reply = (): void => {
      const data = pdu.data && pdu.data.length > 0 ? pdu.data.subarray(0, this.conn.maxSendSegment) : null;
      this.conn.send(
        encodeNopIn(
          {
            lun: h.lun < 0 ? 0 : h.lun,
            itt: h.itt,
            ttt: RESERVED_TAG,
            statSN: this.conn.nextStatSN(),
            expCmdSN: this.expCmdSN,
            maxCmdSN: this.maxCmdSN,
          },
          data ? data.length : 0,
        ),
        data,
      );
    };
    this.ordered(pdu, reply);
  }

  private onLogout(pdu: Pdu): void {
    const h = decodeLogoutRequest(pdu.bhs);
    let response: number = LogoutResponse.SUCCESS;
    if (h.reason === LogoutReason.REMOVE_FOR_RECOVERY) response = LogoutResponse.RECOVERY_NOT_SUPPORTED;
    else if (h.reason === LogoutReason.CLOSE_CONNECTION && h.cid !== this.conn.cid)
      response = LogoutResponse.CID_NOT_FOUND;
    else if (h.reason !== LogoutReason.CLOSE_SESSION && h.reason !== LogoutReason.CLOSE_CONNECTION) {
      return this.conn.reject(RejectReason.INVALID_PDU_FIELD, pdu.bhs, `logout reason ${h.reason}`);
    }
    this.conn.send(
      encodeLogoutResponse({
        response,
        itt: h.itt,
        statSN: this.conn.nextStatSN(),
        expCmdSN: this.expCmdSN,
        maxCmdSN: this.maxCmdSN,
        time2Wait: this.params.defaultTime2Wait,
        time2Retain: this.params.defaultTime2Retain,
      }),
    );
    if (response !== LogoutResponse.SUCCESS) return;
    // With one connection per session, closing the connection closes the session too.
    this.close('logout');
    this.conn.end();
  }

  /**
   * Asks the initiator to log out within `seconds` (RFC 7143 11.9.1 AsyncEvent 1; Parameter3
   * is the time to logout), e.g. because the target is shutting down.
   */
  requestLogout(seconds: number): void {
    if (this.closed) return;
    const conn = this.conn;
    const header = encodeAsyncMessage(
      {
        lun: 0,
        statSN: conn.nextStatSN(),
        expCmdSN: this.expCmdSN,
        maxCmdSN: this.maxCmdSN,
        event: AsyncEvent.LOGOUT_REQUESTED,
        vendorCode: 0,
        parameter1: 0,
        parameter2: 0,
        parameter3: Math.min(0xffff, seconds),
      },
      0,
    );
    conn.send(header);
  }

  /** Ends the session: tasks aborted silently, nexus removed (ERL 0, no task retention). */
  close(reason: string): void {
    if (this.closed) return;
    for (const task of [...this.tasks.values()]) void this.abortTask(task, false);
    this.closed = true;
    this.deferred.clear();
    this.host.sessionClosed(this, reason);
  }
}
