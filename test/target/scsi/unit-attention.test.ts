import { describe, expect, it } from 'vitest';
import { SENSE, decodeSense } from '../../../src/target/scsi/index.js';
import { I1, I2, cdb, dataOf, makeUnit, readyUnit, run, senseOf } from './processor.js';

const requestSense = (desc: number, alloc: number): Buffer => cdb(0x03, desc, 0, 0, alloc, 0);
const reportLuns = (select: number, alloc: number): Buffer =>
  cdb(
    0xa0,
    0,
    select,
    0,
    0,
    0,
    (alloc >>> 24) & 0xff,
    (alloc >>> 16) & 0xff,
    (alloc >>> 8) & 0xff,
    alloc & 0xff,
    0,
    0,
  );

describe('unit attentions', () => {
  it('reports POWER ON, RESET OR BUS DEVICE RESET once to a new nexus, then runs commands', async () => {
    const { lu } = makeUnit();
    lu.nexusAdded(I1);
    const s = senseOf(await run(lu, cdb(0x00), I1));
    expect([s.key, s.asc, s.ascq]).toEqual([0x6, 0x29, 0x00]);
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
  });

  it('delivers one per command, highest priority first, each cleared as reported', async () => {
    const { lu, services } = await readyUnit(I1);
    services.raiseUnitAttentionFor(I1, SENSE.MODE_PARAMETERS_CHANGED);
    services.raiseUnitAttentionFor(I1, SENSE.NOT_READY_TO_READY_CHANGE);
    lu.reset('target-warm-reset', I1);
    services.raiseUnitAttentionFor(I1, SENSE.MODE_PARAMETERS_CHANGED); // duplicate, not queued twice
    const names: string[] = [];
    for (let i = 0; i < 3; i++) names.push(senseOf(await run(lu, cdb(0x00), I1)).name);
    expect(names).toEqual([
      'POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED',
      'MODE_PARAMETERS_CHANGED',
      'NOT_READY_TO_READY_CHANGE',
    ]);
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
  });

  it('reports a unit attention before an unknown opcode or a bad CDB', async () => {
    const { lu, services } = await readyUnit(I1);
    services.raiseUnitAttentionFor(I1, SENSE.MODE_PARAMETERS_CHANGED);
    expect(senseOf(await run(lu, cdb(0xc7), I1)).name).toBe('MODE_PARAMETERS_CHANGED');
    expect(senseOf(await run(lu, cdb(0xc7), I1)).name).toBe('INVALID_COMMAND_OPERATION_CODE');
  });

  it('gives LUN reset 29/03 and target reset 29/00 to every nexus, and tells the device', async () => {
    const { lu, device } = await readyUnit(I1, I2);
    lu.reset('lun-reset', I2);
    expect(senseOf(await run(lu, cdb(0x00), I1)).name).toBe('BUS_DEVICE_RESET_FUNCTION_OCCURRED');
    expect(senseOf(await run(lu, cdb(0x00), I2)).name).toBe('BUS_DEVICE_RESET_FUNCTION_OCCURRED');
    lu.reset('target-cold-reset', I1);
    expect(senseOf(await run(lu, cdb(0x00), I2)).name).toBe('POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED');
    expect(device.resets).toEqual(['lun-reset', 'target-cold-reset']);
  });

  it('raises to all nexuses but the one excepted, and 2F/00 after a task set cleared for all', async () => {
    const { lu, services } = await readyUnit(I1, I2);
    services.raiseUnitAttention(SENSE.NOT_READY_TO_READY_CHANGE, { except: I1 });
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
    expect(senseOf(await run(lu, cdb(0x00), I2)).name).toBe('NOT_READY_TO_READY_CHANGE');
    lu.tasksCleared(I1, true);
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
    expect(senseOf(await run(lu, cdb(0x00), I2)).name).toBe('COMMANDS_CLEARED_BY_ANOTHER_INITIATOR');
  });

  it('forgets a removed nexus and tells the device', async () => {
    const { lu, device } = await readyUnit(I1);
    lu.reset('lun-reset', I1);
    lu.nexusRemoved(I1);
    expect(device.removed).toEqual([I1.key]);
    expect(lu.pendingUnitAttentions(I1)).toEqual([]);
  });
});

