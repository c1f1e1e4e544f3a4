/**
 * Persistent reservation state of one logical unit (SPC-4 5.13): registrations per I_T nexus,
 * the reservation and the PRgeneration counter. Registrations are kept across I_T nexus loss
 * (SPC-4 5.13.6: only APTPL concerns power loss, and a lost nexus keeps its registration so
 * the same initiator port can come back and release).
 */
import type { Nexus } from '../types.js';

/** PERSISTENT RESERVE TYPE codes (SPC-4 table 169). */
export const PrType = {
  WRITE_EXCLUSIVE: 0x1,
  EXCLUSIVE_ACCESS: 0x3,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 0x5,
  EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 0x6,
  WRITE_EXCLUSIVE_ALL_REGISTRANTS: 0x7,
  EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 0x8,
} as const;

export const PR_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(PrType).map(([name, value]) => [value, name]),
);

export function isAllRegistrants(type: number): boolean {
  return type === PrType.WRITE_EXCLUSIVE_ALL_REGISTRANTS || type === PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS;
}

export function isRegistrantsOnly(type: number): boolean {
  return (
    type === PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY || type === PrType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY
  );
}

/** Write exclusive flavours let every I_T nexus read (SPC-4 5.13.1). */
export function isWriteExclusive(type: number): boolean {
  return (
    type === PrType.WRITE_EXCLUSIVE ||
    type === PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY ||
    type === PrType.WRITE_EXCLUSIVE_ALL_REGISTRANTS
  );
}

export interface Registration {
  readonly nexus: Nexus;
  key: bigint;
}

export interface Reservation {
  /** Nexus key of the holder; for all-registrants types every registrant holds it. */
  holder: string;
  type: number;
}

export class PersistentReservations {
  /** Registrations by nexus key, in registration order (READ KEYS lists them so). */
  readonly registrations = new Map<string, Registration>();
  reservation: Reservation | null = null;
  generation = 0;

  registrationOf(nexus: Nexus): Registration | undefined {
    return this.registrations.get(nexus.key);
  }

  /** SPC-4 5.13.10: the holder, or any registrant of an all-registrants reservation. */
  isHolder(nexusKey: string): boolean {
    const r = this.reservation;
    if (!r) return false;
    if (isAllRegistrants(r.type)) return this.registrations.has(nexusKey);
    return r.holder === nexusKey;
  }

  /**
   * Access check of SPC-4 5.13.1 (table of commands allowed in the presence of reservations) for an ordinary command: `readOnly` commands pass a
   * write exclusive reservation; registrants pass registrants-only and all-registrants types.
   */
  conflicts(nexusKey: string, allowed: boolean, allowedUnderWriteExclusive: boolean): boolean {
    const r = this.reservation;
    if (!r || allowed) return false;
    if (this.isHolder(nexusKey)) return false;
    if ((isRegistrantsOnly(r.type) || isAllRegistrants(r.type)) && this.registrations.has(nexusKey))
      return false;
    return !(isWriteExclusive(r.type) && allowedUnderWriteExclusive);
  }

  /** Drops a registration; the reservation goes with it unless all registrants hold it. */
  unregister(nexusKey: string): { released: boolean } {
    this.registrations.delete(nexusKey);
    const r = this.reservation;
    if (!r) return { released: false };
    if (isAllRegistrants(r.type) ? this.registrations.size === 0 : r.holder === nexusKey) {
      this.reservation = null;
      return { released: true };
    }
    return { released: false };
  }

  /** The key shown by READ RESERVATION / READ FULL STATUS: 0 for all-registrants (SPC-4 6.15.3). */
  reservationKey(): bigint {
    const r = this.reservation;
    if (!r || isAllRegistrants(r.type)) return 0n;
    return this.registrations.get(r.holder)?.key ?? 0n;
  }

  clear(): void {
    this.registrations.clear();
    this.reservation = null;
  }
}
