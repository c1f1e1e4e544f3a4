/**
 * Test harness for the changer: a real library in miniature — tape drives (createTapeDrive), an
 * inventory over the memory or file backend, and the changer logical unit (createMediumChanger)
 * driven with real CDBs through LogicalUnit.execute. CDB builders are named after the commands.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSense } from '../../../src/target/scsi/sense.js';
import type { DecodedSense } from '../../../src/target/scsi/sense.js';
import type { Nexus, ScsiTask, TargetContext } from '../../../src/target/scsi/types.js';
import { createFileBackend, createMemoryBackend } from '../../../src/vtl/image/index.js';
import type { ImageBackend } from '../../../src/vtl/image/types.js';
import {
  Inventory,
  createFileInventoryStore,
  createMemoryInventoryStore,
} from '../../../src/vtl/inventory/index.js';
import type { DriveSlot, InventoryOptions, InventoryStore } from '../../../src/vtl/inventory/index.js';
import { createTapeDrive } from '../../../src/vtl/ssc/index.js';
import type { TapeDriveUnit } from '../../../src/vtl/ssc/index.js';
import { createMediumChanger } from '../../../src/vtl/smc/index.js';
import type { MediumChangerUnit } from '../../../src/vtl/smc/index.js';

export interface Result {
  status: number;
  data: Buffer;
  sense: DecodedSense | null;
}

export function makeNexus(name: string): Nexus {
  return {
    key: `${name},i,0x400001370000`,
    initiatorName: name,
    isid: '400001370000',
    transportId: Buffer.from(name),
  };
}

const target: TargetContext = {
  name: 'iqn.2026-11.org.example:vtl',
  portalGroupTag: 1,
  luns: () => [0, 1, 2],
};

export interface LibraryOptions {
  slots?: number;
  mailslots?: number;
  drives?: number;
  model?: string;
  backend?: ImageBackend;
  store?: InventoryStore;
  faults?: InventoryOptions['faults'];
  cleaningUses?: number;
}

let tagCounter = 1;

export async function exec(
  lu: { execute(task: ScsiTask): ReturnType<MediumChangerUnit['lu']['execute']> },
  cdb: number[] | Buffer,
  nexus: Nexus,
  opts: { expectedLength?: number; dataOut?: Buffer } = {},
): Promise<Result> {
  const c = Buffer.isBuffer(cdb) ? cdb : Buffer.from(cdb);
  const dataOut = opts.dataOut ?? null;
  const task: ScsiTask = {
    cdb: c,
    lun: 0,
    nexus,
    target,
    expectedLength: opts.expectedLength ?? (dataOut ? dataOut.length : 0x1000000),
    dataOut,
    taskTag: tagCounter++,
    attribute: 'simple',
    signal: new AbortController().signal,
  };
  const r = await lu.execute(task);
  let data = r.data ?? Buffer.alloc(0);
  if (data.length > task.expectedLength) data = data.subarray(0, task.expectedLength);
  return { status: r.status, data, sense: r.sense ? decodeSense(r.sense) : null };
}

/** A changer with drives, its inventory and two initiators, the power-on attentions swallowed. */
export class Library {
  readonly nexus = makeNexus('iqn.2026-11.org.example:host-a');
  readonly other = makeNexus('iqn.2026-11.org.example:host-b');

  private constructor(
    readonly backend: ImageBackend,
    readonly store: InventoryStore,
    readonly drives: TapeDriveUnit[],
    readonly inventory: Inventory,
    readonly unit: MediumChangerUnit,
  ) {}

  static async create(o: LibraryOptions = {}): Promise<Library> {
    const backend = o.backend ?? createMemoryBackend();
    const store = o.store ?? createMemoryInventoryStore();
    const drives = Array.from({ length: o.drives ?? 2 }, (_, i) =>
      createTapeDrive({ serial: `DRV${String(i + 1).padStart(7, '0')}` }),
    );
    const slots: DriveSlot[] = drives.map((d, i) => ({
      serial: `DRV${String(i + 1).padStart(7, '0')}`,
      vendor: d.drive.model.vendor,
      product: d.drive.model.product,
      lun: i + 1,
      drive: d.drive,
    }));
    const inventory = await Inventory.open({
      slots: o.slots ?? 8,
      mailslots: o.mailslots ?? 2,
      drives: slots,
      backend,
      store,
      chunkSize: 4096,
      ...(o.faults ? { faults: o.faults } : {}),
      ...(o.cleaningUses ? { cleaningUses: o.cleaningUses } : {}),
    });
    const unit = createMediumChanger({
      inventory,
      serial: 'LIB0000001',
      ...(o.model ? { model: o.model } : {}),
    });
    const lib = new Library(backend, store, drives, inventory, unit);
    for (const n of [lib.nexus, lib.other]) {
      unit.lu.nexusAdded(n);
      for (const d of drives) d.lu.nexusAdded(n);
    }
    await lib.settle();
    return lib;
  }

