/**
 * Test harness for the tape drive: a real TapeDrive logical unit (createTapeDrive) driven with
 * real CDBs through LogicalUnit.execute, cartridges on the memory or file backend, and CDB
 * builders named after the commands (libiscsi test-tool habit).
 */
import { decodeSense } from '../../../src/target/scsi/sense.js';
import type { DecodedSense } from '../../../src/target/scsi/sense.js';
import type { Nexus, ScsiTask, TargetContext } from '../../../src/target/scsi/types.js';
import { createCartridge, createMemoryBackend, openTapeImage } from '../../../src/vtl/image/index.js';
import type { CreateCartridgeOptions, ChunkedTapeImage } from '../../../src/vtl/image/index.js';
import type { ImageBackend } from '../../../src/vtl/image/types.js';
import { createTapeDrive } from '../../../src/vtl/ssc/index.js';
import type { CreateTapeDriveOptions, TapeDriveUnit } from '../../../src/vtl/ssc/index.js';

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

const target: TargetContext = { name: 'iqn.2026-11.org.example:vtl', portalGroupTag: 1, luns: () => [0] };

export class Harness {
  readonly unit: TapeDriveUnit;
  readonly nexus = makeNexus('iqn.2026-11.org.example:host-a');
  readonly other = makeNexus('iqn.2026-11.org.example:host-b');
  private tag = 1;

  /**
   * `compression` (default false here): drive compression (page 0Fh DCE) as the drive starts.
   * A real LTO drive starts with it on; most suites here count bytes on the medium and the
   * capacity, which compression of their patterned blocks would change, so they run without.
   */
  constructor(
    readonly backend: ImageBackend = createMemoryBackend(),
    options: CreateTapeDriveOptions & { compression?: boolean } = {},
  ) {
    const { compression, ...driveOptions } = options;
    this.unit = createTapeDrive({ serial: 'TST0000001', ...driveOptions });
    this.unit.drive.compression = compression ?? false;
    this.unit.lu.nexusAdded(this.nexus);
    this.unit.lu.nexusAdded(this.other);
  }

  get drive(): TapeDriveUnit['drive'] {
    return this.unit.drive;
  }

  async exec(
    cdb: Buffer | number[],
    opts: { dataOut?: Buffer; expectedLength?: number; nexus?: Nexus } = {},
  ): Promise<Result> {
    const c = Buffer.isBuffer(cdb) ? cdb : Buffer.from(cdb);
    const dataOut = opts.dataOut ?? null;
    const task: ScsiTask = {
      cdb: c,
      lun: 0,
      nexus: opts.nexus ?? this.nexus,
      target,
      expectedLength: opts.expectedLength ?? (dataOut ? dataOut.length : 0x1000000),
      dataOut,
      taskTag: this.tag++,
      attribute: 'simple',
      signal: new AbortController().signal,
    };
    const r = await this.unit.lu.execute(task);
    let data = r.data ?? Buffer.alloc(0);
    if (data.length > task.expectedLength) data = data.subarray(0, task.expectedLength);
    return { status: r.status, data, sense: r.sense ? decodeSense(r.sense) : null };
  }

  /** Swallows the POWER ON unit attentions of both nexuses (LTFS does it with TURs at open). */
  async start(): Promise<this> {
    await this.clearUnitAttentions(this.nexus);
    await this.clearUnitAttentions(this.other);
    return this;
  }

  /** Consumes pending unit attentions of a nexus (what st's open loop does with TUR). */
  async clearUnitAttentions(nexus: Nexus = this.nexus): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const r = await this.exec(cdb.testUnitReady(), { nexus });
      if (r.sense?.key !== 0x6) return;
    }
  }

  /** Creates a cartridge, loads it and clears the unit attentions of both nexuses. */
  async insert(options: Partial<CreateCartridgeOptions> = {}): Promise<ChunkedTapeImage> {
    const label = options.label ?? `T${String(this.tag++).padStart(5, '0')}L8`;
    if (!(await this.backend.exists(label)))
      await createCartridge(this.backend, { mediaType: 'LTO8', ...options, label });
    const image = await openTapeImage(this.backend, label);
    await this.drive.load(image);
    await this.clearUnitAttentions(this.nexus);
    await this.clearUnitAttentions(this.other);
    return image;
  }

  async close(): Promise<void> {
    await this.unit.lu.close();
  }
}

