/**
 * RESERVE(6)/(10) and RELEASE(6)/(10): SPC-2 logical unit reservations (SPC-2 7.21-7.24), the
 * default drive reservation method of NetBackup. Third-party and extent reservations are
 * obsolete and refused through the usage masks (INVALID FIELD IN CDB at byte 1).
 *
 * Beside persistent reservations this follows SPC-4 5.13.3 (Compatible Reservation Handling,
 * CRH=1 in REPORT CAPABILITIES): while a persistent reservation exists, RESERVE and RELEASE
 * from its holder (or from a registrant of a registrants-only / all-registrants type) complete
 * with GOOD and change nothing; from anyone else they conflict.
 */
import { isAllRegistrants, isRegistrantsOnly } from './pr-state.js';
import type { ScsiResponse } from '../types.js';
import { RESERVATION_CONFLICT } from '../dispatch.js';
import type { SpcCommandSpec, SpcContext, SpcCore } from './context.js';

/** SPC-4 5.13.3: how a persistent reservation answers an SPC-2 RESERVE or RELEASE. */
function underPersistentReservation(core: SpcCore, nexusKey: string): 'good' | 'conflict' | null {
  const r = core.pr.reservation;
  if (!r) return null;
  if (core.pr.isHolder(nexusKey)) return 'good';
  if ((isRegistrantsOnly(r.type) || isAllRegistrants(r.type)) && core.pr.registrations.has(nexusKey))
    return 'good';
  return 'conflict';
}

function reserve(ctx: SpcContext): ScsiResponse | void {
  const key = ctx.nexus.key;
  const pr = underPersistentReservation(ctx.core, key);
  if (pr === 'conflict') return RESERVATION_CONFLICT;
  if (pr === 'good') return;
  // SPC-2 7.21: the holder may reserve again; anyone else conflicts.
  if (ctx.core.spc2Holder !== null && ctx.core.spc2Holder !== key) return RESERVATION_CONFLICT;
  ctx.core.spc2Holder = key;
}

function release(ctx: SpcContext): ScsiResponse | void {
  const key = ctx.nexus.key;
  const pr = underPersistentReservation(ctx.core, key);
  if (pr === 'conflict') return RESERVATION_CONFLICT;
  if (pr === 'good') return;
  // SPC-2 7.23: RELEASE from a nexus that holds nothing is GOOD and changes nothing.
  if (ctx.core.spc2Holder === key) ctx.core.spc2Holder = null;
}

const common = {
  direction: 'none',
  timeout: 10,
  // The handlers themselves decide who conflicts (SPC-2 7.21, SPC-4 5.13.3).
  allowedUnderReservation: true,
} as const;

export const RESERVE_COMMANDS: readonly SpcCommandSpec[] = [
  {
    ...common,
    name: 'RESERVE(6)',
    opcode: 0x16,
    cdbLength: 6,
    usage: [0xff, 0x00, 0x00, 0x00, 0x00, 0x00],
    handler: reserve,
  },
  {
    ...common,
    name: 'RELEASE(6)',
    opcode: 0x17,
    cdbLength: 6,
    usage: [0xff, 0x00, 0x00, 0x00, 0x00, 0x00],
    handler: release,
  },
  {
    ...common,
    name: 'RESERVE(10)',
    opcode: 0x56,
    cdbLength: 10,
    usage: [0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    handler: reserve,
  },
  {
    ...common,
    name: 'RELEASE(10)',
    opcode: 0x57,
    cdbLength: 10,
    usage: [0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    handler: release,
  },
];
