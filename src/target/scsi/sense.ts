/**
 * Sense data: one catalogue of named conditions and one encoder (SPC-4 4.5). Handlers throw
 * `SenseError`; exactly one dispatcher turns it into CHECK CONDITION, in fixed (70h) or
 * descriptor (72h) format. FILEMARK, EOM and ILI are named flags, never bits ORed into a key.
 */

export const SenseKey = {
  NO_SENSE: 0x0,
  RECOVERED_ERROR: 0x1,
  NOT_READY: 0x2,
  MEDIUM_ERROR: 0x3,
  HARDWARE_ERROR: 0x4,
  ILLEGAL_REQUEST: 0x5,
  UNIT_ATTENTION: 0x6,
  DATA_PROTECT: 0x7,
  BLANK_CHECK: 0x8,
  VENDOR_SPECIFIC: 0x9,
  COPY_ABORTED: 0xa,
  ABORTED_COMMAND: 0xb,
  VOLUME_OVERFLOW: 0xd,
  MISCOMPARE: 0xe,
} as const;

export const SENSE_KEY_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SenseKey).map(([name, value]) => [value, name]),
);

export interface SenseCode {
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
  readonly text: string;
}

const code = (key: number, asc: number, ascq: number, text: string): SenseCode =>
  Object.freeze({ key, asc, ascq, text });

