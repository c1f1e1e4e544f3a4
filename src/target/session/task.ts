/**
 * One SCSI task as the iSCSI layer sees it: its command fields and, for writes, the Data-Out
 * sequencing state (RFC 7143 4.2.5.1-4.2.5.2, 11.7, 11.8): immediate data, the unsolicited
 * burst up to FirstBurstLength, and R2T sequences of at most MaxBurstLength with at most
 * MaxOutstandingR2T in flight. DataPDUInOrder and DataSequenceInOrder are always Yes here, so
 * every Data-Out must carry exactly the next offset.
 */
import type { LogicalUnit } from '../scsi/types.js';
import { RESERVED_TAG } from '../pdu/constants.js';
import type { DataOut } from '../pdu/data.js';

export type TaskState = 'collecting' | 'ready' | 'running' | 'done';

/** An R2T we sent and whose data has not all arrived. */
export interface OutstandingR2T {
  readonly ttt: number;
  readonly r2tSN: number;
  readonly offset: number;
  readonly length: number;
  received: number;
  nextDataSN: number;
}

/** A Data-Out the task refuses: the reason is logged, the PDU answered with Reject 0x09. */
export class DataOutError extends Error {}

export interface WriteLimits {
  readonly firstBurstLength: number;
  readonly maxBurstLength: number;
  readonly maxOutstandingR2T: number;
  readonly initialR2T: boolean;
}

export interface R2TRequest {
  readonly ttt: number;
  readonly r2tSN: number;
  readonly offset: number;
  readonly length: number;
}

export class Task {
  state: TaskState = 'collecting';
  /** Created on first use: most tasks never look at their signal (an AbortController per command costs). */
  private controller: AbortController | null = null;
  /** Set when task management aborted it: no response is sent for it (SAM-5 5.6, TAS=0). */
  aborted = false;
  /** Data-In and R2T PDUs sent so far: the ExpDataSN of the final response (RFC 7143 11.4.8). */
  dataSNCount = 0;
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private unsolicitedOpen = false;
  private unsolicitedDataSN = 0;
  private solicitedUpTo = 0;
  private r2tSN = 0;
  private readonly r2ts: OutstandingR2T[] = [];

  constructor(
    readonly itt: number,
    readonly lun: number,
    readonly cmdSN: number,
    readonly cdb: Buffer,
    readonly expectedLength: number,
    readonly write: boolean,
    readonly read: boolean,
    readonly attribute: number,
    readonly lu: LogicalUnit | null,
  ) {}

