/**
 * The elements of a library (SMC-3 4.2 'medium changer elements'): one medium transport (the
 * robot's gripper), storage slots, import/export elements (mailslots) and data transfer elements
 * (drives), each with a 16-bit element address.
 *
 * Default address scheme, in the style of IBM TS3500/TS4500 and the STK libraries mhvtl copies:
 *
 *   medium transport   0x0001            (not 0: mtx stops collecting when a later element
 *                                         reports address 0, and MOVE MEDIUM's transport
 *                                         address 0 means "the default transport", SMC-3)
 *   data transfer      0x0100 + i        (drive i, LUN i+1)
 *   import/export      0x0300 + i
 *   storage            0x0400 + i        (up to 0xFFFF: ~64,000 slots)
 *
 * Locations are persisted by element type and index, never by address, so a different address
 * scheme does not invalidate a saved inventory.
 */
import { VtlError } from '../../util/errors.js';

export type ElementType = 'transport' | 'slot' | 'mailslot' | 'drive';

/** SMC-3 table 'element type code'. */
export const ELEMENT_TYPE_CODE: Readonly<Record<ElementType, number>> = {
  transport: 1,
  slot: 2,
  mailslot: 3,
  drive: 4,
};

/** One element: its type and 0-based index within the type. */
export interface ElementRef {
  readonly type: ElementType;
  readonly index: number;
}

export interface ElementAddressScheme {
  readonly transport: number;
  readonly firstDrive: number;
  readonly firstMailslot: number;
  readonly firstSlot: number;
}

export const DEFAULT_ELEMENT_ADDRESSES: ElementAddressScheme = Object.freeze({
  transport: 0x0001,
  firstDrive: 0x0100,
  firstMailslot: 0x0300,
  firstSlot: 0x0400,
});

export interface ElementCounts {
  readonly slots: number;
  readonly mailslots: number;
  readonly drives: number;
}

/** Build order; `all` is then sorted by address, whatever the scheme. */
const TYPES: readonly ElementType[] = ['transport', 'drive', 'mailslot', 'slot'];

/** The element map: counts, addresses, and lookups both ways. */
export class ElementLayout {
  readonly transports = 1;
  readonly slots: number;
  readonly mailslots: number;
  readonly drives: number;
  readonly addresses: ElementAddressScheme;
  /** Every element in ascending address order (READ ELEMENT STATUS order). */
  readonly all: readonly (ElementRef & { readonly address: number })[];
  private readonly byAddress = new Map<number, ElementRef>();

  constructor(counts: ElementCounts, addresses: Partial<ElementAddressScheme> = {}) {
    checkCount('slots', counts.slots, 1);
    checkCount('mailslots', counts.mailslots, 0);
    checkCount('drives', counts.drives, 0);
    this.slots = counts.slots;
    this.mailslots = counts.mailslots;
    this.drives = counts.drives;
    this.addresses = { ...DEFAULT_ELEMENT_ADDRESSES, ...addresses };
    const all: (ElementRef & { address: number })[] = [];
    for (const type of TYPES) {
      for (let index = 0; index < this.count(type); index++) {
        const address = this.first(type) + index;
        if (!Number.isInteger(address) || address < 0 || address > 0xffff) {
          throw new VtlError(
            'ERR_CONFIG',
            `${type} ${index + 1} would have element address ${address}, beyond 0xFFFF`,
          );
        }
        const clash = this.byAddress.get(address);
        if (clash) {
          throw new VtlError(
            'ERR_CONFIG',
            `element address 0x${hex(address)} is given to both ${clash.type} ${clash.index + 1} and ${type} ${index + 1}`,
          );
        }
        const ref = { type, index };
        this.byAddress.set(address, ref);
        all.push({ ...ref, address });
      }
    }
    this.all = all.sort((a, b) => a.address - b.address);
  }

  count(type: ElementType): number {
    switch (type) {
      case 'transport':
        return this.transports;
      case 'slot':
        return this.slots;
      case 'mailslot':
        return this.mailslots;
      case 'drive':
        return this.drives;
    }
  }

  /** First element address of a type (also reported when the type has no elements). */
  first(type: ElementType): number {
    const a = this.addresses;
    switch (type) {
      case 'transport':
        return a.transport;
      case 'slot':
        return a.firstSlot;
      case 'mailslot':
        return a.firstMailslot;
      case 'drive':
        return a.firstDrive;
    }
  }

  addressOf(ref: ElementRef): number {
    return this.first(ref.type) + ref.index;
  }

  /** The element at an address, or null when there is none. */
  at(address: number): ElementRef | null {
    return this.byAddress.get(address) ?? null;
  }

  contains(ref: ElementRef): boolean {
    return Number.isInteger(ref.index) && ref.index >= 0 && ref.index < this.count(ref.type);
  }

  /** Highest element address in use. */
  get highestAddress(): number {
    return this.all[this.all.length - 1].address;
  }
}

export function elementKey(ref: ElementRef): string {
  return `${ref.type}:${ref.index}`;
}

export function sameElement(a: ElementRef, b: ElementRef): boolean {
  return a.type === b.type && a.index === b.index;
}

/** 'slot 3', 'drive 1' (1-based, as mtx and operators count). */
export function describeElement(ref: ElementRef): string {
  return `${ref.type} ${ref.index + 1}`;
}

function checkCount(name: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min || n > 0xffff) {
    throw new VtlError('ERR_CONFIG', `${name} must be an integer ${min}..65535, got ${n}`);
  }
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}
