/**
 * A tiny SBC RAM disk logical unit, only for running libiscsi's iscsi-test-cu iSCSI families
 * (their setup needs READ CAPACITY and READ/WRITE(10)); the project itself serves no disks.
 */
import { SENSE, SenseError } from '../../../src/target/scsi/sense.js';
import { reportLunsData } from '../../../src/target/scsi/spc/report-luns.js';
import {
  ScsiStatus,
  type LogicalUnit,
  type ScsiResponse,
  type ScsiTask,
} from '../../../src/target/scsi/types.js';

const BLOCK = 512;

/** READ/WRITE opcodes with the offsets of their LBA and TRANSFER LENGTH fields (SBC-4 5). */
const RW: Record<number, { write: boolean; lba: (c: Buffer) => number; blocks: (c: Buffer) => number }> = {
  0x28: { write: false, lba: (c) => c.readUInt32BE(2), blocks: (c) => c.readUInt16BE(7) },
  0x2a: { write: true, lba: (c) => c.readUInt32BE(2), blocks: (c) => c.readUInt16BE(7) },
  0x2e: { write: true, lba: (c) => c.readUInt32BE(2), blocks: (c) => c.readUInt16BE(7) },
  0xa8: { write: false, lba: (c) => c.readUInt32BE(2), blocks: (c) => c.readUInt32BE(6) },
  0xaa: { write: true, lba: (c) => c.readUInt32BE(2), blocks: (c) => c.readUInt32BE(6) },
  0xae: { write: true, lba: (c) => c.readUInt32BE(2), blocks: (c) => c.readUInt32BE(6) },
  0x88: { write: false, lba: (c) => Number(c.readBigUInt64BE(2)), blocks: (c) => c.readUInt32BE(10) },
  0x8a: { write: true, lba: (c) => Number(c.readBigUInt64BE(2)), blocks: (c) => c.readUInt32BE(10) },
  0x8e: { write: true, lba: (c) => Number(c.readBigUInt64BE(2)), blocks: (c) => c.readUInt32BE(10) },
};

export class RamDisk implements LogicalUnit {
  readonly deviceType = 0x00;
  private readonly data: Buffer;

  constructor(readonly blocks = 2048) {
    this.data = Buffer.alloc(blocks * BLOCK);
  }

  execute(task: ScsiTask): ScsiResponse {
    const c = task.cdb;
    const rw = RW[c[0]];
    if (rw) {
      const lba = rw.lba(c);
      const n = rw.blocks(c);
      if (lba + n > this.blocks) throw new SenseError(SENSE.LOGICAL_BLOCK_ADDRESS_OUT_OF_RANGE);
      if (!rw.write)
        return { status: ScsiStatus.GOOD, data: this.data.subarray(lba * BLOCK, (lba + n) * BLOCK) };
      const out = task.dataOut ?? Buffer.alloc(0);
      out.copy(this.data, lba * BLOCK, 0, Math.min(out.length, n * BLOCK));
      return { status: ScsiStatus.GOOD, dataOutNeeded: n * BLOCK };
    }
    switch (c[0]) {
      case 0x00:
        return { status: ScsiStatus.GOOD };
      case 0x12: {
        const alloc = c.readUInt16BE(3);
        if (c[1] & 1) {
          if (c[2] === 0x00)
            return { status: ScsiStatus.GOOD, data: Buffer.from([0, 0, 0, 1, 0]).subarray(0, alloc) };
          throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 2 });
        }
        const d = Buffer.alloc(36, 0x20);
        d.fill(0, 0, 8);
        d[2] = 0x06;
        d[3] = 0x02;
        d[4] = 31;
        d.write('TESTVEND', 8, 'latin1');
        d.write('RAM DISK', 16, 'latin1');
        d.write('0001', 32, 'latin1');
        return { status: ScsiStatus.GOOD, data: d.subarray(0, alloc) };
      }
      case 0x25: {
        const d = Buffer.alloc(8);
        d.writeUInt32BE(this.blocks - 1, 0);
        d.writeUInt32BE(BLOCK, 4);
        return { status: ScsiStatus.GOOD, data: d };
      }
      case 0x9e: {
        const d = Buffer.alloc(32);
        d.writeBigUInt64BE(BigInt(this.blocks - 1), 0);
        d.writeUInt32BE(BLOCK, 8);
        return { status: ScsiStatus.GOOD, data: d.subarray(0, c.readUInt32BE(10)) };
      }
      case 0xa0:
        return { status: ScsiStatus.GOOD, data: reportLunsData(c, task.target) };
      default:
        throw new SenseError(SENSE.INVALID_COMMAND_OPERATION_CODE, { fieldPointer: 0 });
    }
  }

  nexusAdded(): void {}
  nexusRemoved(): void {}
  reset(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}
