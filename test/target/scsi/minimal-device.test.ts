import { describe, expect, it } from 'vitest';
import { createLogicalUnit } from '../../../src/target/scsi/index.js';
import type { DeviceProfile } from '../../../src/target/scsi/index.js';
import { I1, cdb, dataOf, run, senseOf } from './processor.js';

/** A device with nothing but identity: every page and command comes from the SPC core. */
const bare: DeviceProfile<null> = {
  identity: {
    deviceType: 0x1f,
    removable: true,
    vendor: 'VTLTEST',
    product: 'BARE',
    revision: '1',
    serial: 'B1',
    naa: Buffer.from('5000c50000000002', 'hex'),
    versionDescriptors: [],
  },
  commands: [],
  modePages: [],
  logPages: [],
  vpdPages: [],
};

describe('a device with no tables of its own', () => {
  it('has no block descriptor in MODE SENSE and refuses one in MODE SELECT', async () => {
    const lu = createLogicalUnit(bare, null);
    const d = dataOf(await run(lu, cdb(0x1a, 0, 0x3f, 0, 0xff, 0), I1));
    expect([d[0], d[1], d[2], d[3]]).toEqual([d.length - 1, 0, 0, 0]);
    expect(d[4]).toBe(0x0a);
    const list = Buffer.from('000000080000000000000200', 'hex');
    const s = senseOf(await run(lu, cdb(0x15, 0x10, 0, 0, list.length, 0), I1, list));
    expect([s.name, s.fieldPointer]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 3]);
  });

  it('answers the SPC commands: removable INQUIRY, empty log list, default TUR', async () => {
    const lu = createLogicalUnit(bare, null);
    const inq = dataOf(await run(lu, cdb(0x12, 0, 0, 0, 36, 0), I1));
    expect([inq[0], inq[1]]).toEqual([0x1f, 0x80]);
    expect(dataOf(await run(lu, cdb(0x4d, 0, 0x40, 0, 0, 0, 0, 0, 0xff, 0), I1)).toString('hex')).toBe(
      '0000000100',
    );
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
    expect(senseOf(await run(lu, cdb(0x08, 0, 0, 0, 1, 0), I1)).name).toBe('INVALID_COMMAND_OPERATION_CODE');
  });
});
