/**
 * The SMC medium changer: `createMediumChanger` builds the changer over an inventory and the
 * logical unit that serves it (the SMC tables over the shared SPC core), for LUN 0 of a library.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createLogicalUnit } from '../../target/scsi/index.js';
import type { ScsiDevice } from '../../target/scsi/index.js';
import { DeviceType } from '../../target/scsi/types.js';
import type { DeviceIdentity, DeviceProfile } from '../../target/scsi/types.js';
import { VtlError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import type { Inventory } from '../inventory/inventory.js';
import { MediumChanger } from './changer.js';
import { CHANGER_LOG_PAGES } from './log-pages.js';
import { CHANGER_MODE_PAGES } from './mode-pages.js';
import { findChangerModel } from './models.js';
import type { ChangerModel } from './models.js';
import { smcCommands } from './table.js';

export { MediumChanger } from './changer.js';
export { CHANGER_MODELS, DEFAULT_CHANGER_MODEL, findChangerModel } from './models.js';
export type { ChangerModel } from './models.js';
export { SMC_COMMANDS, EXCHANGE_MEDIUM_COMMAND, smcCommands } from './table.js';
export { SMC_SENSE } from './sense-codes.js';
export { CHANGER_MODE_PAGES } from './mode-pages.js';
export { CHANGER_LOG_PAGES } from './log-pages.js';
export { decodeReadElementStatus, elementStatusData, descriptorLength } from './element-status.js';
export { moveSense } from './move.js';

/** Version descriptors (SPC-4 table 'version descriptor values'): SAM-5, SPC-4, SMC-3, iSCSI. */
export const CHANGER_VERSION_DESCRIPTORS: readonly number[] = [0x00a0, 0x0460, 0x0480, 0x0960];

export const CHANGER_SERIAL_PATTERN = /^[A-Za-z0-9]{1,16}$/;

export interface CreateMediumChangerOptions {
  inventory: Inventory;
  /** Personality key, e.g. 'IBM 03584L32' (default) or 'STK L700' (models.ts). */
  model?: string;
  /** Unit serial number (VPD 80h): 1-16 letters or digits, unique per changer. Random when absent. */
  serial?: string;
  /** 8-byte NAA 5 designator for VPD 83h; derived from the model and serial when absent. */
  naa?: Buffer;
  logger?: Logger;
}

export interface MediumChangerUnit {
  readonly changer: MediumChanger;
  readonly lu: ScsiDevice<MediumChanger>;
}

/** A stable serial for the changer of a target, so restarts keep its identity (PBS finds it by serial). */
export function defaultChangerSerial(targetName: string): string {
  const h = createHash('sha256').update(`${targetName}\0changer`).digest();
  return (
    'L' +
    BigInt('0x' + h.subarray(0, 8).toString('hex'))
      .toString(36)
      .toUpperCase()
      .padStart(11, '0')
      .slice(0, 11)
  );
}

/** NAA 5 (IEEE Registered): 4-bit NAA, 24-bit OUI, 36 bits from a hash of model and serial. */
export function changerNaa(model: ChangerModel, serial: string): Buffer {
  const h = createHash('sha256').update(`${model.key}\0${serial}`).digest();
  const b = Buffer.alloc(8);
  b.writeUInt32BE(((0x5 << 28) | (model.oui << 4) | (h[0] >> 4)) >>> 0, 0);
  b.writeUInt32BE(h.readUInt32BE(1), 4);
  return b;
}

export function changerIdentity(model: ChangerModel, serial: string, naa: Buffer): DeviceIdentity {
  return {
    deviceType: DeviceType.MEDIUM_CHANGER,
    // Libraries report RMB=1: the cartridges they hold are removable media.
    removable: true,
    vendor: model.vendor,
    product: model.product,
    revision: model.revision,
    serial,
    naa,
    versionDescriptors: CHANGER_VERSION_DESCRIPTORS,
    // MCHNGR is for a changer embedded in another device; a peripheral type 08h has it 0.
    mediumChanger: false,
  };
}

/** The tables that make a medium changer, over the SPC core. */
export function mediumChangerProfile(
  identity: DeviceIdentity,
  model: ChangerModel,
): DeviceProfile<MediumChanger> {
  return {
    identity,
    commands: smcCommands(model),
    modePages: CHANGER_MODE_PAGES,
    logPages: CHANGER_LOG_PAGES,
    vpdPages: [],
    // SPC-4 PREVENT ALLOW MEDIUM REMOVAL: a reset ends every prevention, a nexus loss its own.
    onReset: (changer) => changer.inventory.clearMailslotLocks(),
    onNexusRemoved: (changer, nexus) => changer.inventory.clearMailslotLocks(nexus.key),
    close: (changer) => {
      changer.close();
      return Promise.resolve();
    },
  };
}

function randomSerial(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
  return [...randomBytes(12)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Builds a medium changer over an inventory and the logical unit that serves it. */
export function createMediumChanger(options: CreateMediumChangerOptions): MediumChangerUnit {
  const model = findChangerModel(options.model);
  const serial = options.serial ?? randomSerial();
  if (!CHANGER_SERIAL_PATTERN.test(serial)) {
    throw new VtlError(
      'ERR_INVALID_ARGUMENT',
      `changer serial ${JSON.stringify(serial)} must be 1-16 letters or digits`,
    );
  }
  const naa = options.naa ?? changerNaa(model, serial);
  if (naa.length !== 8) throw new VtlError('ERR_INVALID_ARGUMENT', `naa must be 8 bytes, got ${naa.length}`);
  const changer = new MediumChanger(options.inventory, model, options.logger);
  const lu = createLogicalUnit(
    mediumChangerProfile(changerIdentity(model, serial, naa), model),
    changer,
    options.logger ? { logger: options.logger } : {},
  );
  changer.attach(lu.services);
  return { changer, lu };
}
