/** What the drive's log page tables share (SPC-4 7.3 log parameters). */
import type { LogParameter } from '../../target/scsi/types.js';

/** Page control 01b: cumulative values; 00b (threshold) and the defaults hold zeros. */
export const CUMULATIVE = 1;
/** Parameter control byte: FORMAT AND LINKING 11b (binary format list), SSC-4 for binary data. */
export const BINARY_LIST = 0x03;
/** Parameter control byte: FORMAT AND LINKING 01b (ASCII format list). */
export const ASCII_LIST = 0x01;
export const MB = 1_000_000;

/** A counter parameter of `bytes` bytes (bounded data counter, control 00h unless told). */
export function counter(code: number, value: number | bigint, bytes = 8, control = 0x00): LogParameter {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(value)));
  return { code, control, value: b.subarray(8 - bytes) };
}
