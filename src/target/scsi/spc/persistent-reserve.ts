/**
 * PERSISTENT RESERVE IN (SPC-4 6.15) and OUT (SPC-4 6.16), persistent reservations SPC-4 5.13.
 * LTFS registers with REGISTER AND IGNORE EXISTING KEY and holds an exclusive access
 * reservation while mounted; NetBackup registers, reserves, and CLEARs at unmount.
 *
 * Not supported, each answered precisely: APTPL=1 (nothing survives a restart: PTPL_C=0),
 * SPEC_I_PT and ALL_TG_PT (one target port, SIP_C=ATP_C=0) → INVALID FIELD IN PARAMETER LIST;
 * REGISTER AND MOVE and REPLACE LOST RESERVATION → INVALID FIELD IN CDB (unknown service
 * action). PREEMPT AND ABORT preempts like PREEMPT: tasks run one at a time per logical unit,
 * so none of the preempted nexuses' tasks is in progress when it runs.
 */
import { ByteReader, ByteWriter } from '../../../util/bytes.js';
import { SENSE, SenseError } from '../sense.js';
import type { SenseCode } from '../sense.js';
import type { Nexus, ScsiResponse } from '../types.js';
import { RESERVATION_CONFLICT } from '../dispatch.js';
import { invalidCdbField, invalidParameter, parameterListLengthError, truncate } from './common.js';
import type { SpcCommandSpec, SpcContext, SpcCore } from './context.js';
import { PR_TYPE_NAMES, isAllRegistrants, isRegistrantsOnly } from './pr-state.js';

// ---- PERSISTENT RESERVE IN ------------------------------------------------------------------

function allocationLength(cdb: Buffer): number {
  return cdb.readUInt16BE(7);
}

function readKeys(ctx: SpcContext): Buffer {
  const pr = ctx.core.pr;
  const w = new ByteWriter(8 + 8 * pr.registrations.size);
  w.u32(pr.generation).u32(8 * pr.registrations.size);
  for (const reg of pr.registrations.values()) w.u64(reg.key);
  return truncate(w.buf, allocationLength(ctx.cdb));
}

function readReservation(ctx: SpcContext): Buffer {
  const pr = ctx.core.pr;
  const r = pr.reservation;
  const w = new ByteWriter(r ? 24 : 8);
  w.u32(pr.generation).u32(r ? 16 : 0);
  // Scope is always LU_SCOPE (0); the key is 0 for all-registrants types (SPC-4 6.15.3.3).
  if (r) w.u64(pr.reservationKey()).u32(0).u8(0).u8(r.type).u16(0);
  return truncate(w.buf, allocationLength(ctx.cdb));
}

/** REPORT CAPABILITIES (SPC-4 6.15.4): CRH=1, TMV=1, the six types, nothing else. */
function reportCapabilities(ctx: SpcContext): Buffer {
  const w = new ByteWriter(8);
  w.u16(8);
  w.u8(0x10); // CRH; SIP_C, ATP_C, PTPL_C = 0
  w.u8(0x80); // TMV: the type mask is valid; ALLOW COMMANDS 000b; PTPL_A 0
  w.u8(0x80 | 0x40 | 0x20 | 0x08 | 0x02); // WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX
  w.u8(0x01); // EX_AC_AR
  w.u16(0);
  return truncate(w.buf, allocationLength(ctx.cdb));
}

/** READ FULL STATUS (SPC-4 6.15.5): one descriptor per registered I_T nexus. */
function readFullStatus(ctx: SpcContext): Buffer {
  const pr = ctx.core.pr;
  const rtpi = ctx.task.target.portalGroupTag & 0xffff;
  const descriptors = [...pr.registrations.entries()].map(([key, reg]) => {
    const tid = reg.nexus.transportId;
    const holder = pr.isHolder(key);
    const w = new ByteWriter(24 + tid.length);
    w.u64(reg.key).u32(0);
    w.u8(holder ? 0x01 : 0x00); // ALL_TG_PT 0, R_HOLDER
    w.u8(holder ? pr.reservation!.type : 0);
    w.u32(0).u16(rtpi).u32(tid.length).bytes(tid);
    return w.buf;
  });
  const body = Buffer.concat(descriptors);
  const w = new ByteWriter(8 + body.length);
  w.u32(pr.generation).u32(body.length).bytes(body);
  return truncate(w.buf, allocationLength(ctx.cdb));
}

// ---- PERSISTENT RESERVE OUT -----------------------------------------------------------------

interface ProutParameters {
  key: bigint;
  saKey: bigint;
}

const PROUT_LIST_LENGTH = 24;

