/**
 * The medium partition mode page (SSC-4 11h) decoded from its layout, and the MODE SELECT lists
 * LTFS and the Linux st driver build from it, written from their documented steps
 * (clients.md; LTFS tape.c `tape_format`, st.c `partition_tape`), not copied.
 */
import { Harness, cdb } from './harness.js';

export interface PartitionPage {
  length: number;
  maxAdditional: number;
  additional: number;
  fdp: boolean;
  sdp: boolean;
  idp: boolean;
  psum: number;
  pofm: boolean;
  recognition: number;
  units: number;
  sizes: number[];
}

export function decodePartitionPage(p: Buffer): PartitionPage {
  const sizes: number[] = [];
  for (let off = 8; off + 2 <= 2 + p[1]; off += 2) sizes.push(p.readUInt16BE(off));
  return {
    length: p[1],
    maxAdditional: p[2],
    additional: p[3],
    fdp: (p[4] & 0x80) !== 0,
    sdp: (p[4] & 0x40) !== 0,
    idp: (p[4] & 0x20) !== 0,
    psum: (p[4] >> 3) & 0x03,
    pofm: (p[4] & 0x04) !== 0,
    recognition: p[5],
    units: p[6] & 0x0f,
    sizes,
  };
}

/** MODE SENSE(10) of page 11h with the block descriptor: header 8 + descriptor 8 + page. */
export async function sensePartitionPage(h: Harness, pc = 0): Promise<{ list: Buffer; page: PartitionPage }> {
  const r = await h.exec(cdb.modeSense10(0x11, 255, { pc }));
  if (r.status !== 0) throw new Error(`MODE SENSE 11h failed: ${r.sense?.name}`);
  return { list: r.data, page: decodePartitionPage(r.data.subarray(16)) };
}

/**
 * LTFS `tape_format`: MODE SENSE(10) 11h into 28 bytes, then the MODE SELECT(10) list: mode data
 * length zeroed, ADDITIONAL PARTITIONS DEFINED 1 (0 for one partition), IDP kept with the
 * other flag bits, PARTITION UNITS 9 (8 for one partition), sizes 1 and FFFFh (index partition
 * 0) or FFFFh and 1 (index partition 1); a page longer than 0Ah makes the list longer by as
 * much, the extra bytes zero.
 */
export async function ltfsPartitionList(h: Harness, indexPartition: 0 | 1 | null): Promise<Buffer> {
  const r = await h.exec(cdb.modeSense10(0x11, 28));
  const sensed = r.data;
  const list = Buffer.alloc(28 + 4);
  sensed.copy(list, 0, 0, 28);
  list[0] = 0;
  list[1] = 0;
  list[20] = 0x20 | (list[20] & 0x1f);
  if (indexPartition === null) {
    list[19] = 0;
    list[22] = 0x08;
    list.writeUInt16BE(0xffff, 24);
    list.writeUInt16BE(0, 26);
  } else {
    list[19] = 1;
    list[22] = 0x09;
    list.writeUInt16BE(indexPartition === 0 ? 1 : 0xffff, 24);
    list.writeUInt16BE(indexPartition === 0 ? 0xffff : 1, 26);
  }
  const length = 28 + Math.max(0, list[17] - 0x0a);
  return list.subarray(0, length);
}

/**
 * st `partition_tape` for MTMKPART with `sizeMb` > 0 on a SCSI-3 drive reporting POFM: MODE
 * SENSE(6) 11h with the block descriptor, two size descriptors whatever the page had, FFFFh
 * (rest) for partition 0 and the size for partition 1, in MB (PSUM 10b) or, from 1000 MB in
 * whole thousands and PSUM 11b reported, in GB with PARTITION UNITS 9; IDP; page length 0Ah.
 */
export async function stPartitionList(h: Harness, sizeMb: number): Promise<Buffer> {
  const r = await h.exec(cdb.modeSense6(0x11, 255));
  const b = Buffer.from(r.data);
  const pgo = 4 + b[3];
  let size = sizeMb;
  let psum = 0x10;
  let units = 0;
  if ((b[pgo + 4] & 0x18) === 0x18 && size >= 1000 && size % 1000 === 0) {
    size /= 1000;
    psum = 0x18;
    units = 9;
  }
  b[pgo + 8] = 0xff;
  b[pgo + 9] = 0xff;
  b.writeUInt16BE(size, pgo + 10);
  b[pgo + 3] = 1;
  b[pgo + 6] = units;
  b[pgo + 7] = 0;
  b[pgo + 4] = 0x20 | psum | (b[pgo + 4] & 0x07);
  b[pgo + 1] = 6 + 2 * 2;
  b[0] = 0;
  return b.subarray(0, pgo + 12);
}

/** READ POSITION long form: partition and logical object number. */
export async function position(h: Harness): Promise<{ partition: number; object: number; file: number }> {
  const r = await h.exec(cdb.readPosition(0x06), { expectedLength: 32 });
  if (r.status !== 0) throw new Error(`READ POSITION failed: ${r.sense?.name}`);
  return {
    partition: r.data.readUInt32BE(4),
    object: Number(r.data.readBigUInt64BE(8)),
    file: Number(r.data.readBigUInt64BE(16)),
  };
}
