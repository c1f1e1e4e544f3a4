/**
 * Turns a logical unit's answer into the PDUs that complete a task (RFC 7143 4.2.5.3, 11.4,
 * 11.7): Data-In split at the initiator's MaxRecvDataSegmentLength and MaxBurstLength, status
 * in the last Data-In (phase collapse, S bit) when there is no sense data, otherwise a SCSI
 * Response carrying the sense; residual overflow/underflow against the expected length.
 */
import { ScsiStatus, type ScsiResponse } from '../scsi/types.js';
import { RESERVED_TAG, ScsiResponseCode } from '../pdu/constants.js';
import { encodeDataIn } from '../pdu/data.js';
import { encodeScsiResponse, encodeSenseSegment } from '../pdu/scsi.js';

export interface OutPdu {
  readonly header: Buffer;
  readonly data: Buffer | null;
}

export interface CompletionContext {
  readonly maxSegment: number;
  readonly maxBurst: number;
  /** Takes the next StatSN (the status-bearing PDU advances it). */
  nextStatSN(): number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
}

export interface CompletedTask {
  readonly itt: number;
  readonly lun: number;
  readonly expectedLength: number;
  readonly read: boolean;
  readonly write: boolean;
  /** Data-In and R2T PDUs already sent for the task; advanced here. */
  dataSNCount: number;
}

interface Residual {
  overflow: boolean;
  underflow: boolean;
  count: number;
}

function residual(expected: number, actual: number): Residual {
  if (actual > expected) return { overflow: true, underflow: false, count: actual - expected };
  if (actual < expected) return { overflow: false, underflow: true, count: expected - actual };
  return { overflow: false, underflow: false, count: 0 };
}

export function completionPdus(
  task: CompletedTask,
  response: ScsiResponse,
  ctx: CompletionContext,
): OutPdu[] {
  const out: OutPdu[] = [];
  const sense = response.sense && response.sense.length > 0 ? response.sense : null;
  let res: Residual = { overflow: false, underflow: false, count: 0 };
  if (task.read) {
    const data = response.data ?? null;
    const available = data ? data.length : 0;
    const send = Math.min(available, task.expectedLength);
    res = residual(task.expectedLength, available);
    // RFC 7143 11.7.4: status may ride on the last Data-In only without sense data.
    const collapse = send > 0 && sense === null;
    let offset = 0;
    while (offset < send) {
      const burstEnd = Math.min(send, offset - (offset % ctx.maxBurst) + ctx.maxBurst);
      const length = Math.min(ctx.maxSegment, burstEnd - offset);
      const last = offset + length === send;
      const withStatus = last && collapse;
      const header = encodeDataIn(
        {
          final: offset + length === burstEnd,
          acknowledge: false,
          overflow: withStatus && res.overflow,
          underflow: withStatus && res.underflow,
          hasStatus: withStatus,
          status: withStatus ? response.status : 0,
          lun: task.lun,
          itt: task.itt,
          ttt: RESERVED_TAG,
          statSN: withStatus ? ctx.nextStatSN() : 0,
          expCmdSN: ctx.expCmdSN,
          maxCmdSN: ctx.maxCmdSN,
          dataSN: task.dataSNCount++,
          bufferOffset: offset,
          residualCount: withStatus ? res.count : 0,
        },
        length,
      );
      out.push({ header, data: data!.subarray(offset, offset + length) });
      offset += length;
    }
    if (collapse) return out;
  } else if (task.write && response.dataOutNeeded !== undefined) {
    res = residual(task.expectedLength, response.dataOutNeeded);
  }
  const senseData = sense ? encodeSenseSegment(sense) : null;
  const header = encodeScsiResponse(
    {
      overflow: res.overflow,
      underflow: res.underflow,
      response: ScsiResponseCode.COMMAND_COMPLETED,
      status: response.status,
      itt: task.itt,
      statSN: ctx.nextStatSN(),
      expCmdSN: ctx.expCmdSN,
      maxCmdSN: ctx.maxCmdSN,
      expDataSN: task.dataSNCount,
      residualCount: res.count,
    },
    senseData ? senseData.length : 0,
  );
  out.push({ header, data: senseData });
  return out;
}

/** A bare status response (aborted, rejected or target-answered tasks). */
export function statusOnly(status: ScsiStatus, sense?: Buffer): ScsiResponse {
  return sense ? { status, sense } : { status };
}

export { ScsiStatus };
