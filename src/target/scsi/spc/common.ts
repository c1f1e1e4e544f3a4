/**
 * Small helpers every SPC command shares: allocation-length truncation, the INVALID FIELD
 * errors with their field and bit pointers, and the CDB fields that sit at fixed places.
 */
import { SENSE, SenseError } from '../sense.js';
import type { SenseCode } from '../sense.js';

/**
 * SPC-4 4.2.5.6: the device server returns at most ALLOCATION LENGTH bytes and a short
 * allocation is never an error; the data is simply cut (the target reports the residual).
 */
export function truncate(data: Buffer, allocationLength: number): Buffer {
  return data.length > allocationLength ? data.subarray(0, allocationLength) : data;
}

/** INVALID FIELD IN CDB pointing at `byte` (and `bit` when a single field bit is at fault). */
export function invalidCdbField(byte: number, bit?: number): SenseError {
  return new SenseError(
    SENSE.INVALID_FIELD_IN_CDB,
    bit === undefined ? { fieldPointer: byte } : { fieldPointer: byte, bitPointer: bit },
  );
}

/** INVALID FIELD IN PARAMETER LIST pointing at `byte` of the parameter list. */
export function invalidParameter(
  byte: number,
  bit?: number,
  code: SenseCode = SENSE.INVALID_FIELD_IN_PARAMETER_LIST,
): SenseError {
  return new SenseError(
    code,
    bit === undefined
      ? { fieldPointer: byte, inParameterList: true }
      : { fieldPointer: byte, bitPointer: bit, inParameterList: true },
  );
}

/** PARAMETER LIST LENGTH ERROR (SPC-4: the list is too short for what it announces). */
export function parameterListLengthError(): SenseError {
  return new SenseError(SENSE.PARAMETER_LIST_LENGTH_ERROR);
}

/** The highest set bit of a non-zero byte: the bit pointer of the first offending bit. */
export function highestBit(v: number): number {
  return 31 - Math.clz32(v & 0xff);
}
