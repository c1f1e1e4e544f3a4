/**
 * What the shared SPC command handlers see of the logical unit they run in. Device handlers get
 * the public `SpcServices`; the SPC handlers in this folder also get `core`, the same object
 * seen through this wider interface (tables bound to the device, reservation state).
 */
import type { Logger } from '../../../util/log.js';
import type { SenseCode } from '../sense.js';
import type {
  CommandContext,
  CommandSpec,
  DeviceIdentity,
  HandlerResult,
  LogParameter,
  Nexus,
  PageControl,
  ScsiTask,
  SpcServices,
} from '../types.js';
import type { PersistentReservations } from './pr-state.js';

/** A command spec of the SPC core: the handler also receives `core`. */
export interface SpcCommandSpec extends Omit<CommandSpec<unknown>, 'handler'> {
  readonly handler: (ctx: SpcContext) => HandlerResult | Promise<HandlerResult>;
  /**
   * SPC-4 5.13.3 (SPC-2 reservations): PERSISTENT RESERVE IN/OUT from an I_T nexus other than
   * the RESERVE holder conflict, although a persistent reservation lets them through.
   */
  readonly conflictsWithSpc2Reservation?: boolean;
}

export interface SpcContext extends CommandContext<unknown> {
  readonly core: SpcCore;
}

/** An entry of the merged command table: SPC or device spec. */
export type TableEntry<D> = CommandSpec<D> | SpcCommandSpec;

/** A mode page bound to the object it describes. */
export interface BoundModePage {
  readonly name: string;
  readonly page: number;
  readonly subpage: number;
  encode(pc: PageControl): Buffer;
  select(page: Buffer, nexus: Nexus): void;
  /** See ModePageSpec.acceptsLength. */
  acceptsLength?(length: number): boolean;
}

export interface BoundBlockDescriptor {
  mediumType(): number;
  deviceSpecific(): number;
  blockDescriptors(pc: PageControl): Buffer[];
  select(descriptor: Buffer | null, deviceSpecific: number, nexus: Nexus): void;
}

export interface BoundLogPage {
  readonly name: string;
  readonly page: number;
  readonly subpage: number;
  parameters(pc: number): LogParameter[];
  readonly reset: (() => void) | undefined;
}

export interface BoundVpdPage {
  readonly name: string;
  readonly page: number;
  encode(task: ScsiTask): Buffer;
}

export interface SpcCore extends SpcServices {
  readonly identity: DeviceIdentity;
  readonly logger: Logger;
  /** The merged command table, ascending by opcode and service action (RSOC). */
  readonly commands: readonly TableEntry<never>[];
  /** Opcodes whose commands are told apart by service action (RSOC reporting options). */
  readonly serviceActionOpcodes: ReadonlySet<number>;
  readonly modePages: readonly BoundModePage[];
  readonly blockDescriptor: BoundBlockDescriptor | null;
  readonly logPages: readonly BoundLogPage[];
  readonly vpdPages: readonly BoundVpdPage[];
  /** Removes and returns the highest-priority unit attention of `nexus`, if any. */
  takeUnitAttention(nexus: Nexus): SenseCode | null;
  /** Removes one specific unit attention (REPORT LUNS clears 3F/0E, SPC-4 6.33). */
  clearUnitAttention(nexus: Nexus, code: SenseCode): void;
  /** Removes and returns the pending sense set through `setPendingSense`. */
  takePendingSense(nexus: Nexus): SenseCode | null;
  /** The I_T nexuses known to the unit (for reservation unit attentions). */
  nexuses(): Iterable<Nexus>;
  /** SPC-2 RESERVE holder (nexus key), or null. */
  spc2Holder: string | null;
  readonly pr: PersistentReservations;
}