  exec(
    c: number[] | Buffer,
    opts: { nexus?: Nexus; expectedLength?: number; dataOut?: Buffer } = {},
  ): Promise<Result> {
    return exec(this.unit.lu, c, opts.nexus ?? this.nexus, opts);
  }

  /** Consumes the unit attentions pending for both initiators (what mtx's TUR loop does). */
  async settle(): Promise<void> {
    for (const nexus of [this.nexus, this.other]) {
      for (let i = 0; i < 10; i++) {
        const r = await this.exec(cdb.testUnitReady(), { nexus });
        if (r.sense?.key !== 0x06) break;
      }
    }
  }

  /** Runs a CDB on drive `i` (0-based), swallowing its unit attentions first. */
  async drive(
    i: number,
    c: number[],
    opts: { dataOut?: Buffer; expectedLength?: number } = {},
  ): Promise<Result> {
    const lu = this.drives[i].lu;
    for (let k = 0; k < 5; k++) {
      const r = await exec(lu, [0x00, 0, 0, 0, 0, 0], this.nexus);
      if (r.sense?.key !== 0x06) break;
    }
    return exec(lu, c, this.nexus, opts);
  }

  async close(): Promise<void> {
    await this.unit.lu.close();
    for (const d of this.drives) await d.lu.close();
  }
}

export async function tempDir(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'vtl-smc-'));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export function fileLibraryParts(dir: string): { backend: ImageBackend; store: InventoryStore } {
  return {
    backend: createFileBackend(join(dir, 'tapes')),
    store: createFileInventoryStore(join(dir, 'inventory.json')),
  };
}

const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const u24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];

/** CDB builders (SMC-3 / SPC-4 layouts). */
export const cdb = {
  testUnitReady: (): number[] => [0x00, 0, 0, 0, 0, 0],
  requestSense: (alloc = 18): number[] => [0x03, 0, 0, 0, alloc, 0],
  inquiry: (evpd = false, page = 0, alloc = 255): number[] => [0x12, evpd ? 1 : 0, page, ...u16(alloc), 0],
  initializeElementStatus: (): number[] => [0x07, 0, 0, 0, 0, 0],
  initializeWithRange: (range: boolean, start: number, count: number): number[] => [
    0xe7,
    range ? 1 : 0,
    ...u16(start),
    0,
    0,
    ...u16(count),
    0,
    0,
  ],
  prevent: (value: number): number[] => [0x1e, 0, 0, 0, value, 0],
  modeSense6: (page: number, dbd = true, alloc = 255, pc = 0): number[] => [
    0x1a,
    dbd ? 0x08 : 0,
    (pc << 6) | page,
    0,
    alloc,
    0,
  ],
  logSense: (page: number, pc = 1, alloc = 0xffff): number[] => [
    0x4d,
    0,
    (pc << 6) | page,
    0,
    0,
    0,
    0,
    ...u16(alloc),
    0,
  ],
  positionToElement: (transport: number, dest: number): number[] => [
    0x2b,
    0,
    ...u16(transport),
    ...u16(dest),
    0,
    0,
    0,
    0,
  ],
  moveMedium: (transport: number, src: number, dst: number, byte10 = 0, control = 0): number[] => [
    0xa5,
    0,
    ...u16(transport),
    ...u16(src),
    ...u16(dst),
    0,
    0,
    byte10,
    control,
  ],
  exchangeMedium: (transport: number, src: number, d1: number, d2: number): number[] => [
    0xa6,
    0,
    ...u16(transport),
    ...u16(src),
    ...u16(d1),
    ...u16(d2),
    0,
    0,
  ],
  readElementStatus: (
    o: {
      type?: number;
      voltag?: boolean;
      start?: number;
      count?: number;
      dvcid?: boolean;
      curdata?: boolean;
      alloc?: number;
    } = {},
  ): number[] => [
    0xb8,
    (o.voltag ? 0x10 : 0) | (o.type ?? 0),
    ...u16(o.start ?? 0),
    ...u16(o.count ?? 0xffff),
    (o.dvcid ? 1 : 0) | (o.curdata ? 2 : 0),
    ...u24(o.alloc ?? 0xffff),
    0,
    0,
  ],
};

/** SSC CDBs used on the drives. */
export const tape = {
  write6: (len: number): number[] => [0x0a, 0, ...u24(len), 0],
  read6: (len: number): number[] => [0x08, 0, ...u24(len), 0],
  writeFilemarks: (n: number): number[] => [0x10, 0, ...u24(n), 0],
  rewind: (): number[] => [0x01, 0, 0, 0, 0, 0],
  prevent: (value: number): number[] => [0x1e, 0, 0, 0, value, 0],
  loadUnload: (load: boolean): number[] => [0x1b, 0, 0, 0, load ? 1 : 0, 0],
};

export const ADDR = { transport: 0x0001, drive: 0x0100, mailslot: 0x0300, slot: 0x0400 } as const;
