/**
 * Types, errors and small helpers of the test initiator (test/support/initiator.ts), and the
 * PDU reader that frames what the target sends.
 */
import { createHash } from 'node:crypto';
import { BHS_LENGTH, dataSegmentLengthOf, padLength, totalAhsLengthOf } from '../../src/target/pdu/bhs.js';
import type { R2T } from '../../src/target/pdu/data.js';
import type { TextPair } from '../../src/target/pdu/text-pairs.js';

export interface InitiatorChap {
  readonly user: string;
  readonly secret: string;
  /** CHAP_A offer; default [5]. */
  readonly algorithms?: readonly number[];
  /** Challenge the target back (mutual CHAP). */
  readonly mutual?: { readonly user: string; readonly secret: string; readonly challenge?: Buffer };
  /** Encoding of CHAP_R and CHAP_C; default hex. */
  readonly encoding?: 'hex' | 'base64';
}

export interface InitiatorOptions {
  readonly host: string;
  readonly port: number;
  /** Omit for a discovery session. */
  readonly targetName?: string;
  readonly initiatorName?: string;
  readonly isid?: number;
  readonly tsih?: number;
  readonly cid?: number;
  /** First CmdSN (a connection joining a session continues the session's numbering). */
  readonly cmdSN?: number;
  readonly chap?: InitiatorChap;
  readonly headerDigest?: boolean;
  readonly dataDigest?: boolean;
  /** What we receive; default 262144. */
  readonly maxRecvDataSegmentLength?: number;
  readonly initialR2T?: boolean;
  readonly immediateData?: boolean;
  readonly firstBurstLength?: number;
  readonly maxBurstLength?: number;
  readonly maxOutstandingR2T?: number;
  /** Extra operational keys, sent as given. */
  readonly extraKeys?: readonly TextPair[];
  /** Log out when the target asks with an Async Message (default true). */
  readonly answerLogoutRequests?: boolean;
  /** Answer the target's NOP-In pings (default true). */
  readonly answerPings?: boolean;
}

export class LoginError extends Error {
  constructor(
    readonly status: number,
    readonly pairs: TextPair[],
  ) {
    super(`login failed with status 0x${status.toString(16).padStart(4, '0')}`);
  }
}

export class RejectedError extends Error {
  constructor(readonly reason: number) {
    super(`rejected with reason 0x${reason.toString(16)}`);
  }
}

export interface RawPdu {
  readonly bhs: Buffer;
  readonly ahs: Buffer | null;
  readonly data: Buffer | null;
}

export interface CommandResult {
  readonly status: number;
  readonly data: Buffer;
  readonly sense: Buffer | null;
  readonly overflow: boolean;
  readonly underflow: boolean;
  readonly residual: number;
  readonly dataInPdus: number;
  readonly r2ts: R2T[];
  /** True when status came in the last Data-In (phase collapse). */
  readonly collapsed: boolean;
}

export interface CommandOptions {
  readonly dataOut?: Buffer;
  readonly expectedLength?: number;
  readonly read?: boolean;
  readonly immediate?: boolean;
  /** Send immediate data when negotiated (default true). */
  readonly useImmediateData?: boolean;
  /** Override the CmdSN (window tests); the initiator's counter is not advanced. */
  readonly cmdSN?: number;
  readonly attribute?: number;
}

export const ENCODE = {
  hex: (b: Buffer): string => '0x' + b.toString('hex'),
  base64: (b: Buffer): string => '0b' + b.toString('base64'),
};

export const CHAP_HASH: Record<number, string> = { 5: 'md5', 7: 'sha256', 8: 'sha3-256' };

export function decodeBinary(v: string): Buffer {
  return v.startsWith('0b') || v.startsWith('0B')
    ? Buffer.from(v.slice(2), 'base64')
    : Buffer.from(v.slice(2), 'hex');
}

/** CHAP response H(id || secret || challenge) with the CHAP_A algorithm (RFC 1994). */
export function chapHash(alg: number, id: number, secret: string, challenge: Buffer): Buffer {
  return createHash(CHAP_HASH[alg]).update(Buffer.of(id)).update(secret).update(challenge).digest();
}

/** Frames received bytes into PDUs, with the digests negotiated (not checked: the target's job is tested). */
export class PduReader {
  headerDigest = false;
  dataDigest = false;
  private chunks: Buffer[] = [];
  private have = 0;

  push(chunk: Buffer): RawPdu[] {
    this.chunks.push(chunk);
    this.have += chunk.length;
    const out: RawPdu[] = [];
    while (this.have >= BHS_LENGTH) {
      const bhs = this.peekHeader();
      const ahsLength = totalAhsLengthOf(bhs) * 4;
      const dataLength = dataSegmentLengthOf(bhs);
      const hd = this.headerDigest ? 4 : 0;
      const dd = this.dataDigest && dataLength > 0 ? 4 : 0;
      const total = BHS_LENGTH + ahsLength + hd + dataLength + padLength(dataLength) + dd;
      if (this.have < total) break;
      const whole = this.take(total);
      const dataAt = BHS_LENGTH + ahsLength + hd;
      out.push({
        bhs: whole.subarray(0, BHS_LENGTH),
        ahs: ahsLength ? whole.subarray(BHS_LENGTH, BHS_LENGTH + ahsLength) : null,
        data: dataLength ? whole.subarray(dataAt, dataAt + dataLength) : null,
      });
    }
    return out;
  }

  /** Takes `n` bytes from the received chunks, copying only when a PDU spans chunks. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) {
      this.chunks[0] = first.subarray(n);
      if (this.chunks[0].length === 0) this.chunks.shift();
      this.have -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.have -= n;
    return out;
  }

  private peekHeader(): Buffer {
    if (this.chunks[0].length < BHS_LENGTH) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, BHS_LENGTH);
  }
}

/** Digests travel least significant byte first (RFC 7143 B.4: zeros give aa 36 91 8a). */
export function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}