  /** Aborted by task management; a long-running logical unit may watch it. */
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.aborted && !this.controller.signal.aborted) this.controller.abort();
    return this.controller.signal;
  }

  /** Marks the task aborted (SAM-5 5.6) and fires its signal if anyone holds it. */
  markAborted(): void {
    this.aborted = true;
    this.controller?.abort();
  }

  /** Bytes still to come from the initiator. */
  get missing(): number {
    return this.write ? this.expectedLength - this.received : 0;
  }

  /** The Data-Out buffer once complete: the single PDU's data when it came in one (no copy). */
  dataOut(): Buffer | null {
    if (!this.write || this.expectedLength === 0) return null;
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.received);
  }

  /**
   * Hands every Data-Out segment to `release` and forgets them: for a logical unit that keeps
   * nothing of its Data-Out once it has answered (LogicalUnit.releasesDataOut).
   */
  releaseDataOut(release: (data: Buffer) => void): void {
    for (const chunk of this.chunks) release(chunk);
    this.chunks.length = 0;
  }

  /**
   * Starts write data collection from the command PDU (RFC 7143 4.2.5.1): immediate data,
   * then an unsolicited burst unless F was set or InitialR2T=Yes. Returns the R2Ts to send now.
   */
  startWrite(
    immediate: Buffer | null,
    final: boolean,
    limits: WriteLimits,
    allocateTag: () => number,
  ): R2TRequest[] {
    const unsolicitedLimit = Math.min(limits.firstBurstLength, this.expectedLength);
    if (immediate && immediate.length > 0) {
      if (immediate.length > unsolicitedLimit)
        throw new DataOutError(`immediate data ${immediate.length} exceeds ${unsolicitedLimit}`);
      this.chunks.push(immediate);
      this.received = immediate.length;
    }
    this.unsolicitedOpen = !final && !limits.initialR2T && this.received < unsolicitedLimit;
    if (!final && limits.initialR2T) throw new DataOutError('F=0 on a command while InitialR2T=Yes');
    // R2Ts cover what follows the unsolicited data; with DataSequenceInOrder=Yes they are
    // issued once the unsolicited burst is over (RFC 7143 4.2.5.2).
    this.solicitedUpTo = this.received;
    this.updateState();
    return this.moreR2Ts(limits, allocateTag);
  }

  /**
   * Header stage of a Data-Out for this task: TTT, DataSN, offset and length must be exactly
   * what comes next. Returns the R2Ts to send after accepting it.
   */
  acceptDataOut(
    h: DataOut,
    data: Buffer | null,
    limits: WriteLimits,
    allocateTag: () => number,
  ): R2TRequest[] {
    if (this.state !== 'collecting') throw new DataOutError('Data-Out for a task that expects no more data');
    const length = data ? data.length : 0;
    if (h.ttt === RESERVED_TAG) {
      if (!this.unsolicitedOpen) throw new DataOutError('unsolicited Data-Out not expected');
      if (h.dataSN !== this.unsolicitedDataSN)
        throw new DataOutError(`DataSN ${h.dataSN}, expected ${this.unsolicitedDataSN}`);
      if (h.bufferOffset !== this.received)
        throw new DataOutError(`offset ${h.bufferOffset}, expected ${this.received}`);
      const limit = Math.min(limits.firstBurstLength, this.expectedLength);
      if (this.received + length > limit)
        throw new DataOutError(`unsolicited data beyond FirstBurstLength ${limit}`);
      if (h.final !== (this.received + length === limit)) {
        // The initiator may end the unsolicited burst early with F=1; the rest is solicited.
        if (!h.final) throw new DataOutError('unsolicited burst complete without F bit');
      }
      this.unsolicitedDataSN++;
      this.take(data);
      if (h.final) {
        this.unsolicitedOpen = false;
        this.solicitedUpTo = this.received;
      }
    } else {
      const r2t = this.r2ts.find((r) => r.ttt === h.ttt);
      if (!r2t) throw new DataOutError(`no outstanding R2T with TTT 0x${h.ttt.toString(16)}`);
      if (h.dataSN !== r2t.nextDataSN)
        throw new DataOutError(`DataSN ${h.dataSN}, expected ${r2t.nextDataSN}`);
      const expectedOffset = r2t.offset + r2t.received;
      if (h.bufferOffset !== expectedOffset || h.bufferOffset !== this.received) {
        throw new DataOutError(`offset ${h.bufferOffset}, expected ${expectedOffset}`);
      }
      if (r2t.received + length > r2t.length)
        throw new DataOutError('Data-Out beyond the R2T desired length');
      const complete = r2t.received + length === r2t.length;
      if (h.final !== complete)
        throw new DataOutError(
          complete ? 'R2T sequence complete without F bit' : 'F bit before the R2T sequence ended',
        );
      r2t.received += length;
      r2t.nextDataSN++;
      this.take(data);
      if (complete) this.r2ts.splice(this.r2ts.indexOf(r2t), 1);
    }
    this.updateState();
    return this.moreR2Ts(limits, allocateTag);
  }

  private take(data: Buffer | null): void {
    if (!data || data.length === 0) return;
    this.chunks.push(data);
    this.received += data.length;
  }

  private updateState(): void {
    if (this.state === 'collecting' && this.received === this.expectedLength && !this.unsolicitedOpen)
      this.state = 'ready';
  }

  private moreR2Ts(limits: WriteLimits, allocateTag: () => number): R2TRequest[] {
    const out: R2TRequest[] = [];
    while (
      this.solicitedUpTo < this.expectedLength &&
      this.r2ts.length < limits.maxOutstandingR2T &&
      !this.unsolicitedOpen
    ) {
      const length = Math.min(limits.maxBurstLength, this.expectedLength - this.solicitedUpTo);
      const r: OutstandingR2T = {
        ttt: allocateTag(),
        r2tSN: this.r2tSN++,
        offset: this.solicitedUpTo,
        length,
        received: 0,
        nextDataSN: 0,
      };
      this.r2ts.push(r);
      this.solicitedUpTo += length;
      this.dataSNCount++;
      out.push(r);
    }
    return out;
  }
}