const u24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number): number[] => [...u16(Math.floor(v / 0x10000) & 0xffff), ...u16(v & 0xffff)];
const s64 = (v: number | bigint): number[] => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(v));
  return [...b];
};

/** CDB builders, one per command (SSC-4 / SPC-4 layouts). */
export const cdb = {
  testUnitReady: (): number[] => [0x00, 0, 0, 0, 0, 0],
  rewind: (immed = false): number[] => [0x01, immed ? 1 : 0, 0, 0, 0, 0],
  requestSense: (alloc = 18): number[] => [0x03, 0, 0, 0, alloc, 0],
  readBlockLimits: (mloc = false): number[] => [0x05, mloc ? 1 : 0, 0, 0, 0, 0],
  read6: (length: number, o: { fixed?: boolean; sili?: boolean } = {}): number[] => [
    0x08,
    (o.sili ? 2 : 0) | (o.fixed ? 1 : 0),
    ...u24(length),
    0,
  ],
  write6: (length: number, o: { fixed?: boolean } = {}): number[] => [
    0x0a,
    o.fixed ? 1 : 0,
    ...u24(length),
    0,
  ],
  writeFilemarks6: (count: number, o: { immed?: boolean; wsmk?: boolean } = {}): number[] => [
    0x10,
    (o.wsmk ? 2 : 0) | (o.immed ? 1 : 0),
    ...u24(count),
    0,
  ],
  space6: (code: number, count: number): number[] => [0x11, code, ...u24(count & 0xffffff), 0],
  space16: (code: number, count: number | bigint, parameterLength = 0): number[] => [
    0x91,
    code,
    0,
    0,
    ...s64(count),
    ...u16(parameterLength),
    0,
    0,
  ],
  erase6: (long = false, immed = false): number[] => [0x19, (immed ? 2 : 0) | (long ? 1 : 0), 0, 0, 0, 0],
  modeSelect6: (length: number): number[] => [0x15, 0x10, 0, 0, length, 0],
  modeSense6: (
    page: number,
    alloc: number,
    o: { dbd?: boolean; pc?: number; subpage?: number } = {},
  ): number[] => [0x1a, o.dbd ? 8 : 0, ((o.pc ?? 0) << 6) | page, o.subpage ?? 0, alloc, 0],
  loadUnload: (
    o: { load?: boolean; immed?: boolean; reten?: boolean; eot?: boolean; hold?: boolean } = {},
  ): number[] => [
    0x1b,
    o.immed ? 1 : 0,
    0,
    0,
    (o.hold ? 8 : 0) | (o.eot ? 4 : 0) | (o.reten ? 2 : 0) | (o.load ? 1 : 0),
    0,
  ],
  preventAllow: (prevent: number): number[] => [0x1e, 0, 0, 0, prevent, 0],
  locate10: (
    block: number,
    o: { cp?: boolean; partition?: number; bt?: boolean; immed?: boolean } = {},
  ): number[] => [
    0x2b,
    (o.bt ? 4 : 0) | (o.cp ? 2 : 0) | (o.immed ? 1 : 0),
    0,
    ...u32(block),
    0,
    o.partition ?? 0,
    0,
  ],
  readPosition: (sa: number, alloc = 0): number[] => [0x34, sa, 0, 0, 0, 0, 0, ...u16(alloc), 0],
  reportDensitySupport: (o: { media?: boolean; mediumType?: boolean; alloc?: number } = {}): number[] => [
    0x44,
    (o.mediumType ? 2 : 0) | (o.media ? 1 : 0),
    0,
    0,
    0,
    0,
    0,
    ...u16(o.alloc ?? 8192),
    0,
  ],
  logSense: (page: number, alloc = 0x1000, pc = 1): number[] => [
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
  modeSelect10: (length: number): number[] => [0x55, 0x10, 0, 0, 0, 0, 0, ...u16(length), 0],
  modeSense10: (
    page: number,
    alloc: number,
    o: { dbd?: boolean; pc?: number; subpage?: number } = {},
  ): number[] => [0x5a, o.dbd ? 8 : 0, ((o.pc ?? 0) << 6) | page, o.subpage ?? 0, 0, 0, 0, ...u16(alloc), 0],
  locate16: (
    id: number | bigint,
    o: { destType?: number; cp?: boolean; partition?: number; bam?: number } = {},
  ): number[] => [
    0x92,
    ((o.destType ?? 0) << 3) | (o.cp ? 2 : 0),
    o.bam ?? 0,
    o.partition ?? 0,
    ...s64(id),
    0,
    0,
    0,
    0,
  ],
  readAttribute: (
    o: { sa?: number; partition?: number; first?: number; alloc?: number; volume?: number } = {},
  ): number[] => [
    0x8c,
    o.sa ?? 0,
    0,
    0,
    0,
    o.volume ?? 0,
    0,
    o.partition ?? 0,
    ...u16(o.first ?? 0),
    ...u32(o.alloc ?? 0x8000),
    0,
    0,
  ],
  writeAttribute: (length: number, o: { wtc?: boolean; partition?: number } = {}): number[] => [
    0x8d,
    o.wtc === false ? 0 : 1,
    0,
    0,
    0,
    0,
    0,
    o.partition ?? 0,
    0,
    0,
    ...u32(length),
    0,
    0,
  ],
  formatMedium: (o: { immed?: boolean; format?: number } = {}): number[] => [
    0x04,
    o.immed ? 1 : 0,
    o.format ?? 0,
    0,
    0,
    0,
  ],
  logSelect: (o: { pcr?: boolean; page?: number; pc?: number } = {}): number[] => [
    0x4c,
    o.pcr ? 2 : 0,
    ((o.pc ?? 1) << 6) | (o.page ?? 0),
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ],
  rsoc: (
    o: { rctd?: boolean; options?: number; opcode?: number; sa?: number; alloc?: number } = {},
  ): number[] => [
    0xa3,
    0x0c,
    (o.rctd ? 0x80 : 0) | (o.options ?? 0),
    o.opcode ?? 0,
    ...u16(o.sa ?? 0),
    ...u32(o.alloc ?? 0x10000),
    0,
    0,
  ],
  /** SECURITY PROTOCOL IN (SPC-4 6.30): protocol, protocol-specific page, allocation length. */
  spin: (protocol: number, page: number, alloc = 8192, o: { inc512?: boolean } = {}): number[] => [
    0xa2,
    protocol,
    ...u16(page),
    o.inc512 ? 0x80 : 0,
    0,
    ...u32(alloc),
    0,
    0,
  ],
  /** SECURITY PROTOCOL OUT (SPC-4 6.31): protocol, page, transfer length. */
  spout: (protocol: number, page: number, length: number): number[] => [
    0xb5,
    protocol,
    ...u16(page),
    0,
    0,
    ...u32(length),
    0,
    0,
  ],
  inquiry: (alloc = 96, page?: number): number[] => [
    0x12,
    page === undefined ? 0 : 1,
    page ?? 0,
    ...u16(alloc),
    0,
  ],
};

export const SPACE = { BLOCKS: 0, FILEMARKS: 1, SEQUENTIAL_FILEMARKS: 2, EOD: 3, SETMARKS: 4 } as const;

/** A block whose bytes say which block it is, so misplaced reads show. */
export function block(n: number, length: number): Buffer {
  const b = Buffer.alloc(length, (n * 7 + 1) & 0xff);
  if (length >= 4) b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** Long-form READ POSITION decoded: what PBS and LTFS look at. */
export function decodeLongPosition(d: Buffer): {
  bop: boolean;
  eop: boolean;
  bpew: boolean;
  partition: number;
  object: number;
  file: number;
} {
  return {
    bop: (d[0] & 0x80) !== 0,
    eop: (d[0] & 0x40) !== 0,
    bpew: (d[0] & 0x01) !== 0,
    partition: d.readUInt32BE(4),
    object: Number(d.readBigUInt64BE(8)),
    file: Number(d.readBigUInt64BE(16)),
  };
}

/** Where the head is (object number, file number), through READ POSITION long form. */
export async function where(h: Harness): Promise<{ object: number; file: number }> {
  const r = await h.exec(cdb.readPosition(0x06), { expectedLength: 32 });
  if (r.status !== 0) throw new Error(`READ POSITION failed: ${r.sense?.name}`);
  const p = decodeLongPosition(r.data);
  return { object: p.object, file: p.file };
}
