/**
 * A logical unit made of a DeviceProfile over the shared SPC core: it owns the per-I_T-nexus
 * state (unit attentions, pending sense), the reservations and the control mode page, and runs
 * every command through one funnel (STYLE.md 1, 4, 6, 7):
 *
 *   lookup → unit attention → opcode / CDB checks → reservation conflict → handler → response.
 *
 * Unit attentions come before the CDB checks as SAM-5 5.14 reports them for every command but
 * INQUIRY, REPORT LUNS and REQUEST SENSE (`allowedWithUnitAttention`).
 */
import { silentLogger } from '../../util/log.js';
import type { Logger } from '../../util/log.js';
import { SENSE, SenseError } from './sense.js';
import type { SenseCode } from './sense.js';
import type {
  DeviceIdentity,
  DeviceProfile,
  LogicalUnit,
  Nexus,
  ResetKind,
  ScsiResponse,
  ScsiTask,
  SpcServices,
} from './types.js';
import {
  CommandTable,
  RESERVATION_CONFLICT,
  checkCdb,
  commandLabel,
  errorResponse,
  isPromise,
  toResponse,
} from './dispatch.js';
import type {
  BoundBlockDescriptor,
  BoundLogPage,
  BoundModePage,
  BoundVpdPage,
  SpcContext,
  SpcCore,
  TableEntry,
} from './spc/context.js';
import { PersistentReservations } from './spc/pr-state.js';
import { SPC_COMMANDS } from './spc/table.js';
import { ControlState, SPC_MODE_PAGES } from './spc/control-pages.js';

export interface LogicalUnitOptions {
  logger?: Logger;
}

interface NexusState {
  readonly nexus: Nexus;
  /** Pending unit attentions, highest priority first. */
  readonly ua: SenseCode[];
  pending: SenseCode | null;
}

/**
 * SAM-5 5.14 / SPC-4 table 'unit attention priorities': power on and resets first (29/01,
 * 29/00, 29/02..07), everything else in the order it happened.
 */
function uaPriority(code: SenseCode): number {
  if (code.asc !== 0x29) return 100;
  return code.ascq === 0x01 ? 0 : code.ascq === 0x00 ? 1 : 1 + code.ascq;
}

export class ScsiDevice<D> implements LogicalUnit, SpcCore {
  /**
   * Handlers parse Data-Out (MODE/LOG SELECT, PERSISTENT RESERVE OUT) or copy it (WRITE through
   * the image's write-behind) before they settle; none keeps a view of it.
   */
  readonly releasesDataOut = true;
  readonly deviceType: number;
  readonly identity: DeviceIdentity;
  readonly logger: Logger;
  /** What device handlers may ask of the SPC core (the same object, narrowed). */
  readonly services: SpcServices = this;
  readonly commands: readonly TableEntry<never>[];
  readonly serviceActionOpcodes: ReadonlySet<number>;
  readonly modePages: readonly BoundModePage[];
  readonly blockDescriptor: BoundBlockDescriptor | null;
  readonly logPages: readonly BoundLogPage[];
  readonly vpdPages: readonly BoundVpdPage[];
  readonly pr = new PersistentReservations();
  spc2Holder: string | null = null;

  private readonly table: CommandTable<D>;
  private readonly states = new Map<string, NexusState>();
  private readonly control = new ControlState();

  constructor(
    readonly profile: DeviceProfile<D>,
    readonly device: D,
    options: LogicalUnitOptions = {},
  ) {
    this.identity = profile.identity;
    this.deviceType = profile.identity.deviceType;
    this.logger = (options.logger ?? silentLogger).child({
      component: 'scsi',
      serial: profile.identity.serial,
    });
    this.table = new CommandTable<D>(SPC_COMMANDS, profile.commands);
    this.commands = this.table.entries;
    this.serviceActionOpcodes = this.table.serviceActionOpcodes;
    this.modePages = bindModePages(profile, device, this.control);
    const bd = profile.blockDescriptor;
    this.blockDescriptor = bd
      ? {
          mediumType: () => bd.mediumType(device),
          deviceSpecific: () => bd.deviceSpecific(device),
          blockDescriptors: (pc) => bd.blockDescriptors(device, pc),
          select: (descriptor, ds, nexus) => bd.select(device, descriptor, ds, nexus),
        }
      : null;
    this.logPages = [...profile.logPages]
      .sort((a, b) => a.page - b.page || a.subpage - b.subpage)
      .map((p) => ({
        name: p.name,
        page: p.page,
        subpage: p.subpage,
        parameters: (pc: number) => p.parameters(device, pc),
        reset: p.reset ? () => p.reset!(device) : undefined,
      }));
    this.vpdPages = [...profile.vpdPages]
      .sort((a, b) => a.page - b.page)
      .map((p) => ({ name: p.name, page: p.page, encode: (task: ScsiTask) => p.encode(device, task) }));
  }

