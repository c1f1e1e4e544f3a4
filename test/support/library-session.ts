/**
 * What tests of a whole library do over iSCSI again and again: log in and clear the power-on
 * unit attention, move a cartridge with the robot, wait out the attentions a move raises.
 */
import { decodeSense, SenseKey } from '../../src/target/scsi/sense.js';
import { Initiator } from './initiator.js';

/** Element addresses of every library (src/vtl/smc): transport 1, drives 100h, slots 400h. */
export const ADDRESS = { transport: 0x0001, drive: 0x0100, mailslot: 0x0300, slot: 0x0400 } as const;

/** Logs in and sends each LUN one TEST UNIT READY, which takes the new nexus's 29/00. */
export async function connectLibrary(
  port: number,
  targetName: string,
  initiatorName: string,
  luns: readonly number[] = [0, 1],
): Promise<Initiator> {
  const s = await Initiator.connect({ host: '127.0.0.1', port, targetName, initiatorName });
  for (const lun of luns) await s.command(lun, Buffer.alloc(6));
  return s;
}

/** MOVE MEDIUM (SMC-3 6.6) on the changer at LUN 0; resolves with the SCSI status. */
export async function moveMedium(s: Initiator, from: number, to: number): Promise<number> {
  const cdb = Buffer.alloc(12);
  cdb[0] = 0xa5;
  cdb.writeUInt16BE(ADDRESS.transport, 2);
  cdb.writeUInt16BE(from, 4);
  cdb.writeUInt16BE(to, 6);
  return (await s.command(0, cdb)).status;
}

/** TEST UNIT READY until no unit attention is left (a move raises 28/00 on the drive). */
export async function clearAttention(s: Initiator, lun: number): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const r = await s.command(lun, Buffer.alloc(6));
    if (!r.sense || decodeSense(r.sense).key !== SenseKey.UNIT_ATTENTION) return;
  }
  throw new Error(`LUN ${lun} keeps reporting UNIT ATTENTION`);
}
