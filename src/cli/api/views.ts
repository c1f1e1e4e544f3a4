/**
 * What the API shows of a running library: plain JSON built from the library's live state, with
 * elements numbered from 1 (mtx and operators count that way; the inventory counts from 0).
 */
import type { ElementRef } from '../../vtl/inventory/elements.js';
import type { CartridgeRecord, Location } from '../../vtl/inventory/types.js';
import type { Inventory } from '../../vtl/inventory/inventory.js';
import type { TapeLibrary, VirtualLibrary } from '../../vtl/library.js';
import type {
  CartridgeView,
  DriveView,
  ElementView,
  LibraryView,
  LocationView,
  StatusView,
} from './types.js';

export function locationView(location: Location, inventory: Inventory | null): LocationView {
  if (location.type === 'vault') return { type: 'vault', name: 'vault' };
  return elementName(location, inventory ? inventory.layout.addressOf(location) : 0);
}

function elementName(ref: ElementRef, address: number): Exclude<LocationView, { type: 'vault' }> {
  return { type: ref.type, number: ref.index + 1, address, name: `${ref.type} ${ref.index + 1}` };
}

export function cartridgeView(rec: CartridgeRecord, inventory: Inventory | null): CartridgeView {
  return {
    barcode: rec.barcode,
    mediaType: rec.mediaType,
    location: locationView(rec.location, inventory),
    ...(rec.home ? { home: locationView(rec.home, inventory) } : {}),
    ...(rec.cleaningUsesLeft !== undefined ? { cleaningUsesLeft: rec.cleaningUsesLeft } : {}),
    ...(rec.imported ? { imported: true } : {}),
  };
}

export function driveViews(library: TapeLibrary): DriveView[] {
  return library.drives.map(({ lun, serial, drive }) => {
    const image = drive.cartridgeInDrive;
    const pos = image?.position();
    return {
      lun,
      serial,
      vendor: drive.model.vendor,
      product: drive.model.product,
      state: drive.state,
      cartridge: image ? image.label : null,
      position: pos
        ? {
            partition: pos.partition,
            objectNumber: pos.objectNumber,
            fileNumber: pos.fileNumber,
            bop: pos.bop,
            eod: pos.eod,
          }
        : null,
      removalPrevented: drive.removalPrevented,
    };
  });
}

export function portalsOf(server: VirtualLibrary): string[] {
  return server.portals.map((p) => (p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`));
}

export function libraryView(library: TapeLibrary): LibraryView {
  return {
    name: library.name,
    targetName: library.targetName,
    drives: library.drives.length,
    changer: library.inventory !== null,
    cartridges: library.inventory ? library.inventory.list().length : null,
  };
}

export function statusView(server: VirtualLibrary, library: TapeLibrary): StatusView {
  const inv = library.inventory;
  const changer = library.changer;
  const elements: ElementView[] | null = inv
    ? inv.elements().map((e) => ({
        ...elementName(e.ref, e.address),
        type: e.ref.type,
        cartridge: e.cartridge ? cartridgeView(e.cartridge, inv) : null,
      }))
    : null;
  return {
    library: {
      name: library.name,
      targetName: library.targetName,
      portals: portalsOf(server),
      changer:
        inv && changer
          ? {
              lun: 0,
              model: changer.model,
              serial: changer.serial,
              slots: inv.layout.slots,
              mailslots: inv.layout.mailslots,
              mailslotsLocked: inv.mailslotsLocked,
            }
          : null,
    },
    drives: driveViews(library),
    elements,
  };
}
