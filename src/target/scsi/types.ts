/**
 * The contract between the iSCSI target and the SCSI devices it serves, and the shapes of the
 * tables a device is made of (command sets, mode, log and VPD pages are data: STYLE.md 1).
 *
 * The target knows nothing of tapes: it collects a command's Data-Out, calls
 * `LogicalUnit.execute` in CmdSN order (one task at a time per logical unit), and sends the
 * Data-In, status and sense it gets back, computing residuals against the expected length.
 */
import type { SenseCode } from './sense.js';

export const ScsiStatus = {
  GOOD: 0x00,
  CHECK_CONDITION: 0x02,
  CONDITION_MET: 0x04,
  BUSY: 0x08,
  RESERVATION_CONFLICT: 0x18,
  TASK_SET_FULL: 0x28,
  ACA_ACTIVE: 0x30,
  TASK_ABORTED: 0x40,
} as const;
export type ScsiStatus = (typeof ScsiStatus)[keyof typeof ScsiStatus];

/** Peripheral device types (SPC-4 table 49). */
export const DeviceType = {
  DIRECT_ACCESS: 0x00,
  SEQUENTIAL_ACCESS: 0x01,
  MEDIUM_CHANGER: 0x08,
  UNKNOWN: 0x1f,
} as const;

export type DataDirection = 'none' | 'in' | 'out';

export type TaskAttribute = 'untagged' | 'simple' | 'ordered' | 'head-of-queue' | 'aca';

/** One I_T nexus: an initiator port (name + ISID) and the target port it logged in to. */
export interface Nexus {
  /** Stable identity, e.g. `iqn.1993-08.org.debian:01:abc,i,0x23d000000001` + target port. */
  readonly key: string;
  readonly initiatorName: string;
  /** The ISID as 12 hex digits. */
  readonly isid: string;
  /** SPC-4 TransportID of the initiator port (iSCSI format 01b, SPC-4 7.6.4.6). */
  readonly transportId: Buffer;
}

/** What a device may ask of the target it is served by. */
export interface TargetContext {
  /** The iSCSI target name (VPD 83h SCSI name string of the target port). */
  readonly name: string;
  /** Target portal group tag; also the relative target port identifier. */
  readonly portalGroupTag: number;
  /** LUNs currently configured, ascending (REPORT LUNS). */
  luns(): readonly number[];
}

export interface ScsiTask {
  /** The CDB as received (16 bytes from the BHS, longer with an extended-CDB AHS). */
  readonly cdb: Buffer;
  readonly lun: number;
  readonly nexus: Nexus;
  readonly target: TargetContext;
  /** Expected Data Transfer Length from the command PDU. */
  readonly expectedLength: number;
  /** The Data-Out the initiator sent (exactly `expectedLength` bytes), or null. */
  readonly dataOut: Buffer | null;
  readonly taskTag: number;
  readonly attribute: TaskAttribute;
  /** Aborted by task management while queued or running; a long handler may check it. */
  readonly signal: AbortSignal;
}

export interface ScsiResponse {
  readonly status: ScsiStatus;
  /** Data-In. The target truncates it to `expectedLength` and reports overflow/underflow. */
  readonly data?: Buffer;
  /** Sense data for CHECK CONDITION. */
  readonly sense?: Buffer;
  /**
   * For Data-Out commands: how many bytes the CDB called for. The target reports an
   * underflow residual when it is less than `expectedLength`, an overflow when more.
   */
  readonly dataOutNeeded?: number;
}

/** Why the target calls `LogicalUnit.reset`. */
export type ResetKind = 'lun-reset' | 'target-warm-reset' | 'target-cold-reset';