describe('REQUEST SENSE', () => {
  it('returns a pending unit attention as its data, clearing it', async () => {
    const { lu } = makeUnit();
    lu.nexusAdded(I1);
    const d = dataOf(await run(lu, requestSense(0, 252), I1));
    expect(d).toHaveLength(18);
    expect(decodeSense(d).name).toBe('POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED');
    expect(decodeSense(dataOf(await run(lu, requestSense(0, 252), I1))).name).toBe('NO_SENSE');
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
  });

  it('returns the pending sense a device set once, then NO SENSE', async () => {
    const { lu, services } = await readyUnit(I1);
    services.setPendingSense(I1, SENSE.CLEANING_REQUESTED);
    expect(decodeSense(dataOf(await run(lu, requestSense(0, 18), I1))).name).toBe('CLEANING_REQUESTED');
    expect(decodeSense(dataOf(await run(lu, requestSense(0, 18), I1))).name).toBe('NO_SENSE');
    services.setPendingSense(I1, SENSE.CLEANING_REQUESTED);
    services.setPendingSense(I1, null);
    expect(decodeSense(dataOf(await run(lu, requestSense(0, 18), I1))).name).toBe('NO_SENSE');
  });

  it('answers in descriptor format with DESC=1 and truncates to the allocation length', async () => {
    const { lu } = makeUnit();
    lu.nexusAdded(I1);
    const d = dataOf(await run(lu, requestSense(1, 255), I1));
    expect(d[0]).toBe(0x72);
    expect(decodeSense(d).name).toBe('POWER_ON_RESET_OR_BUS_DEVICE_RESET_OCCURRED');
    const short = dataOf(await run(lu, requestSense(0, 8), I1));
    expect(short).toHaveLength(8);
    expect(short[0]).toBe(0x70);
  });
});

describe('REPORT LUNS', () => {
  it('lists the target LUNs with single level addressing', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, reportLuns(0, 4096), I1));
    expect(d.readUInt32BE(0)).toBe(24);
    expect(d.subarray(8).toString('hex')).toBe('0000000000000000' + '0001000000000000' + '412c000000000000');
    expect(dataOf(await run(lu, reportLuns(2, 4096), I1)).readUInt32BE(0)).toBe(24);
    expect(dataOf(await run(lu, reportLuns(1, 4096), I1))).toHaveLength(8);
  });

  it('truncates at 16 bytes or more, refuses less, and refuses unknown select report', async () => {
    const { lu } = await readyUnit(I1);
    const d = dataOf(await run(lu, reportLuns(0, 16), I1));
    expect([d.length, d.readUInt32BE(0)]).toEqual([16, 24]);
    const s = senseOf(await run(lu, reportLuns(0, 15), I1));
    expect([s.name, s.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 6]);
    const t = senseOf(await run(lu, reportLuns(3, 4096), I1));
    expect([t.name, t.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2]);
  });

  it('runs with a unit attention pending and clears REPORTED LUNS DATA HAS CHANGED only', async () => {
    const { lu, services } = await readyUnit(I1);
    services.raiseUnitAttentionFor(I1, SENSE.REPORTED_LUNS_DATA_CHANGED);
    services.raiseUnitAttentionFor(I1, SENSE.MODE_PARAMETERS_CHANGED);
    expect(dataOf(await run(lu, reportLuns(0, 4096), I1)).readUInt32BE(0)).toBe(24);
    expect(lu.pendingUnitAttentions(I1)).toEqual([SENSE.MODE_PARAMETERS_CHANGED]);
  });
});