/** The named conditions the project reports. Tests and logs use these names. */
export const SENSE = {
  NO_SENSE: code(SenseKey.NO_SENSE, 0x00, 0x00, 'no additional sense information'),
  FILEMARK_DETECTED: code(SenseKey.NO_SENSE, 0x00, 0x01, 'filemark detected'),
  END_OF_PARTITION_MEDIUM_DETECTED: code(SenseKey.NO_SENSE, 0x00, 0x02, 'end-of-partition/medium detected'),
  BEGINNING_OF_PARTITION_MEDIUM_DETECTED: code(
    SenseKey.NO_SENSE,
    0x00,
    0x04,
    'beginning-of-partition/medium detected',
  ),
  END_OF_DATA_DETECTED: code(SenseKey.BLANK_CHECK, 0x00, 0x05, 'end-of-data detected'),
  PROGRAMMABLE_EARLY_WARNING_DETECTED: code(
    SenseKey.NO_SENSE,
    0x00,
    0x07,
    'programmable early warning detected',
  ),
  CLEANING_REQUESTED: code(SenseKey.NO_SENSE, 0x00, 0x17, 'cleaning requested'),
  // ILI with no other condition: NO SENSE 00/00 plus the ILI flag.
  INCORRECT_LENGTH: code(SenseKey.NO_SENSE, 0x00, 0x00, 'incorrect length indicator'),

  NOT_READY_CAUSE_NOT_REPORTABLE: code(
    SenseKey.NOT_READY,
    0x04,
    0x00,
    'logical unit not ready, cause not reportable',
  ),
  BECOMING_READY: code(SenseKey.NOT_READY, 0x04, 0x01, 'logical unit is in process of becoming ready'),
  NOT_READY_INITIALIZING_COMMAND_REQUIRED: code(
    SenseKey.NOT_READY,
    0x04,
    0x02,
    'logical unit not ready, initializing command required',
  ),
  FORMAT_IN_PROGRESS: code(SenseKey.NOT_READY, 0x04, 0x04, 'logical unit not ready, format in progress'),
  OPERATION_IN_PROGRESS: code(
    SenseKey.NOT_READY,
    0x04,
    0x07,
    'logical unit not ready, operation in progress',
  ),
  MEDIUM_NOT_PRESENT: code(SenseKey.NOT_READY, 0x3a, 0x00, 'medium not present'),
  MEDIUM_NOT_PRESENT_LOADABLE: code(
    SenseKey.NOT_READY,
    0x3a,
    0x04,
    'medium not present - medium auxiliary memory accessible',
  ),

  WRITE_ERROR: code(SenseKey.MEDIUM_ERROR, 0x0c, 0x00, 'write error'),
  UNRECOVERED_READ_ERROR: code(SenseKey.MEDIUM_ERROR, 0x11, 0x00, 'unrecovered read error'),
  MEDIUM_FORMAT_CORRUPTED: code(SenseKey.MEDIUM_ERROR, 0x31, 0x00, 'medium format corrupted'),
  SEQUENTIAL_POSITIONING_ERROR: code(SenseKey.MEDIUM_ERROR, 0x3b, 0x00, 'sequential positioning error'),
  LOCATE_OPERATION_FAILURE: code(SenseKey.MEDIUM_ERROR, 0x14, 0x03, 'end-of-data not found'),
  END_OF_DATA_NOT_FOUND: code(SenseKey.MEDIUM_ERROR, 0x14, 0x03, 'end-of-data not found'),

  INTERNAL_TARGET_FAILURE: code(SenseKey.HARDWARE_ERROR, 0x44, 0x00, 'internal target failure'),

  PARAMETER_LIST_LENGTH_ERROR: code(SenseKey.ILLEGAL_REQUEST, 0x1a, 0x00, 'parameter list length error'),
  INVALID_COMMAND_OPERATION_CODE: code(
    SenseKey.ILLEGAL_REQUEST,
    0x20,
    0x00,
    'invalid command operation code',
  ),
  LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE: code(
    SenseKey.ILLEGAL_REQUEST,
    0x21,
    0x00,
    'logical block address out of range',
  ),
  INVALID_FIELD_IN_CDB: code(SenseKey.ILLEGAL_REQUEST, 0x24, 0x00, 'invalid field in CDB'),
  LOGICAL_UNIT_NOT_SUPPORTED: code(SenseKey.ILLEGAL_REQUEST, 0x25, 0x00, 'logical unit not supported'),
  INVALID_FIELD_IN_PARAMETER_LIST: code(
    SenseKey.ILLEGAL_REQUEST,
    0x26,
    0x00,
    'invalid field in parameter list',
  ),
  PARAMETER_NOT_SUPPORTED: code(SenseKey.ILLEGAL_REQUEST, 0x26, 0x01, 'parameter not supported'),
  PARAMETER_VALUE_INVALID: code(SenseKey.ILLEGAL_REQUEST, 0x26, 0x02, 'parameter value invalid'),
  SAVING_PARAMETERS_NOT_SUPPORTED: code(
    SenseKey.ILLEGAL_REQUEST,
    0x39,
    0x00,
    'saving parameters not supported',
  ),
  INVALID_RELEASE_OF_PERSISTENT_RESERVATION: code(
    SenseKey.ILLEGAL_REQUEST,
    0x26,
    0x04,
    'invalid release of persistent reservation',
  ),
  COMMAND_SEQUENCE_ERROR: code(SenseKey.ILLEGAL_REQUEST, 0x2c, 0x00, 'command sequence error'),
  INCOMPATIBLE_MEDIUM_INSTALLED: code(SenseKey.ILLEGAL_REQUEST, 0x30, 0x00, 'incompatible medium installed'),
  CANNOT_READ_MEDIUM_INCOMPATIBLE_FORMAT: code(
    SenseKey.MEDIUM_ERROR,
    0x30,
    0x02,
    'cannot read medium - incompatible format',
  ),
  CLEANING_CARTRIDGE_INSTALLED: code(SenseKey.NOT_READY, 0x30, 0x03, 'cleaning cartridge installed'),
  MEDIUM_REMOVAL_PREVENTED: code(SenseKey.ILLEGAL_REQUEST, 0x53, 0x02, 'medium removal prevented'),
  INSUFFICIENT_REGISTRATION_RESOURCES: code(
    SenseKey.ILLEGAL_REQUEST,
    0x55,
    0x04,
    'insufficient registration resources',
  ),
  POSITION_PAST_BEGINNING_OF_MEDIUM: code(
    SenseKey.ILLEGAL_REQUEST,
    0x3b,
    0x0c,
    'position past beginning of medium',
  ),

  POWER_ON_OCCURRED: code(SenseKey.UNIT_ATTENTION, 0x29, 0x01, 'power on occurred'),
  POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED: code(
    SenseKey.UNIT_ATTENTION,
    0x29,
    0x00,
    'power on, reset, or bus device reset occurred',
  ),
  BUS_DEVICE_RESET_FUNCTION_OCCURRED: code(
    SenseKey.UNIT_ATTENTION,
    0x29,
    0x03,
    'bus device reset function occurred',
  ),
  I_T_NEXUS_LOSS_OCCURRED: code(SenseKey.UNIT_ATTENTION, 0x29, 0x07, 'I_T nexus loss occurred'),
  NOT_READY_TO_READY_CHANGE: code(
    SenseKey.UNIT_ATTENTION,
    0x28,
    0x00,
    'not ready to ready change, medium may have changed',
  ),
  IMPORT_OR_EXPORT_ELEMENT_ACCESSED: code(
    SenseKey.UNIT_ATTENTION,
    0x28,
    0x01,
    'import or export element accessed',
  ),
  MODE_PARAMETERS_CHANGED: code(SenseKey.UNIT_ATTENTION, 0x2a, 0x01, 'mode parameters changed'),
  LOG_PARAMETERS_CHANGED: code(SenseKey.UNIT_ATTENTION, 0x2a, 0x02, 'log parameters changed'),
  RESERVATIONS_PREEMPTED: code(SenseKey.UNIT_ATTENTION, 0x2a, 0x03, 'reservations preempted'),
  RESERVATIONS_RELEASED: code(SenseKey.UNIT_ATTENTION, 0x2a, 0x04, 'reservations released'),
  REGISTRATIONS_PREEMPTED: code(SenseKey.UNIT_ATTENTION, 0x2a, 0x05, 'registrations preempted'),
  COMMANDS_CLEARED_BY_ANOTHER_INITIATOR: code(
    SenseKey.UNIT_ATTENTION,
    0x2f,
    0x00,
    'commands cleared by another initiator',
  ),
  MEDIUM_REMOVAL_REQUESTED: code(SenseKey.UNIT_ATTENTION, 0x5a, 0x01, 'operator medium removal request'),
  REPORTED_LUNS_DATA_CHANGED: code(SenseKey.UNIT_ATTENTION, 0x3f, 0x0e, 'reported luns data has changed'),

  WRITE_PROTECTED: code(SenseKey.DATA_PROTECT, 0x27, 0x00, 'write protected'),

  VOLUME_OVERFLOW: code(SenseKey.VOLUME_OVERFLOW, 0x00, 0x02, 'end-of-partition/medium detected'),

  COMMAND_ABORTED: code(SenseKey.ABORTED_COMMAND, 0x00, 0x00, 'no additional sense information'),
  DATA_PHASE_ERROR: code(SenseKey.ABORTED_COMMAND, 0x4b, 0x00, 'data phase error'),
  INITIATOR_DETECTED_ERROR: code(
    SenseKey.ABORTED_COMMAND,
    0x48,
    0x00,
    'initiator detected error message received',
  ),
} as const satisfies Record<string, SenseCode>;

