import { describe, expect, it } from 'vitest';
import { CommandTable, SENSE, createLogicalUnit } from '../../../src/target/scsi/index.js';
import {
  I1,
  cdb,
  dataOf,
  makeUnit,
  processorProfile,
  Processor,
  readyUnit,
  run,
  senseOf,
  task,
} from './processor.js';

describe('dispatcher', () => {
  it('answers an unknown opcode with INVALID COMMAND OPERATION CODE', async () => {
    const { lu } = await readyUnit(I1);
    const s = senseOf(await run(lu, cdb(0xc7), I1));
    expect(s.name).toBe('INVALID_COMMAND_OPERATION_CODE');
    expect([s.key, s.asc, s.ascq]).toEqual([0x5, 0x20, 0x00]);
  });

  it('treats a CDB shorter than the command as an invalid opcode', async () => {
    const { lu } = await readyUnit(I1);
    const s = senseOf(await lu.execute(task(Buffer.from([0xa0, 0, 0, 0, 0]), I1)));
    expect(s.name).toBe('INVALID_COMMAND_OPERATION_CODE');
  });

  it('points at the byte and highest bit of a reserved field', async () => {
    const { lu } = await readyUnit(I1);
    // INQUIRY byte 1 = 0x21: bit 5 is reserved, bit 0 (EVPD) honoured.
    const s = senseOf(await run(lu, cdb(0x12, 0x21, 0x00, 0x00, 0xff, 0x00), I1));
    expect(s.name).toBe('INVALID_FIELD_IN_CDB');
    expect([s.fieldPointer, s.bitPointer, s.inCdb]).toEqual([1, 5, true]);
  });

  it('refuses NACA in the control byte, pointing at the control byte bit 2', async () => {
    const { lu } = await readyUnit(I1);
    const s = senseOf(await run(lu, cdb(0x00, 0, 0, 0, 0, 0x04), I1));
    expect([s.name, s.fieldPointer, s.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 5, 2]);
    const s10 = senseOf(await run(lu, cdb(0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 0xff, 0x04), I1));
    expect([s10.fieldPointer, s10.bitPointer]).toEqual([9, 2]);
  });

  it('answers an unknown service action of a known opcode with INVALID FIELD IN CDB byte 1', async () => {
    const { lu } = await readyUnit(I1);
    const s = senseOf(await run(lu, cdb(0x5e, 0x07, 0, 0, 0, 0, 0, 0, 0xff, 0), I1));
    expect([s.name, s.fieldPointer, s.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1, 4]);
    const m = senseOf(await run(lu, cdb(0xa3, 0x05, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0), I1));
    expect([m.name, m.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1]);
  });

  it('lets a device entry override the SPC one (TEST UNIT READY readiness)', async () => {
    const { lu, device } = await readyUnit(I1);
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
    device.ready = false;
    expect(senseOf(await run(lu, cdb(0x00), I1)).name).toBe('BECOMING_READY');
  });

  it('turns any other exception into HARDWARE ERROR 44/00 and keeps serving', async () => {
    const errors: unknown[] = [];
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error(_m: string, f?: Record<string, unknown>) {
        errors.push(f?.err);
      },
      child() {
        return logger;
      },
    };
    const lu = createLogicalUnit(processorProfile, new Processor(), { logger });
    const s = senseOf(await run(lu, cdb(0x1d, 0x04), I1));
    expect([s.key, s.asc, s.ascq, s.name]).toEqual([0x4, 0x44, 0x00, 'INTERNAL_TARGET_FAILURE']);
    expect(errors).toHaveLength(1);
    expect(dataOf(await run(lu, cdb(0x12, 0, 0, 0, 36, 0), I1))).toHaveLength(36);
  });

  it('runs asynchronous handlers and returns partial Data-In with a CHECK CONDITION', async () => {
    const { lu, device } = await readyUnit(I1);
    const sent = await run(lu, cdb(0x0a, 0, 0, 0, 5, 0), I1, Buffer.from('hello'));
    expect(sent).toEqual({ status: 0, dataOutNeeded: 5 });
    expect(device.message.toString()).toBe('hello');
    expect(dataOf(await run(lu, cdb(0x08, 0, 0, 0, 3, 0), I1)).toString()).toBe('hel');
    const short = await run(lu, cdb(0x08, 0, 0, 0, 8, 0), I1);
    const s = senseOf(short);
    expect([s.ili, s.information]).toEqual([true, 3]);
    expect(short.data?.toString()).toBe('hello');
  });

  it('turns a SenseError thrown after an await into CHECK CONDITION', async () => {
    const { lu, device } = await readyUnit(I1);
    const s = senseOf(await run(lu, cdb(0x0a, 0, 0, 0, 65, 0), I1, Buffer.alloc(65)));
    expect([s.name, s.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2]);
    expect(device.messagesSent).toBe(0);
  });

  it('reports sense in descriptor format once D_SENSE is set in the control page', async () => {
    const { lu } = await readyUnit(I1);
    const page = dataOf(await run(lu, cdb(0x1a, 0x08, 0x0a, 0, 0xff, 0), I1)).subarray(4);
    expect(page[0]).toBe(0x0a);
    page[2] = page[2] | 0x04;
    const list = Buffer.concat([Buffer.alloc(4), page]);
    expect((await run(lu, cdb(0x15, 0x10, 0, 0, list.length, 0), I1, list)).status).toBe(0);
    expect(lu.services.descriptorSense).toBe(true);
    const bad = await run(lu, cdb(0x12, 0x02, 0, 0, 0xff, 0), I1);
    expect(bad.sense![0]).toBe(0x72);
    const s = senseOf(bad);
    expect([s.name, s.fieldPointer, s.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1, 1]);
    // A reset returns the control page to its defaults: fixed format again.
    lu.reset('lun-reset', I1);
    const ua = await run(lu, cdb(0x00), I1);
    expect(ua.sense![0]).toBe(0x70);
  });

  it('rejects a table whose usage data does not cover the CDB', () => {
    expect(
      () =>
        new CommandTable([
          {
            name: 'BROKEN',
            opcode: 0x99,
            cdbLength: 6,
            direction: 'none',
            usage: [0xff, 0],
            handler: () => undefined,
          },
        ]),
    ).toThrow(/usage/);
  });

  it('registers a nexus it never heard of without inventing a unit attention', async () => {
    const { lu } = makeUnit();
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
    expect(lu.pendingUnitAttentions(I1)).toEqual([]);
    lu.nexusAdded(I1);
    expect(lu.pendingUnitAttentions(I1)).toEqual([SENSE.POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED]);
  });
});