/** The basic parameter list (SPC-4 6.16.3): exactly 24 bytes without SPEC_I_PT. */
function decodeParameters(ctx: SpcContext): ProutParameters {
  const length = ctx.cdb.readUInt32BE(5);
  const data = ctx.task.dataOut ?? Buffer.alloc(0);
  if (length !== PROUT_LIST_LENGTH || data.length < PROUT_LIST_LENGTH) throw parameterListLengthError();
  const r = new ByteReader(data);
  const key = r.u64();
  const saKey = r.u64();
  const flags = r.skip(4).u8();
  if (flags & 0x08) throw invalidParameter(20, 3); // SPEC_I_PT: SIP_C=0
  if (flags & 0x04) throw invalidParameter(20, 2); // ALL_TG_PT: ATP_C=0
  if (flags & 0x01) throw invalidParameter(20, 0); // APTPL: PTPL_C=0, nothing persists a restart
  return { key, saKey };
}

/** TYPE of RESERVE, RELEASE and PREEMPT, with SCOPE LU_SCOPE (SPC-4 6.16.2). */
function scopeAndType(cdb: Buffer): number {
  const b2 = cdb[2];
  if (b2 >> 4 !== 0) throw invalidCdbField(2, 7);
  const type = b2 & 0x0f;
  if (PR_TYPE_NAMES[type] === undefined) throw invalidCdbField(2, 3);
  return type;
}

/** SPC-4 5.13.5: the RESERVATION KEY must be the nexus' registered key (0 when unregistered). */
function keyMatches(core: SpcCore, nexus: Nexus, key: bigint): boolean {
  const reg = core.pr.registrationOf(nexus);
  return reg ? reg.key === key : false;
}

function uaToRegistrants(core: SpcCore, code: SenseCode, except: Nexus, only?: Iterable<string>): void {
  const targets = only ? new Set(only) : new Set(core.pr.registrations.keys());
  for (const n of core.nexuses()) {
    if (n.key !== except.key && targets.has(n.key)) core.raiseUnitAttentionFor(n, code);
  }
}

function register(ctx: SpcContext, ignoreExisting: boolean): ScsiResponse | void {
  const core = ctx.core;
  const p = decodeParameters(ctx);
  const reg = core.pr.registrationOf(ctx.nexus);
  if (!ignoreExisting && (reg ? reg.key !== p.key : p.key !== 0n)) return RESERVATION_CONFLICT;
  if (p.saKey === 0n) {
    if (!reg) return; // unregistering what is not registered: GOOD, nothing changes
    const r = core.pr.reservation;
    const { released } = core.pr.unregister(ctx.nexus.key);
    // SPC-4 5.13.11.2.2: a registrants-only reservation released by unregistering its holder
    // tells the remaining registrants (2A/04).
    if (released && r && isRegistrantsOnly(r.type))
      uaToRegistrants(core, SENSE.RESERVATIONS_RELEASED, ctx.nexus);
  } else if (reg) {
    reg.key = p.saKey;
  } else {
    core.pr.registrations.set(ctx.nexus.key, { nexus: ctx.nexus, key: p.saKey });
  }
  core.pr.generation++;
}

function reserve(ctx: SpcContext): ScsiResponse | void {
  const core = ctx.core;
  const type = scopeAndType(ctx.cdb);
  const p = decodeParameters(ctx);
  if (!keyMatches(core, ctx.nexus, p.key)) return RESERVATION_CONFLICT;
  const r = core.pr.reservation;
  if (!r) {
    core.pr.reservation = { holder: ctx.nexus.key, type };
    return;
  }
  // SPC-4 6.16.2 RESERVE: the holder reserving the same type again is GOOD; all else conflicts.
  if (core.pr.isHolder(ctx.nexus.key) && r.type === type) return;
  return RESERVATION_CONFLICT;
}

function release(ctx: SpcContext): ScsiResponse | void {
  const core = ctx.core;
  const type = scopeAndType(ctx.cdb);
  const p = decodeParameters(ctx);
  if (!keyMatches(core, ctx.nexus, p.key)) return RESERVATION_CONFLICT;
  const r = core.pr.reservation;
  // SPC-4 5.13.11.2.2: no reservation, or a non-holder releasing: GOOD, nothing changes.
  if (!r || !core.pr.isHolder(ctx.nexus.key)) return;
  if (r.type !== type) throw new SenseError(SENSE.INVALID_RELEASE_OF_PERSISTENT_RESERVATION);
  core.pr.reservation = null;
  // Registrants-only and all-registrants reservations tell the other registrants (2A/04).
  if (isRegistrantsOnly(type) || isAllRegistrants(type))
    uaToRegistrants(core, SENSE.RESERVATIONS_RELEASED, ctx.nexus);
}

function clear(ctx: SpcContext): ScsiResponse | void {
  const core = ctx.core;
  const p = decodeParameters(ctx);
  if (!keyMatches(core, ctx.nexus, p.key)) return RESERVATION_CONFLICT;
  // SPC-4 CLEAR service action: every other registrant learns of it through 2A/03.
  uaToRegistrants(core, SENSE.RESERVATIONS_PREEMPTED, ctx.nexus);
  core.pr.clear();
  core.pr.generation++;
}

/** PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.4.4). */
function preempt(ctx: SpcContext): ScsiResponse | void {
  const core = ctx.core;
  const pr = core.pr;
  const type = scopeAndType(ctx.cdb);
  const p = decodeParameters(ctx);
  if (!keyMatches(core, ctx.nexus, p.key)) return RESERVATION_CONFLICT;
  const r = pr.reservation;
  const victims = (): string[] =>
    [...pr.registrations.entries()]
      .filter(([k, reg]) => k !== ctx.nexus.key && reg.key === p.saKey)
      .map(([k]) => k);
  const drop = (keys: readonly string[]): void => {
    uaToRegistrants(core, SENSE.REGISTRATIONS_PREEMPTED, ctx.nexus, keys);
    for (const k of keys) pr.registrations.delete(k);
  };
  if (r && isAllRegistrants(r.type) && p.saKey === 0n) {
    // All-registrants reservation, key 0: every other registration goes, the preempting nexus
    // takes a new reservation of the type asked.
    drop([...pr.registrations.keys()].filter((k) => k !== ctx.nexus.key));
    pr.reservation = { holder: ctx.nexus.key, type };
  } else if (r && !isAllRegistrants(r.type) && p.saKey === pr.reservationKey()) {
    // Preempting the holder (SPC-4 5.13.11.4.3): its registrations go (2A/05 to them), the
    // reservation changes hands, and if the type changed the registrants that stay get 2A/04.
    const typeChanged = r.type !== type;
    drop(victims());
    pr.reservation = { holder: ctx.nexus.key, type };
    if (typeChanged) uaToRegistrants(core, SENSE.RESERVATIONS_RELEASED, ctx.nexus);
  } else {
    // Only registrations are removed; a key of 0 names nobody (SPC-4 5.13.11.4.4).
    if (p.saKey === 0n) throw invalidParameter(8);
    const keys = victims();
    if (keys.length === 0) return RESERVATION_CONFLICT;
    // The holder's key is handled above, so the reservation stays as it is.
    drop(keys);
  }
  pr.generation++;
}

// ---- tables ---------------------------------------------------------------------------------

const PRIN_USAGE = [0xff, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00] as const;
const PROUT_USAGE = [0xff, 0x1f, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00] as const;

const prin = {
  opcode: 0x5e,
  cdbLength: 10,
  direction: 'in',
  usage: PRIN_USAGE,
  timeout: 10,
  // SPC-4 5.13.1: allowed under any persistent reservation; SPC-4 5.13.3: not under another
  // nexus' SPC-2 reservation.
  allowedUnderReservation: true,
  conflictsWithSpc2Reservation: true,
} as const;

const prout = {
  opcode: 0x5f,
  cdbLength: 10,
  direction: 'out',
  usage: PROUT_USAGE,
  timeout: 10,
  // Each service action checks its own reservation key (SPC-4 5.13.5).
  allowedUnderReservation: true,
  conflictsWithSpc2Reservation: true,
} as const;

export const PERSISTENT_RESERVE_COMMANDS: readonly SpcCommandSpec[] = [
  { ...prin, name: 'PERSISTENT RESERVE IN: READ KEYS', serviceAction: 0x00, handler: readKeys },
  { ...prin, name: 'PERSISTENT RESERVE IN: READ RESERVATION', serviceAction: 0x01, handler: readReservation },
  {
    ...prin,
    name: 'PERSISTENT RESERVE IN: REPORT CAPABILITIES',
    serviceAction: 0x02,
    handler: reportCapabilities,
  },
  { ...prin, name: 'PERSISTENT RESERVE IN: READ FULL STATUS', serviceAction: 0x03, handler: readFullStatus },
  {
    ...prout,
    name: 'PERSISTENT RESERVE OUT: REGISTER',
    serviceAction: 0x00,
    handler: (ctx) => register(ctx, false),
  },
  { ...prout, name: 'PERSISTENT RESERVE OUT: RESERVE', serviceAction: 0x01, handler: reserve },
  { ...prout, name: 'PERSISTENT RESERVE OUT: RELEASE', serviceAction: 0x02, handler: release },
  { ...prout, name: 'PERSISTENT RESERVE OUT: CLEAR', serviceAction: 0x03, handler: clear },
  { ...prout, name: 'PERSISTENT RESERVE OUT: PREEMPT', serviceAction: 0x04, handler: preempt },
  { ...prout, name: 'PERSISTENT RESERVE OUT: PREEMPT AND ABORT', serviceAction: 0x05, handler: preempt },
  {
    ...prout,
    name: 'PERSISTENT RESERVE OUT: REGISTER AND IGNORE EXISTING KEY',
    serviceAction: 0x06,
    handler: (ctx) => register(ctx, true),
  },
];
