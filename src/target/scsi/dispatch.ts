/**
 * The command table and the checks every CDB passes before a handler sees it (STYLE.md 1, 6):
 * lookup by opcode (and service action), CDB length, reserved bits against the `usage` mask,
 * NACA. One place turns a thrown SenseError (or anything else) into a response.
 */
import { VtlError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { SENSE, SenseError, encodeSense, senseName } from './sense.js';
import type { CommandSpec, HandlerResult, ScsiResponse } from './types.js';
import { ScsiStatus } from './types.js';
import { highestBit, invalidCdbField } from './spc/common.js';
import type { TableEntry } from './spc/context.js';

export const GOOD: ScsiResponse = Object.freeze({ status: ScsiStatus.GOOD });
export const RESERVATION_CONFLICT: ScsiResponse = Object.freeze({ status: ScsiStatus.RESERVATION_CONFLICT });

/** SERVICE ACTION field of the CDBs this project keys by it (SPC-4 4.2.5.1: byte 1, bits 4-0). */
export function serviceActionOf(cdb: Buffer): number {
  return (cdb[1] ?? 0) & 0x1f;
}

export function commandLabel(spec: { name: string; opcode: number; serviceAction?: number }): string {
  const op = spec.opcode.toString(16).padStart(2, '0');
  return spec.serviceAction === undefined
    ? `${spec.name} (${op}h)`
    : `${spec.name} (${op}h/${spec.serviceAction.toString(16)}h)`;
}

/**
 * The merged table of one logical unit: the SPC core's commands overlaid by the device's (same
 * opcode and service action: the device wins, DeviceProfile.commands).
 */
export class CommandTable<D> {
  /** Opcodes without service actions, indexed directly (the data path looks up here). */
  private readonly plain: (TableEntry<D> | undefined)[] = new Array<TableEntry<D> | undefined>(256);
  private readonly withSa = new Map<number, TableEntry<D>>();
  readonly serviceActionOpcodes = new Set<number>();
  /** Ascending by opcode, then service action (REPORT SUPPORTED OPERATION CODES order). */
  readonly entries: readonly TableEntry<D>[];

  constructor(...layers: (readonly TableEntry<D>[])[]) {
    const merged = new Map<number, TableEntry<D>>();
    for (const layer of layers) {
      for (const spec of layer) {
        validateSpec(spec);
        merged.set(spec.opcode * 0x10000 + (spec.serviceAction ?? 0xffff), spec);
      }
    }
    for (const spec of merged.values())
      if (spec.serviceAction !== undefined) this.serviceActionOpcodes.add(spec.opcode);
    for (const spec of merged.values()) {
      if (this.serviceActionOpcodes.has(spec.opcode)) {
        if (spec.serviceAction === undefined) {
          throw new VtlError(
            'ERR_INVALID_ARGUMENT',
            `${commandLabel(spec)} lacks a service action while others of opcode ${spec.opcode.toString(16)}h have one`,
          );
        }
        this.withSa.set(spec.opcode * 0x100 + spec.serviceAction, spec);
      } else {
        this.plain[spec.opcode] = spec;
      }
    }
    this.entries = [...merged.entries()].sort((a, b) => a[0] - b[0]).map(([, spec]) => spec);
  }

  /**
   * Finds the command of a CDB. Unknown opcode: INVALID COMMAND OPERATION CODE (SPC-4 4.2.5);
   * unknown service action of a known opcode: INVALID FIELD IN CDB at the SERVICE ACTION field.
   */
  lookup(cdb: Buffer): TableEntry<D> {
    const opcode = cdb[0] ?? 0;
    const plain = this.plain[opcode];
    if (plain) return plain;
    if (this.serviceActionOpcodes.has(opcode)) {
      const spec = this.withSa.get(opcode * 0x100 + serviceActionOf(cdb));
      if (spec) return spec;
      throw invalidCdbField(1, 4);
    }
    throw new SenseError(SENSE.INVALID_COMMAND_OPERATION_CODE);
  }

  /** Lookup that answers undefined instead of throwing (unit attention precedence). */
  find(cdb: Buffer): TableEntry<D> | undefined {
    const opcode = cdb[0] ?? 0;
    return (
      this.plain[opcode] ??
      (this.serviceActionOpcodes.has(opcode)
        ? this.withSa.get(opcode * 0x100 + serviceActionOf(cdb))
        : undefined)
    );
  }
}

function validateSpec(spec: TableEntry<never>): void {
  if (spec.usage.length !== spec.cdbLength || spec.usage[0] !== 0xff) {
    throw new VtlError(
      'ERR_INVALID_ARGUMENT',
      `${commandLabel(spec)}: usage must have one mask byte per CDB byte (${spec.cdbLength}) starting with 0xff`,
    );
  }
}

/**
 * SPC-4 4.2.5 and 4.2.5.7: a CDB shorter than the command is an invalid opcode; a bit the
 * device server does not honour (outside the usage mask: reserved, obsolete, unsupported) is
 * INVALID FIELD IN CDB with the byte and its highest offending bit; NACA=1 is refused because
 * INQUIRY reports NORMACA=0 (SAM-5 5.9).
 */
export function checkCdb(spec: CommandSpec<never> | TableEntry<never>, cdb: Buffer): void {
  const n = spec.cdbLength;
  if (cdb.length < n) throw new SenseError(SENSE.INVALID_COMMAND_OPERATION_CODE);
  const control = cdb[n - 1];
  if (control & 0x04) throw invalidCdbField(n - 1, 2);
  const usage = spec.usage;
  for (let i = 1; i < n; i++) {
    const bad = cdb[i] & ~usage[i];
    if (bad !== 0) throw invalidCdbField(i, highestBit(bad));
  }
}

/** A handler's return value as a response. */
export function toResponse(result: HandlerResult): ScsiResponse {
  if (result === undefined) return GOOD;
  if (Buffer.isBuffer(result)) return { status: ScsiStatus.GOOD, data: result };
  return result;
}

/**
 * The one funnel for failures: SenseError becomes CHECK CONDITION in the sense format the
 * control mode page asks for (with any partial Data-In), anything else HARDWARE ERROR 44/00.
 */
export function errorResponse(
  err: unknown,
  descriptor: boolean,
  logger: Logger,
  command: string,
): ScsiResponse {
  if (err instanceof SenseError) {
    const s = err.sense;
    logger.debug('check condition', { command, sense: senseName(s.key, s.asc, s.ascq) });
    const sense = encodeSense(s, err.options, descriptor);
    return err.options.data
      ? { status: ScsiStatus.CHECK_CONDITION, sense, data: err.options.data }
      : { status: ScsiStatus.CHECK_CONDITION, sense };
  }
  logger.error('command failed with an internal error', { command, err });
  return {
    status: ScsiStatus.CHECK_CONDITION,
    sense: encodeSense(SENSE.INTERNAL_TARGET_FAILURE, {}, descriptor),
  };
}

export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | undefined)?.then === 'function';
}