export interface LogicalUnit {
  /** Peripheral device type, for REPORT LUNS consumers and logs. */
  readonly deviceType: number;
  /**
   * True when the unit keeps nothing of `task.dataOut` (no reference, no view) once the result
   * of `execute` has settled: the target may then reuse that memory for later PDUs. Units
   * without it keep their Data-Out buffers as long as they like.
   */
  readonly releasesDataOut?: boolean;
  execute(task: ScsiTask): ScsiResponse | Promise<ScsiResponse>;
  /** A new I_T nexus logged in: SPC-4 6.4 — it gets a POWER ON unit attention. */
  nexusAdded(nexus: Nexus): void;
  /** An I_T nexus is gone (session closed or lost): release its SPC-2 reservation. */
  nexusRemoved(nexus: Nexus): void;
  /** LOGICAL UNIT RESET or TARGET RESET (SAM-5 5.6): unit attentions, reservations released. */
  reset(kind: ResetKind, by: Nexus): void;
  /** Tasks of `nexus` were aborted by ABORT TASK SET / CLEAR TASK SET; others may get 2F/00. */
  tasksCleared?(by: Nexus, allNexuses: boolean): void;
  /** Flushes everything to stable storage and stops. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Device tables. A device type is a command table plus page tables; the shared SPC part lives in
// src/target/scsi/spc, each device type adds its own (src/vtl/ssc, src/vtl/smc).

/** What a command handler receives. `D` is the device's own state object (e.g. a TapeDrive). */
export interface CommandContext<D> {
  readonly task: ScsiTask;
  /** The CDB cut to the table's cdbLength. */
  readonly cdb: Buffer;
  readonly device: D;
  readonly nexus: Nexus;
  /** Services of the shared SPC core (unit attentions, reservations, mode and log pages). */
  readonly spc: SpcServices;
}

/**
 * A handler returns the Data-In (a Buffer; status GOOD), nothing (GOOD, no data), or a full
 * response; failures are thrown as `SenseError`.
 */
export type HandlerResult = Buffer | void | ScsiResponse;

export interface CommandSpec<D> {
  /** The spec's name: 'READ POSITION'. */
  readonly name: string;
  readonly opcode: number;
  /** For commands with service actions (e.g. MAINTENANCE IN, READ POSITION is not one). */
  readonly serviceAction?: number;
  readonly cdbLength: number;
  readonly direction: DataDirection;
  /**
   * CDB usage data for REPORT SUPPORTED OPERATION CODES (SPC-4 6.35.3): one mask byte per CDB
   * byte, bits set where the field is honoured. Byte 0 is the opcode (0xff).
   */
  readonly usage: readonly number[];
  /**
   * NOMINAL COMMAND PROCESSING TIMEOUT in seconds (SPC-4 6.35.4 command timeouts descriptor):
   * how long the command typically takes before a client should ask for progress.
   */
  readonly timeout?: number;
  /** RECOMMENDED COMMAND TIMEOUT in seconds (same descriptor); defaults to `timeout`. */
  readonly recommendedTimeout?: number;
  /** Runs even with a unit attention pending (INQUIRY, REPORT LUNS, REQUEST SENSE). */
  readonly allowedWithUnitAttention?: boolean;
  /**
   * Allowed for a nexus that does not hold the reservation (SPC-4 5.13.1, table 'SPC commands
   * that are allowed in the presence of various reservations'). Default: conflict.
   */
  readonly allowedUnderReservation?: boolean;
  /**
   * Allowed for a non-holder under the write exclusive persistent reservation types (1, 5, 7):
   * commands that do not change the medium or the device (SPC-4 5.13.1 and the SSC-4 reservations table:
   * TEST UNIT READY, MODE SENSE, READ, READ POSITION, ...). Default: `allowedUnderReservation`.
   */
  readonly allowedUnderWriteExclusive?: boolean;
  readonly handler: (ctx: CommandContext<D>) => HandlerResult | Promise<HandlerResult>;
}

export type PageControl = 'current' | 'changeable' | 'default' | 'saved';

/** One mode page (SPC-4 7.5). Encoded pages include their 2-byte (or 4-byte subpage) header. */
export interface ModePageSpec<D> {
  readonly name: string;
  readonly page: number;
  /** 0 for a page_0 format page. */
  readonly subpage: number;
  /** Encoded length in bytes, header included. */
  readonly length: number;
  /** Page bytes for the given page control (changeable = a mask of the bits MODE SELECT may set). */
  encode(device: D, pc: PageControl): Buffer;
  /**
   * Applies a page from MODE SELECT after the framework has checked it against the changeable
   * mask. `page` has the same layout as `encode` returns. Throw SenseError for bad values,
   * with `inParameterList` and a field pointer relative to the page start (the framework
   * rebases it to the parameter list).
   */
  select(device: D, page: Buffer, nexus: Nexus): void;
  /**
   * Optional, for pages whose length follows their content (SSC medium partition page: one
   * partition size descriptor per partition): whether MODE SELECT may send the page with this
   * total length (header included), at most the length MODE SENSE reports. Without it only the
   * reported length is accepted (SPC-4 MODE SELECT).
   */
  acceptsLength?(device: D, length: number): boolean;
}

/** Mode parameter header fields and block descriptor a device type supplies (SSC: density, block length). */
export interface ModeBlockDescriptorSpec<D> {
  /** MEDIUM TYPE byte of the header. */
  mediumType(device: D): number;
  /** DEVICE-SPECIFIC PARAMETER byte (SSC: WP bit 7, BUFFERED MODE bits 6-4, SPEED 3-0). */
  deviceSpecific(device: D): number;
  /** Zero or more 8-byte short block descriptors. */
  blockDescriptors(device: D, pc: PageControl): Buffer[];
  /**
   * Applies a block descriptor from MODE SELECT; `deviceSpecific` is the header byte sent.
   * Called with `descriptor` null when the list has none. A SenseError with `inParameterList`
   * and a field pointer relative to the descriptor start is rebased to the parameter list.
   */
  select(device: D, descriptor: Buffer | null, deviceSpecific: number, nexus: Nexus): void;
}

export interface LogParameter {
  readonly code: number;
  /** Control byte (DU, TSD, ETC, TMC, FORMAT AND LINKING); default 0x00 (bounded data counter) */
  readonly control?: number;
  readonly value: Buffer;
}

/** One log page (SPC-4 7.3). */
export interface LogPageSpec<D> {
  readonly name: string;
  readonly page: number;
  readonly subpage: number;
  /** Parameters for page control 0-3 (threshold, cumulative, default threshold, default cumulative). */
  parameters(device: D, pc: number): LogParameter[];
  /** LOG SELECT with PCR=1, or a parameter reset: zero the counters this page shows. */
  reset?(device: D): void;
}

/** One VPD page (SPC-4 7.8). `encode` returns the whole page including its 4-byte header. */
export interface VpdPageSpec<D> {
  readonly name: string;
  readonly page: number;
  encode(device: D, task: ScsiTask): Buffer;
}

/** Standard INQUIRY identity (SPC-4 6.6.2) and the identifiers VPD 80h/83h are built from. */
export interface DeviceIdentity {
  readonly deviceType: number;
  readonly removable: boolean;
  /** 8 ASCII characters, e.g. 'IBM'. */
  readonly vendor: string;
  /** 16 ASCII characters, e.g. 'ULT3580-TD8'. */
  readonly product: string;
  /** 4 ASCII characters, e.g. 'KAJ0'. */
  readonly revision: string;
  /** Unit serial number (VPD 80h), unique per logical unit; 10 characters for drives. */
  readonly serial: string;
  /** 8-byte NAA IEEE Registered designator (NAA 5) for VPD 83h, unique per logical unit. */
  readonly naa: Buffer;
  /** Version descriptors (SPC-4 table 151), e.g. SAM-5, SPC-4, SSC-4, iSCSI. */
  readonly versionDescriptors: readonly number[];
  /** Set on a changer embedded in a drive (MCHNGR); never on a drive here (mtx relies on it). */
  readonly mediumChanger?: boolean;
}

/** Everything that makes a device type: tables over the shared SPC core. */
export interface DeviceProfile<D> {
  readonly identity: DeviceIdentity;
  /** Device-type commands; they are merged over the SPC table (same opcode/SA: the device wins). */
  readonly commands: readonly CommandSpec<D>[];
  readonly modePages: readonly ModePageSpec<D>[];
  readonly blockDescriptor?: ModeBlockDescriptorSpec<D>;
  readonly logPages: readonly LogPageSpec<D>[];
  /** VPD pages beyond 00h, 80h and 83h, which the core builds from `identity`. */
  readonly vpdPages: readonly VpdPageSpec<D>[];
  /** Runs after a LOGICAL UNIT RESET / TARGET RESET. Devices check their own readiness in handlers. */
  onReset?(device: D, kind: ResetKind): void;
  /** Called when an I_T nexus goes away (e.g. to drop a PREVENT ALLOW held by it). */
  onNexusRemoved?(device: D, nexus: Nexus): void;
  /** Flush and stop. */
  close?(device: D): Promise<void>;
}

/** What the SPC core offers to device handlers. */
export interface SpcServices {
  /** Queues a unit attention for every I_T nexus known to the unit, except `except`. */
  raiseUnitAttention(code: SenseCode, options?: { except?: Nexus }): void;
  /** Queues a unit attention for one I_T nexus. */
  raiseUnitAttentionFor(nexus: Nexus, code: SenseCode): void;
  /** True when sense data should be in descriptor format (D_SENSE in the control mode page). */
  readonly descriptorSense: boolean;
  /** Pending deferred / informational sense for REQUEST SENSE (e.g. 00/17 cleaning requested). */
  setPendingSense(nexus: Nexus, code: SenseCode | null): void;
}
