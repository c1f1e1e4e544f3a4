/**
 * A tiny processor device (SPC-4 peripheral type 03h) built the way the tape drive is: a device
 * table over the SPC core, with one mode page, a block descriptor, one log page and one extra
 * VPD page. It is a device, not a mock: SEND stores a message, RECEIVE returns it.
 */
import { ByteReader, ByteWriter } from '../../../src/util/bytes.js';
import { SENSE, SenseError, decodeSense } from '../../../src/target/scsi/sense.js';
import type {
  CommandSpec,
  DeviceProfile,
  LogicalUnit,
  Nexus,
  ScsiResponse,
  ScsiTask,
  SpcServices,
  TargetContext,
} from '../../../src/target/scsi/types.js';
import { createLogicalUnit } from '../../../src/target/scsi/index.js';
import type { ScsiDevice } from '../../../src/target/scsi/index.js';

export class Processor {
  ready = true;
  message = Buffer.alloc(0);
  /** Mode page 20h byte 2, changeable. */
  level = 3;
  /** Mode page 20h byte 3 bit 0, changeable. */
  verbose = false;
  /** Block descriptor block length, changeable. */
  blockLength = 512;
  /** Mode page 20h/01h byte 4, changeable. */
  timer = 10;
  messagesSent = 0;
  bytesSent = 0;
  resets: string[] = [];
  removed: string[] = [];
}

const modePage20: DeviceProfile<Processor>['modePages'][number] = {
  name: 'Processor settings',
  page: 0x20,
  subpage: 0,
  length: 8,
  encode(p, pc) {
    const w = new ByteWriter(8);
    w.u8(0x20).u8(6);
    if (pc === 'changeable') return w.u8(0xff).u8(0x01).buf;
    const cur = pc === 'current';
    w.u8(cur ? p.level : 3).u8(cur && p.verbose ? 1 : 0);
    w.u8(0x5a); // a constant, not changeable
    return w.buf;
  },
  select(p, page) {
    if (page[2] > 9)
      throw new SenseError(SENSE.INVALID_FIELD_IN_PARAMETER_LIST, { fieldPointer: 2, inParameterList: true });
    p.level = page[2]!;
    p.verbose = (page[3] & 1) !== 0;
  },
};

export const processorProfile: DeviceProfile<Processor> = {
  identity: {
    deviceType: 0x03,
    removable: false,
    vendor: 'VTLTEST',
    product: 'PROCESSOR',
    revision: '0001',
    serial: 'PRC0000001',
    naa: Buffer.from('5000c50000000001', 'hex'),
    versionDescriptors: [0x00a0, 0x0460, 0x0960],
  },
  commands: [
    {
      name: 'TEST UNIT READY',
      opcode: 0x00,
      cdbLength: 6,
      direction: 'none',
      usage: [0xff, 0, 0, 0, 0, 0],
      allowedUnderWriteExclusive: true,
      handler: ({ device }) => {
        if (!device.ready) throw new SenseError(SENSE.BECOMING_READY);
      },
    },
    {
      // SPC-4 processor RECEIVE(6): returns the stored message; a short message is an ILI with
      // the bytes that exist as partial Data-In.
      name: 'RECEIVE',
      opcode: 0x08,
      cdbLength: 6,
      direction: 'in',
      usage: [0xff, 0, 0xff, 0xff, 0xff, 0],
      allowedUnderWriteExclusive: true,
      handler: ({ cdb, device }) => {
        const want = new ByteReader(cdb, 2).u24();
        if (device.message.length < want) {
          throw new SenseError(SENSE.INCORRECT_LENGTH, {
            ili: true,
            information: want - device.message.length,
            data: device.message,
          });
        }
        return device.message.subarray(0, want);
      },
    },
    {
      name: 'SEND',
      opcode: 0x0a,
      cdbLength: 6,
      direction: 'out',
      usage: [0xff, 0, 0xff, 0xff, 0xff, 0],
      timeout: 120,
      handler: async ({ task, device }): Promise<ScsiResponse> => {
        await Promise.resolve();
        // The processor holds at most 64 bytes: a longer transfer length is an invalid field.
        if ((task.dataOut?.length ?? 0) > 64)
          throw new SenseError(SENSE.INVALID_FIELD_IN_CDB, { fieldPointer: 2 });
        device.message = Buffer.from(task.dataOut ?? Buffer.alloc(0));
        device.messagesSent++;
        device.bytesSent += device.message.length;
        return { status: 0, dataOutNeeded: device.message.length };
      },
    },
    {
      // A command whose implementation is broken, to see the dispatcher survive it.
      name: 'SEND DIAGNOSTIC',
      opcode: 0x1d,
      cdbLength: 6,
      direction: 'none',
      usage: [0xff, 0x04, 0, 0, 0, 0],
      handler: () => {
        throw new TypeError('self-test exploded');
      },
    },
  ] satisfies CommandSpec<Processor>[],
  modePages: [
    modePage20,
    {
      // A subpage format page (SPF=1), as the tape drive's control data protection 0Ah/F0h.
      name: 'Processor timers',
      page: 0x20,
      subpage: 0x01,
      length: 8,
      encode(p, pc) {
        const w = new ByteWriter(8);
        w.u8(0x60).u8(0x01).u16(4);
        w.u8(pc === 'changeable' ? 0xff : pc === 'current' ? p.timer : 10);
        return w.buf;
      },
      select(p, page) {
        p.timer = page[4]!;
      },
    },
  ],
  blockDescriptor: {
    mediumType: () => 0x00,
    deviceSpecific: () => 0x10,
    blockDescriptors(p, pc) {
      const w = new ByteWriter(8);
      w.u8(0)
        .u24(0)
        .u8(0)
        .u24(pc === 'changeable' ? 0xffffff : pc === 'default' ? 512 : p.blockLength);
      return [w.buf];
    },
    select(p, descriptor) {
      if (!descriptor) return;
      const len = descriptor.readUIntBE(5, 3);
      if (len % 4 !== 0)
        throw new SenseError(SENSE.INVALID_FIELD_IN_PARAMETER_LIST, {
          fieldPointer: 5,
          inParameterList: true,
        });
      p.blockLength = len;
    },
  },
  logPages: [
    {
      name: 'Processor statistics',
      page: 0x32,
      subpage: 0,
      parameters: (p, pc) => {
        const v = (n: number): Buffer => {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(pc === 1 ? n : 0);
          return b;
        };
        return [
          { code: 0x0002, value: v(p.bytesSent) },
          { code: 0x0001, value: v(p.messagesSent) },
        ];
      },
      reset: (p) => {
        p.messagesSent = 0;
        p.bytesSent = 0;
      },
    },
    {
      name: 'Processor constants',
      page: 0x33,
      subpage: 0x01,
      parameters: () => [{ code: 0, control: 0x03, value: Buffer.from('ok') }],
    },
  ],
  vpdPages: [
    {
      name: 'Processor limits',
      page: 0xb0,
      encode: () => Buffer.from([0x03, 0xb0, 0x00, 0x04, 0, 0, 1, 0]),
    },
  ],
  onReset: (p, kind) => {
    p.resets.push(kind);
  },
  onNexusRemoved: (p, nexus) => {
    p.removed.push(nexus.key);
  },
};