export type SenseName = keyof typeof SENSE;

/** Looks up the catalogue name of a key/asc/ascq triple, for logs and test messages. */
export function senseName(key: number, asc: number, ascq: number): string {
  for (const [name, c] of Object.entries(SENSE)) {
    if (c.key === key && c.asc === asc && c.ascq === ascq) return name;
  }
  return `${SENSE_KEY_NAMES[key] ?? key.toString(16)} ${asc.toString(16).padStart(2, '0')}/${ascq.toString(16).padStart(2, '0')}`;
}

export interface SenseOptions {
  /** FILEMARK bit (SSC): the command met a filemark. */
  filemark?: boolean;
  /** EOM bit (SSC): early warning or end of partition. */
  eom?: boolean;
  /** ILI bit: the block length differed from the requested one. */
  ili?: boolean;
  /**
   * The INFORMATION field, with VALID set (a residue in bytes or blocks; may be negative for
   * an overlength block, SSC-3 4.2.6). Omitted means VALID=0.
   */
  information?: number | bigint;
  /** COMMAND-SPECIFIC INFORMATION field. */
  commandSpecific?: number;
  /** Sense-key-specific field pointer: the byte in the CDB (or parameter list) that is wrong. */
  fieldPointer?: number;
  /** Bit within that byte (0-7), when one bit is at fault. */
  bitPointer?: number;
  /** True when the field pointer points into the parameter list instead of the CDB. */
  inParameterList?: boolean;
  /** Progress indication (0-65535) for NOT READY / NO SENSE during long operations. */
  progress?: number;
  /** Data transferred before the condition (e.g. the blocks read before a filemark). */
  data?: Buffer;
  /** Deferred error (response code 71h/73h). */
  deferred?: boolean;
}