  // ---- LogicalUnit ----------------------------------------------------------------------------

  execute(task: ScsiTask): ScsiResponse | Promise<ScsiResponse> {
    const cdb = task.cdb;
    const nexus = task.nexus;
    const state = this.stateOf(nexus);
    const spec = this.table.find(cdb);
    const label = spec ? spec.name : `opcode ${(cdb[0] ?? 0).toString(16)}h`;
    try {
      if (state.ua.length > 0 && !spec?.allowedWithUnitAttention) {
        throw new SenseError(state.ua.shift()!);
      }
      const entry = spec ?? this.table.lookup(cdb);
      checkCdb(entry, cdb);
      if (this.reservationConflict(entry, nexus.key)) {
        this.logger.debug('reservation conflict', { command: commandLabel(entry), nexus: nexus.key });
        return RESERVATION_CONFLICT;
      }
      const ctx: SpcContext & { device: D } = {
        task,
        cdb: cdb.length === entry.cdbLength ? cdb : cdb.subarray(0, entry.cdbLength),
        device: this.device,
        nexus,
        spc: this,
        core: this,
      };
      const result = (entry.handler as (c: typeof ctx) => ReturnType<TableEntry<D>['handler']>)(ctx);
      if (isPromise(result)) {
        return result.then(toResponse, (err: unknown) =>
          errorResponse(err, this.control.dSense, this.logger, label),
        );
      }
      return toResponse(result);
    } catch (err) {
      return errorResponse(err, this.control.dSense, this.logger, label);
    }
  }

  nexusAdded(nexus: Nexus): void {
    // SPC-4 6.4 / SAM-5 6.3.2: a new I_T nexus sees the unit as just powered on. 29/00 rather
    // than 29/01: initiators (libiscsi's tools, QEMU) retry exactly 29/00 and give up on others.
    this.addUa(this.stateOf(nexus), SENSE.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED);
  }

  nexusRemoved(nexus: Nexus): void {
    // SPC-2 reservations die with the I_T nexus (SPC-4 5.13.3 / SAM-5 6.3.4); persistent
    // registrations stay (SPC-4 5.13.6).
    if (this.spc2Holder === nexus.key) this.spc2Holder = null;
    this.states.delete(nexus.key);
    this.profile.onNexusRemoved?.(this.device, nexus);
  }

  reset(kind: ResetKind, by: Nexus): void {
    this.logger.info('reset', { kind, by: by.key });
    // SAM-5 5.12: a reset releases SPC-2 reservations, keeps persistent ones, returns mode
    // parameters to their defaults (nothing is saved) and tells every I_T nexus about it.
    this.spc2Holder = null;
    this.control.reset();
    const code =
      kind === 'lun-reset'
        ? SENSE.BUS_DEVICE_RESET_FUNCTION_OCCURRED
        : SENSE.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED;
    for (const s of this.states.values()) this.addUa(s, code);
    this.profile.onReset?.(this.device, kind);
  }

  tasksCleared(by: Nexus, allNexuses: boolean): void {
    // SAM-5 CLEAR TASK SET with TAS=0: the other I_T nexuses whose tasks went get 2F/00.
    if (allNexuses) this.raiseUnitAttention(SENSE.COMMANDS_CLEARED_BY_ANOTHER_INITIATOR, { except: by });
  }

  async close(): Promise<void> {
    await this.profile.close?.(this.device);
  }

  // ---- SpcServices / SpcCore -------------------------------------------------------------------

  get descriptorSense(): boolean {
    return this.control.dSense;
  }