// ---- harness --------------------------------------------------------------------------------

export function nexus(name: string, isid = '400001370000'): Nexus {
  const iname = `iqn.2026-01.test:${name}`;
  const tidName = Buffer.from(`${iname},i,0x${isid}\0`);
  const tid = Buffer.alloc(4 + ((tidName.length + 3) & ~3));
  tid[0] = 0x45; // FORMAT CODE 01b, PROTOCOL IDENTIFIER 5 (iSCSI)
  tid.writeUInt16BE(tid.length - 4, 2);
  tidName.copy(tid, 4);
  return { key: `${iname},i,0x${isid}`, initiatorName: iname, isid, transportId: tid };
}

export const target: TargetContext = {
  name: 'iqn.2026-01.test:vtl',
  portalGroupTag: 1,
  luns: () => [0, 1, 300],
};

export interface Run extends ScsiResponse {
  sense?: Buffer;
}

/** CDBs arrive as the 16 bytes of the BHS; short ones are zero padded like on the wire. */
export function cdb(...bytes: number[]): Buffer {
  const b = Buffer.alloc(Math.max(16, bytes.length));
  Buffer.from(bytes).copy(b);
  return b;
}

export function task(
  cdbBytes: Buffer,
  n: Nexus,
  dataOut: Buffer | null = null,
  expectedLength = 65536,
): ScsiTask {
  return {
    cdb: cdbBytes,
    lun: 0,
    nexus: n,
    target,
    expectedLength: dataOut ? dataOut.length : expectedLength,
    dataOut,
    taskTag: 1,
    attribute: 'simple',
    signal: new AbortController().signal,
  };
}

export async function run(
  lu: LogicalUnit,
  cdbBytes: Buffer,
  n: Nexus,
  dataOut: Buffer | null = null,
): Promise<ScsiResponse> {
  return await lu.execute(task(cdbBytes, n, dataOut));
}

export function makeUnit(): { lu: ScsiDevice<Processor>; device: Processor; services: SpcServices } {
  const device = new Processor();
  const lu = createLogicalUnit(processorProfile, device);
  return { lu, device, services: lu.services };
}

export const I1 = nexus('one');
export const I2 = nexus('two');
export const I3 = nexus('three');

/** The decoded sense of a CHECK CONDITION (fails loudly when the status is something else). */
export function senseOf(res: ScsiResponse): ReturnType<typeof decodeSense> {
  if (res.status !== 0x02 || !res.sense)
    throw new Error(`expected CHECK CONDITION, got status ${res.status}`);
  return decodeSense(res.sense);
}

/** Data-In of a GOOD response (fails loudly otherwise, naming the sense). */
export function dataOf(res: ScsiResponse): Buffer {
  if (res.status !== 0x00) {
    throw new Error(
      `expected GOOD, got status ${res.status}${res.sense ? ` ${decodeSense(res.sense).name}` : ''}`,
    );
  }
  return res.data ?? Buffer.alloc(0);
}

/** A unit with every nexus' POWER ON unit attention already delivered. */
export async function readyUnit(...nexuses: Nexus[]): Promise<ReturnType<typeof makeUnit>> {
  const u = makeUnit();
  for (const n of nexuses) {
    u.lu.nexusAdded(n);
    await run(u.lu, cdb(0x00), n);
  }
  return u;
}