/** Thrown by command handlers; the dispatcher turns it into CHECK CONDITION. */
export class SenseError extends Error {
  readonly sense: SenseCode;
  readonly options: SenseOptions;

  constructor(sense: SenseCode, options: SenseOptions = {}) {
    super(sense.text);
    this.name = 'SenseError';
    this.sense = sense;
    this.options = options;
  }
}

/** Fixed format (70h) sense data is 18 bytes here: additional sense length 10. */
export const FIXED_SENSE_LENGTH = 18;

/** Encodes sense data in fixed (SPC-4 4.5.3) or descriptor (SPC-4 4.5.2) format. */
export function encodeSense(sense: SenseCode, options: SenseOptions = {}, descriptor = false): Buffer {
  return descriptor ? encodeDescriptorSense(sense, options) : encodeFixedSense(sense, options);
}

function senseKeySpecific(options: SenseOptions): Buffer | null {
  if (options.fieldPointer !== undefined) {
    const b = Buffer.alloc(3);
    b[0] = 0x80 | (options.inParameterList ? 0 : 0x40);
    if (options.bitPointer !== undefined) b[0] |= 0x08 | (options.bitPointer & 0x07);
    b.writeUInt16BE(options.fieldPointer & 0xffff, 1);
    return b;
  }
  if (options.progress !== undefined) {
    const b = Buffer.alloc(3);
    b[0] = 0x80;
    b.writeUInt16BE(options.progress & 0xffff, 1);
    return b;
  }
  return null;
}

function encodeFixedSense(sense: SenseCode, options: SenseOptions): Buffer {
  const b = Buffer.alloc(FIXED_SENSE_LENGTH);
  b[0] = options.deferred ? 0x71 : 0x70;
  if (options.information !== undefined) {
    b[0] |= 0x80;
    // INFORMATION is four bytes in fixed format; a negative residue is two's complement.
    b.writeInt32BE(Number(BigInt.asIntN(32, BigInt(options.information))), 3);
  }
  b[2] =
    (options.filemark ? 0x80 : 0) | (options.eom ? 0x40 : 0) | (options.ili ? 0x20 : 0) | (sense.key & 0x0f);
  b[7] = FIXED_SENSE_LENGTH - 8;
  if (options.commandSpecific !== undefined) b.writeUInt32BE(options.commandSpecific >>> 0, 8);
  b[12] = sense.asc;
  b[13] = sense.ascq;
  const sks = senseKeySpecific(options);
  if (sks) sks.copy(b, 15);
  return b;
}

