/**
 * What a session needs from its connection and from the target that owns it. Kept as
 * interfaces so the session logic is testable without sockets.
 */
import type { Logger } from '../../util/log.js';
import type { ChapCredentials } from '../login/chap.js';
import type { LogicalUnit, TargetContext } from '../scsi/types.js';
import type { TextPair } from '../pdu/text-pairs.js';
import type { LuQueue } from './lu-queue.js';
import type { Session } from './session.js';

/** One iSCSI target node: its name, logical units and access rules. */
export interface TargetConfig {
  readonly name: string;
  readonly alias?: string;
  readonly luns: ReadonlyMap<number, LogicalUnit>;
  readonly chap?: ChapCredentials;
  /** IQNs allowed to log in (and to see the target in SendTargets); absent = everyone. */
  readonly allowedInitiators?: readonly string[];
}

export interface SessionConnection {
  /** The connection ID from the login (RFC 7143 11.12.6). */
  readonly cid: number;
  /** Our address on this connection (SendTargets answers with it when bound to a wildcard). */
  readonly localAddress: string;
  /** The initiator's MaxRecvDataSegmentLength: no PDU we send carries more data. */
  readonly maxSendSegment: number;
  send(header: Buffer, data?: Buffer | null): void;
  /** Optional: a received data segment is no longer used; its memory may be reused. */
  releaseData?(data: Buffer): void;
  /** Takes the next StatSN for a status-bearing PDU. */
  nextStatSN(): number;
  /** The StatSN the next status will carry, for PDUs that do not advance it (R2T, NOP-In ping). */
  peekStatSN(): number;
  /** A fresh Target Transfer Tag (never 0xffffffff). */
  allocateTag(): number;
  /** Sends a Reject carrying the offending header (RFC 7143 11.17). */
  reject(reason: number, bhs: Buffer, detail: string): void;
  /** Flushes what is queued, then closes. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}

export interface SessionLimits {
  /** CmdSN window: commands the initiator may have outstanding. */
  readonly commandWindow: number;
  /** Largest Expected Data Transfer Length accepted for a write. */
  readonly maxTransferLength: number;
}

export interface SessionHost {
  readonly logger: Logger;
  readonly limits: SessionLimits;
  queueFor(lu: LogicalUnit): LuQueue;
  targetContext(target: TargetConfig): TargetContext;
  /** Answers for a LUN with no device (SPC-4 6.6.2 qualifier 011b). */
  readonly unsupportedLun: LogicalUnit;
  /** Open sessions logged in to a target (task management across nexuses). */
  sessionsOf(targetName: string): readonly Session[];
  /** SendTargets answer for this session (RFC 7143 Appendix C). */
  sendTargets(session: Session, value: string, localAddress: string): TextPair[];
  /** The session ended: forget it and remove its nexus. */
  sessionClosed(session: Session, reason: string): void;
  /** TARGET COLD RESET: drop every session of the target once the response is out. */
  coldReset(targetName: string): void;
}
