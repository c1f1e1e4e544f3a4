/**
 * What the API shows of a running library: plain JSON built from the library's live state, with
 * elements numbered from 1 (mtx and operators count that way; the inventory counts from 0).
 */
import type { ElementRef } from '../../vtl/inventory/elements.js';
import type { CartridgeRecord, Location } from '../../vtl/inventory/types.js';
import type { VirtualLibrary } from '../../vtl/library.js';
import { defaultChangerSerial } from '../../vtl/smc/index.js';
import type { CartridgeView, DriveView, ElementView, LocationView, StatusView } from './types.js';

export function locationView(location: Location, inventory: VirtualLibrary['inventory']): LocationView {
  if (location.type === 'vault') return { type: 'vault', name: 'vault' };
  return elementName(location, inventory ? inventory.layout.addressOf(location) : 0);
}

function elementName(ref: ElementRef, address: number): Exclude<LocationView, { type: 'vault' }> {
  return { type: ref.type, number: ref.index + 1, address, name: `${ref.type} ${ref.index + 1}` };
}

export function cartridgeView(rec: CartridgeRecord, inventory: VirtualLibrary['inventory']): CartridgeView {
  return {
    barcode: rec.barcode,
    mediaType: rec.mediaType,
    location: locationView(rec.location, inventory),
    ...(rec.home ? { home: locationView(rec.home, inventory) } : {}),
    ...(rec.cleaningUsesLeft !== undefined ? { cleaningUsesLeft: rec.cleaningUsesLeft } : {}),
    ...(rec.imported ? { imported: true } : {}),
  };
}

export function driveViews(library: VirtualLibrary): DriveView[] {
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

export function statusView(library: VirtualLibrary): StatusView {
  const inv = library.inventory;
  const changer = library.config.changer;
  const elements: ElementView[] | null = inv
    ? inv.elements().map((e) => ({
        ...elementName(e.ref, e.address),
        type: e.ref.type,
        cartridge: e.cartridge ? cartridgeView(e.cartridge, inv) : null,
      }))
    : null;
  return {
    library: {
      targetName: library.targetName,
      portals: library.portals.map((p) =>
        p.host.includes(':') ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`,
      ),
      changer:
        inv && changer
          ? {
              lun: 0,
              model: changer.model,
              serial: changer.serial ?? defaultChangerSerial(library.targetName),
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