function encodeDescriptorSense(sense: SenseCode, options: SenseOptions): Buffer {
  const parts: Buffer[] = [];
  if (options.information !== undefined) {
    // Information descriptor (SPC-4 4.5.2.2): VALID=1, eight-byte INFORMATION.
    const d = Buffer.alloc(12);
    d[0] = 0x00;
    d[1] = 0x0a;
    d[2] = 0x80;
    d.writeBigInt64BE(BigInt.asIntN(64, BigInt(options.information)), 4);
    parts.push(d);
  }
  if (options.commandSpecific !== undefined) {
    const d = Buffer.alloc(12);
    d[0] = 0x01;
    d[1] = 0x0a;
    d.writeBigUInt64BE(BigInt(options.commandSpecific >>> 0), 4);
    parts.push(d);
  }
  const sks = senseKeySpecific(options);
  if (sks) {
    const d = Buffer.alloc(8);
    d[0] = 0x02;
    d[1] = 0x06;
    sks.copy(d, 4);
    parts.push(d);
  }
  if (options.filemark || options.eom || options.ili) {
    // Stream commands descriptor (SSC-4 4.2.15 / SPC-4 4.5.2.5).
    const d = Buffer.alloc(4);
    d[0] = 0x04;
    d[1] = 0x02;
    d[3] = (options.filemark ? 0x80 : 0) | (options.eom ? 0x40 : 0) | (options.ili ? 0x20 : 0);
    parts.push(d);
  }
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header[0] = options.deferred ? 0x73 : 0x72;
  header[1] = sense.key & 0x0f;
  header[2] = sense.asc;
  header[3] = sense.ascq;
  header[7] = body.length;
  return Buffer.concat([header, body]);
}

/** The parts of sense data a client reads, from either format (for tests and logs). */
export interface DecodedSense {
  responseCode: number;
  key: number;
  asc: number;
  ascq: number;
  filemark: boolean;
  eom: boolean;
  ili: boolean;
  information: number | null;
  fieldPointer: number | null;
  bitPointer: number | null;
  inCdb: boolean | null;
  progress: number | null;
  name: string;
}

export function decodeSense(b: Buffer): DecodedSense {
  const responseCode = b[0] & 0x7f;
  const out: DecodedSense = {
    responseCode,
    key: 0,
    asc: 0,
    ascq: 0,
    filemark: false,
    eom: false,
    ili: false,
    information: null,
    fieldPointer: null,
    bitPointer: null,
    inCdb: null,
    progress: null,
    name: '',
  };
  const sks = (s: Buffer): void => {
    if (!(s[0] & 0x80)) return;
    if (out.key === SenseKey.ILLEGAL_REQUEST) {
      out.inCdb = (s[0] & 0x40) !== 0;
      out.bitPointer = s[0] & 0x08 ? s[0] & 0x07 : null;
      out.fieldPointer = s.readUInt16BE(1);
    } else {
      out.progress = s.readUInt16BE(1);
    }
  };
  if (responseCode === 0x70 || responseCode === 0x71) {
    out.key = b[2] & 0x0f;
    out.filemark = (b[2] & 0x80) !== 0;
    out.eom = (b[2] & 0x40) !== 0;
    out.ili = (b[2] & 0x20) !== 0;
    if (b[0] & 0x80) out.information = b.readInt32BE(3);
    out.asc = b[12] ?? 0;
    out.ascq = b[13] ?? 0;
    if (b.length >= 18) sks(b.subarray(15, 18));
  } else if (responseCode === 0x72 || responseCode === 0x73) {
    out.key = b[1] & 0x0f;
    out.asc = b[2]!;
    out.ascq = b[3]!;
    let p = 8;
    const end = Math.min(b.length, 8 + b[7]);
    while (p + 2 <= end) {
      const type = b[p];
      const len = b[p + 1];
      const d = b.subarray(p, p + 2 + len);
      if (type === 0x00 && d[2] & 0x80) out.information = Number(d.readBigInt64BE(4));
      else if (type === 0x02) sks(d.subarray(4, 7));
      else if (type === 0x04) {
        out.filemark = (d[3] & 0x80) !== 0;
        out.eom = (d[3] & 0x40) !== 0;
        out.ili = (d[3] & 0x20) !== 0;
      }
      p += 2 + len;
    }
  }
  out.name = senseName(out.key, out.asc, out.ascq);
  return out;
}
