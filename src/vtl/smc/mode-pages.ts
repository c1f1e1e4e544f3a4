/**
 * Changer mode pages (SMC-3 7.3): Element Address Assignment (1Dh), Transport Geometry
 * Parameters (1Eh) and Device Capabilities (1Fh). None is changeable and nothing is saved (PS=0).
 *
 * Page 1Dh is 20 bytes, so MODE SENSE(6) with DBD=1 answers mode data length exactly 23 (4-byte
 * header + page - 1), which PBS insists on; its counts are the element counts READ ELEMENT STATUS
 * reports (PBS aborts on a mismatch, clients.md 2).
 */
import { ByteWriter } from '../../util/bytes.js';
import type { ModePageSpec, PageControl } from '../../target/scsi/types.js';
import { invalidParameter } from '../../target/scsi/spc/common.js';
import type { ElementType } from '../inventory/elements.js';
import type { MediumChanger } from './changer.js';

const ELEMENT_ADDRESS_ASSIGNMENT_LENGTH = 20;
const DEVICE_CAPABILITIES_LENGTH = 20;
/** One 2-byte transport geometry descriptor per medium transport element (one here). */
const TRANSPORT_GEOMETRY_LENGTH = 4;

/** Every page here is fixed: MODE SELECT may send it back unchanged and nothing else. */
function selectUnchanged(spec: ModePageSpec<MediumChanger>) {
  return (changer: MediumChanger, page: Buffer): void => {
    const current = spec.encode(changer, 'current');
    for (let i = 2; i < current.length; i++) if (page[i] !== current[i]) throw invalidParameter(i);
  };
}

export const elementAddressAssignmentPage: ModePageSpec<MediumChanger> = {
  name: 'Element Address Assignment',
  page: 0x1d,
  subpage: 0,
  length: ELEMENT_ADDRESS_ASSIGNMENT_LENGTH,
  encode(changer: MediumChanger, pc: PageControl): Buffer {
    const w = new ByteWriter(ELEMENT_ADDRESS_ASSIGNMENT_LENGTH);
    w.u8(0x1d).u8(ELEMENT_ADDRESS_ASSIGNMENT_LENGTH - 2);
    if (pc === 'changeable') return w.buf;
    const layout = changer.inventory.layout;
    for (const type of ['transport', 'slot', 'mailslot', 'drive'] as const satisfies readonly ElementType[]) {
      w.u16(layout.first(type)).u16(layout.count(type));
    }
    return w.buf;
  },
  select(changer, page) {
    selectUnchanged(elementAddressAssignmentPage)(changer, page);
  },
};

export const transportGeometryPage: ModePageSpec<MediumChanger> = {
  name: 'Transport Geometry Parameters',
  page: 0x1e,
  subpage: 0,
  length: TRANSPORT_GEOMETRY_LENGTH,
  // ROTATE 0: LTO cartridges have one side; MEMBER NUMBER IN TRANSPORT ELEMENT SET 0.
  encode: (): Buffer =>
    new ByteWriter(TRANSPORT_GEOMETRY_LENGTH).u8(0x1e).u8(TRANSPORT_GEOMETRY_LENGTH - 2).buf,
  select(changer, page) {
    selectUnchanged(transportGeometryPage)(changer, page);
  },
};

/** Bits 0-3 of a capability byte: medium transport, storage, import/export, data transfer. */
const ALL_ELEMENT_TYPES = 0x0f;

/**
 * Device Capabilities: every element type can store a cartridge (StorMT..StorDT) and every move
 * between them is allowed. Exchange capabilities only when the personality has EXCHANGE MEDIUM.
 */
export const deviceCapabilitiesPage: ModePageSpec<MediumChanger> = {
  name: 'Device Capabilities',
  page: 0x1f,
  subpage: 0,
  length: DEVICE_CAPABILITIES_LENGTH,
  encode(changer: MediumChanger, pc: PageControl): Buffer {
    const w = new ByteWriter(DEVICE_CAPABILITIES_LENGTH);
    w.u8(0x1f).u8(DEVICE_CAPABILITIES_LENGTH - 2);
    if (pc === 'changeable') return w.buf;
    w.u8(ALL_ELEMENT_TYPES).u8(0); // StorDT StorI/E StorST StorMT
    for (let i = 0; i < 4; i++) w.u8(ALL_ELEMENT_TYPES); // MT→, ST→, I/E→, DT→
    w.skip(4);
    const exchange = changer.model.exchangeMedium ? ALL_ELEMENT_TYPES : 0;
    for (let i = 0; i < 4; i++) w.u8(exchange); // MT<>, ST<>, I/E<>, DT<>
    return w.buf;
  },
  select(changer, page) {
    selectUnchanged(deviceCapabilitiesPage)(changer, page);
  },
};

export const CHANGER_MODE_PAGES: readonly ModePageSpec<MediumChanger>[] = [
  elementAddressAssignmentPage,
  transportGeometryPage,
  deviceCapabilitiesPage,
];
