/**
 * The SSC tape drive: `createTapeDrive` builds the drive state and the logical unit that serves
 * it (the SSC tables over the shared SPC core).
 */
import { naa5, randomSerial } from '../../target/scsi/identity.js';
import { createLogicalUnit } from '../../target/scsi/index.js';
import type { ScsiDevice } from '../../target/scsi/index.js';
import { DeviceType } from '../../target/scsi/types.js';
import type { DeviceIdentity, DeviceProfile } from '../../target/scsi/types.js';
import { VtlError } from '../../util/errors.js';
import { TapeDrive } from './drive.js';
import type { TapeDriveOptions } from './drive.js';
import { TAPE_LOG_PAGES } from './log-pages.js';
import { TAPE_MODE_PAGES, tapeBlockDescriptor } from './mode-pages.js';
import type { DriveModel } from './models.js';
import { SSC_COMMANDS } from './table.js';
import { IBM_VPD_PAGES, TAPE_VPD_PAGES } from './vpd-pages.js';
import { IBM_MODE_PAGES } from './ibm-mode-pages.js';
import { controlDataProtectionPage, hasLogicalBlockProtection } from './lbp.js';

export { TapeDrive, DEFAULT_MAX_BLOCK_LENGTH } from './drive.js';
export type { TapeDriveOptions, CartridgeState, DriveCounters } from './drive.js';
export {
  DRIVE_MODELS,
  DEFAULT_DRIVE_MODEL,
  DENSITIES,
  findDriveModel,
  mediaAccess,
  mediaDensity,
  mediumTypeCode,
} from './models.js';
export type { DriveModel, DensityInfo, DriveDensity } from './models.js';
export { SSC_COMMANDS } from './table.js';
export { SSC_SENSE } from './sense-codes.js';

/** Version descriptors (SPC-4 table 'version descriptor values'): SAM-5, SPC-4, SSC-4, iSCSI. */
export const TAPE_VERSION_DESCRIPTORS: readonly number[] = [0x00a0, 0x0460, 0x0360, 0x0960];

/** IEEE company IDs for the NAA 5 designator, by INQUIRY vendor (what the real drives carry). */
const VENDOR_OUI: Record<string, number> = { IBM: 0x005076, HP: 0x001438, HPE: 0x001438 };

export interface CreateTapeDriveOptions extends TapeDriveOptions {
  /** Unit serial number (VPD 80h): 1-10 letters or digits, unique per drive. Random when absent. */
  serial?: string;
  /** 8-byte NAA 5 designator for VPD 83h; derived from vendor and serial when absent. */
  naa?: Buffer;
}

export interface TapeDriveUnit {
  readonly drive: TapeDrive;
  readonly lu: ScsiDevice<TapeDrive>;
}

/** NAA 5 (IEEE Registered): 4-bit NAA, 24-bit OUI, 36 bits from a hash of the serial. */
export function naaFromSerial(model: DriveModel, serial: string): Buffer {
  const oui = VENDOR_OUI[model.vendor] ?? 0x005076;
  return naa5(oui, `${model.key}\0${serial}`);
}

export function tapeDriveIdentity(model: DriveModel, serial: string, naa: Buffer): DeviceIdentity {
  return {
    deviceType: DeviceType.SEQUENTIAL_ACCESS,
    removable: true,
    vendor: model.vendor,
    product: model.product,
    revision: model.revision,
    serial,
    naa,
    versionDescriptors: TAPE_VERSION_DESCRIPTORS,
    // MCHNGR must be 0 on a drive: mtx switches to attached-changer commands otherwise.
    mediumChanger: false,
  };
}

/** The tables that make a tape drive, over the SPC core. */
export function tapeDriveProfile(identity: DeviceIdentity, model?: DriveModel): DeviceProfile<TapeDrive> {
  // IBM personalities add IBM's vendor pages (VPD C0h/C1h, mode 24h/25h) for IBM's drivers.
  const ibm = model?.ibmVendorPages === true;
  return {
    identity,
    commands: SSC_COMMANDS,
    modePages: [
      ...(ibm ? [...TAPE_MODE_PAGES, ...IBM_MODE_PAGES] : TAPE_MODE_PAGES),
      // Control data protection (0Ah/F0h) on the personalities with logical block protection.
      ...(model && hasLogicalBlockProtection(model) ? [controlDataProtectionPage] : []),
    ],
    blockDescriptor: tapeBlockDescriptor,
    logPages: TAPE_LOG_PAGES,
    vpdPages: ibm ? [...TAPE_VPD_PAGES, ...IBM_VPD_PAGES] : TAPE_VPD_PAGES,
    // SPC-4 PREVENT ALLOW MEDIUM REMOVAL: a reset ends every prevention of medium removal,
    // nexus loss ends that nexus's own; a reset also restores the default mode parameters.
    onReset: (drive) => {
      drive.clearPrevent();
      drive.resetModeParameters();
      drive.dataPath.reset();
    },
    onNexusRemoved: (drive, nexus) => {
      drive.clearPrevent(nexus);
      drive.dataPath.nexusLost(nexus);
    },
    close: (drive) => drive.close(),
  };
}

/** Builds a tape drive and the logical unit that serves it. */
export function createTapeDrive(options: CreateTapeDriveOptions = {}): TapeDriveUnit {
  const drive = new TapeDrive(options);
  const serial = options.serial ?? randomSerial(10);
  if (!/^[A-Za-z0-9]{1,10}$/.test(serial)) {
    throw new VtlError(
      'ERR_INVALID_ARGUMENT',
      `drive serial ${JSON.stringify(serial)} must be 1-10 letters or digits`,
    );
  }
  const naa = options.naa ?? naaFromSerial(drive.model, serial);
  if (naa.length !== 8) throw new VtlError('ERR_INVALID_ARGUMENT', `naa must be 8 bytes, got ${naa.length}`);
  const lu = createLogicalUnit(
    tapeDriveProfile(tapeDriveIdentity(drive.model, serial, naa), drive.model),
    drive,
    options.logger ? { logger: options.logger } : {},
  );
  drive.serial = serial;
  drive.attach(lu.services);
  return { drive, lu };
}