  raiseUnitAttention(code: SenseCode, options: { except?: Nexus } = {}): void {
    for (const s of this.states.values()) {
      if (options.except && s.nexus.key === options.except.key) continue;
      this.addUa(s, code);
    }
  }

  raiseUnitAttentionFor(nexus: Nexus, code: SenseCode): void {
    this.addUa(this.stateOf(nexus), code);
  }

  setPendingSense(nexus: Nexus, code: SenseCode | null): void {
    this.stateOf(nexus).pending = code;
  }

  takeUnitAttention(nexus: Nexus): SenseCode | null {
    return this.states.get(nexus.key)?.ua.shift() ?? null;
  }

  clearUnitAttention(nexus: Nexus, code: SenseCode): void {
    const ua = this.states.get(nexus.key)?.ua;
    if (!ua) return;
    const i = ua.findIndex((c) => c.asc === code.asc && c.ascq === code.ascq);
    if (i >= 0) ua.splice(i, 1);
  }

  takePendingSense(nexus: Nexus): SenseCode | null {
    const s = this.states.get(nexus.key);
    if (!s?.pending) return null;
    const code = s.pending;
    s.pending = null;
    return code;
  }

  *nexuses(): Iterable<Nexus> {
    for (const s of this.states.values()) yield s.nexus;
  }

  /** Pending unit attentions of one nexus, highest priority first (tests, diagnostics). */
  pendingUnitAttentions(nexus: Nexus): readonly SenseCode[] {
    return this.states.get(nexus.key)?.ua ?? [];
  }

  // ---- internals ------------------------------------------------------------------------------

  /** A nexus the target never announced is registered silently on its first command. */
  private stateOf(nexus: Nexus): NexusState {
    let s = this.states.get(nexus.key);
    if (!s) {
      s = { nexus, ua: [], pending: null };
      this.states.set(nexus.key, s);
    }
    return s;
  }

  private addUa(s: NexusState, code: SenseCode): void {
    if (s.ua.some((c) => c.asc === code.asc && c.ascq === code.ascq)) return;
    const p = uaPriority(code);
    const at = s.ua.findIndex((c) => uaPriority(c) > p);
    if (at < 0) s.ua.push(code);
    else s.ua.splice(at, 0, code);
  }

  /**
   * SPC-2 RESERVE (SPC-4 5.13.3 compatibility): other I_T nexuses conflict except for the
   * commands allowed under reservation. Persistent reservations: SPC-4 5.13.1 (commands allowed in the presence of reservations).
   */
  private reservationConflict(spec: TableEntry<D>, nexusKey: string): boolean {
    const allowed = spec.allowedUnderReservation === true;
    if (this.spc2Holder !== null && this.spc2Holder !== nexusKey) {
      if (!allowed || ('conflictsWithSpc2Reservation' in spec && spec.conflictsWithSpc2Reservation))
        return true;
    }
    if (this.pr.reservation === null) return false;
    return this.pr.conflicts(nexusKey, allowed, spec.allowedUnderWriteExclusive ?? allowed);
  }
}

/** SPC core mode pages (control, informational exceptions) under the device's own. */
function bindModePages<D>(profile: DeviceProfile<D>, device: D, control: ControlState): BoundModePage[] {
  const pages = new Map<number, BoundModePage>();
  for (const p of SPC_MODE_PAGES) {
    pages.set(p.page * 0x100 + p.subpage, {
      name: p.name,
      page: p.page,
      subpage: p.subpage,
      encode: (pc) => p.encode(control, pc),
      select: (page, nexus) => p.select(control, page, nexus),
    });
  }
  for (const p of profile.modePages) {
    pages.set(p.page * 0x100 + p.subpage, {
      name: p.name,
      page: p.page,
      subpage: p.subpage,
      encode: (pc) => p.encode(device, pc),
      select: (page, nexus) => p.select(device, page, nexus),
      ...(p.acceptsLength ? { acceptsLength: (n: number) => p.acceptsLength!(device, n) } : {}),
    });
  }
  return [...pages.entries()].sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

/** Builds a logical unit from a device profile and the device's state object. */
export function createLogicalUnit<D>(
  profile: DeviceProfile<D>,
  device: D,
  options: LogicalUnitOptions = {},
): ScsiDevice<D> {
  return new ScsiDevice(profile, device, options);
}
