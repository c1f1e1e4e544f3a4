/**
 * The logical unit that answers for a LUN number with no device behind it (SPC-4 6.6.2, and
 * SPC-4 6.39 for REQUEST SENSE): INQUIRY with PERIPHERAL QUALIFIER 011b and type 1Fh, REPORT LUNS, REQUEST SENSE with
 * LOGICAL UNIT NOT SUPPORTED as its data; every other command fails with ILLEGAL REQUEST 25/00.
 */
import { silentLogger } from '../../util/log.js';
import type { Logger } from '../../util/log.js';
import { SENSE, SenseError } from './sense.js';
import type { DeviceIdentity, LogicalUnit, ScsiResponse, ScsiTask } from './types.js';
import { DeviceType, ScsiStatus } from './types.js';
import { checkCdb, errorResponse } from './dispatch.js';
import { INQUIRY_COMMANDS, decodeInquiry, standardInquiry } from './spc/inquiry.js';
import { REPORT_LUNS_COMMANDS, reportLunsData } from './spc/report-luns.js';
import { REQUEST_SENSE_COMMANDS, senseParameterData } from './spc/request-sense.js';
import { invalidCdbField, truncate } from './spc/common.js';
import type { SpcCommandSpec } from './spc/context.js';

/** SPC-4 table 47: 011b — the device server cannot support a device at this LUN. */
const QUALIFIER_NOT_SUPPORTED = 0x3;

export interface UnsupportedLunOptions {
  /** Vendor and product reported in the standard INQUIRY data (the target's own). */
  readonly vendor?: string;
  readonly product?: string;
  readonly revision?: string;
  readonly logger?: Logger;
}

const spec = (list: readonly SpcCommandSpec[]): SpcCommandSpec => list[0];
const INQUIRY = spec(INQUIRY_COMMANDS);
const REPORT_LUNS = spec(REPORT_LUNS_COMMANDS);
const REQUEST_SENSE = REQUEST_SENSE_COMMANDS.find((c) => c.opcode === 0x03)!;

export class UnsupportedLun implements LogicalUnit {
  readonly deviceType = DeviceType.UNKNOWN;
  private readonly identity: DeviceIdentity;
  private readonly logger: Logger;

  constructor(options: UnsupportedLunOptions = {}) {
    this.identity = {
      deviceType: DeviceType.UNKNOWN,
      removable: false,
      vendor: options.vendor ?? '',
      product: options.product ?? '',
      revision: options.revision ?? '',
      serial: '',
      naa: Buffer.alloc(8),
      versionDescriptors: [],
    };
    this.logger = (options.logger ?? silentLogger).child({ component: 'scsi', lun: 'unsupported' });
  }

  execute(task: ScsiTask): ScsiResponse {
    const cdb = task.cdb;
    try {
      switch (cdb[0]) {
        case INQUIRY.opcode: {
          checkCdb(INQUIRY, cdb);
          const q = decodeInquiry(cdb);
          // Only standard data describes an absent device; no VPD page exists for it.
          if (q.evpd) throw new SenseError(SENSE.LOGICAL_UNIT_NOT_SUPPORTED);
          if (q.page !== 0) throw invalidCdbField(2);
          return {
            status: ScsiStatus.GOOD,
            data: truncate(standardInquiry(this.identity, QUALIFIER_NOT_SUPPORTED), q.allocationLength),
          };
        }
        case REPORT_LUNS.opcode:
          checkCdb(REPORT_LUNS, cdb);
          return { status: ScsiStatus.GOOD, data: reportLunsData(cdb, task.target) };
        case REQUEST_SENSE.opcode:
          // SPC-4 6.39: sense data for an incorrect LUN is 25/00, returned with GOOD status.
          checkCdb(REQUEST_SENSE, cdb);
          return { status: ScsiStatus.GOOD, data: senseParameterData(cdb, SENSE.LOGICAL_UNIT_NOT_SUPPORTED) };
        default:
          throw new SenseError(SENSE.LOGICAL_UNIT_NOT_SUPPORTED);
      }
    } catch (err) {
      return errorResponse(err, false, this.logger, `opcode ${(cdb[0] ?? 0).toString(16)}h`);
    }
  }

  nexusAdded(): void {}
  nexusRemoved(): void {}
  reset(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export function createUnsupportedLun(options: UnsupportedLunOptions = {}): UnsupportedLun {
  return new UnsupportedLun(options);
}
