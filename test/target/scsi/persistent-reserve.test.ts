import { describe, expect, it } from 'vitest';
import { ByteReader } from '../../../src/util/bytes.js';
import type { LogicalUnit, Nexus } from '../../../src/target/scsi/index.js';
import { PrType } from '../../../src/target/scsi/index.js';
import { I1, I2, I3, cdb, dataOf, readyUnit, run, senseOf } from './processor.js';

const CONFLICT = 0x18;
const SA = {
  REGISTER: 0,
  RESERVE: 1,
  RELEASE: 2,
  CLEAR: 3,
  PREEMPT: 4,
  PREEMPT_AND_ABORT: 5,
  REGISTER_AND_IGNORE: 6,
};

function params(key: bigint, saKey: bigint, flags = 0): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64BE(key, 0);
  b.writeBigUInt64BE(saKey, 8);
  b[20] = flags;
  return b;
}

async function prout(
  lu: LogicalUnit,
  n: Nexus,
  sa: number,
  type: number,
  key: bigint,
  saKey: bigint,
  flags = 0,
  len = 24,
) {
  const list = params(key, saKey, flags);
  return await run(lu, cdb(0x5f, sa, type, 0, 0, 0, 0, 0, len, 0), n, list.subarray(0, Math.min(len, 24)));
}

async function prin(lu: LogicalUnit, n: Nexus, sa: number, alloc = 1024): Promise<Buffer> {
  return dataOf(await run(lu, cdb(0x5e, sa, 0, 0, 0, 0, 0, alloc >> 8, alloc & 0xff, 0), n));
}

async function readKeys(lu: LogicalUnit, n: Nexus): Promise<{ generation: number; keys: bigint[] }> {
  const r = new ByteReader(await prin(lu, n, 0));
  const generation = r.u32();
  const len = r.u32();
  const keys: bigint[] = [];
  for (let i = 0; i < len / 8; i++) keys.push(r.u64());
  return { generation, keys };
}

async function readReservation(lu: LogicalUnit, n: Nexus): Promise<{ key: bigint; type: number } | null> {
  const d = await prin(lu, n, 1);
  if (d.readUInt32BE(4) === 0) return null;
  return { key: d.readBigUInt64BE(8), type: d[21] & 0x0f };
}

const READ6 = cdb(0x08, 0, 0, 0, 0, 0);
const WRITE6 = cdb(0x0a, 0, 0, 0, 0, 0);

describe('PERSISTENT RESERVE OUT / IN', () => {
  it('registers, reads keys with a generation, changes and drops keys', async () => {
    const { lu } = await readyUnit(I1, I2);
    expect((await prout(lu, I1, SA.REGISTER, 0, 0n, 0xa1n)).status).toBe(0);
    expect((await prout(lu, I2, SA.REGISTER_AND_IGNORE, 0, 0n, 0xb2n)).status).toBe(0);
    expect(await readKeys(lu, I1)).toEqual({ generation: 2, keys: [0xa1n, 0xb2n] });
    // REGISTER with a wrong key conflicts; with the right one it replaces the key.
    expect((await prout(lu, I1, SA.REGISTER, 0, 0x99n, 0xa2n)).status).toBe(CONFLICT);
    expect((await prout(lu, I1, SA.REGISTER, 0, 0xa1n, 0xa2n)).status).toBe(0);
    // REGISTER AND IGNORE EXISTING KEY ignores the key field (LTFS re-registers this way).
    expect((await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0x1234n, 0xa3n)).status).toBe(0);
    expect((await prout(lu, I2, SA.REGISTER, 0, 0xb2n, 0n)).status).toBe(0);
    expect(await readKeys(lu, I2)).toEqual({ generation: 5, keys: [0xa3n] });
    // An unregistered nexus registering with a non-zero key conflicts.
    expect((await prout(lu, I2, SA.REGISTER, 0, 0x5n, 0x6n)).status).toBe(CONFLICT);
  });

  it('reserves exclusive access: others conflict on reads and writes; RELEASE frees it', async () => {
    const { lu } = await readyUnit(I1, I2);
    await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
    await prout(lu, I2, SA.REGISTER_AND_IGNORE, 0, 0n, 0x22n);
    expect((await prout(lu, I2, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x99n, 0n)).status).toBe(CONFLICT);
    expect((await prout(lu, I1, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n)).status).toBe(0);
    expect(await readReservation(lu, I2)).toEqual({ key: 0x11n, type: PrType.EXCLUSIVE_ACCESS });
    expect((await prout(lu, I1, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n)).status).toBe(0);
    expect((await prout(lu, I1, SA.RESERVE, PrType.WRITE_EXCLUSIVE, 0x11n, 0n)).status).toBe(CONFLICT);
    expect((await prout(lu, I2, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x22n, 0n)).status).toBe(CONFLICT);
    expect((await run(lu, READ6, I1)).status).toBe(0);
    expect((await run(lu, READ6, I2)).status).toBe(CONFLICT);
    expect((await run(lu, cdb(0x00), I2)).status).toBe(CONFLICT);
    expect((await run(lu, cdb(0x12, 0, 0, 0, 36, 0), I2)).status).toBe(0);
    // RELEASE of another type by the holder is refused with 26/04.
    const bad = senseOf(await prout(lu, I1, SA.RELEASE, PrType.WRITE_EXCLUSIVE, 0x11n, 0n));
    expect(bad.name).toBe('INVALID_RELEASE_OF_PERSISTENT_RESERVATION');
    // RELEASE by a registered non-holder is GOOD and changes nothing.
    expect((await prout(lu, I2, SA.RELEASE, PrType.EXCLUSIVE_ACCESS, 0x22n, 0n)).status).toBe(0);
    expect(await readReservation(lu, I1)).not.toBeNull();
    expect((await prout(lu, I1, SA.RELEASE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n)).status).toBe(0);
    expect(await readReservation(lu, I1)).toBeNull();
    expect((await run(lu, READ6, I2)).status).toBe(0);
  });

  // libiscsi test_prout_reserve_access: [registered reads, registered writes, unregistered reads, unregistered writes]
  const matrix: [string, number, [boolean, boolean, boolean, boolean]][] = [
    ['exclusive access', PrType.EXCLUSIVE_ACCESS, [false, false, false, false]],
    ['write exclusive', PrType.WRITE_EXCLUSIVE, [true, false, true, false]],
    [
      'exclusive access, registrants only',
      PrType.EXCLUSIVE_ACCESS_REGISTRANTS_ONLY,
      [true, true, false, false],
    ],
    ['write exclusive, registrants only', PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY, [true, true, true, false]],
    [
      'exclusive access, all registrants',
      PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS,
      [true, true, false, false],
    ],
    ['write exclusive, all registrants', PrType.WRITE_EXCLUSIVE_ALL_REGISTRANTS, [true, true, true, false]],
  ];
  for (const [name, type, expected] of matrix) {
    it(`grants access per SPC-4 table 65 for ${name}`, async () => {
      const { lu } = await readyUnit(I1, I2);
      await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
      await prout(lu, I2, SA.REGISTER_AND_IGNORE, 0, 0n, 0x22n);
      expect((await prout(lu, I1, SA.RESERVE, type, 0x11n, 0n)).status).toBe(0);
      const allReg =
        type === PrType.EXCLUSIVE_ACCESS_ALL_REGISTRANTS || type === PrType.WRITE_EXCLUSIVE_ALL_REGISTRANTS;
      expect(await readReservation(lu, I1)).toEqual({ key: allReg ? 0n : 0x11n, type });
      expect((await run(lu, READ6, I1)).status).toBe(0);
      expect((await run(lu, WRITE6, I1, Buffer.alloc(0))).status).toBe(0);
      const ok = async (cmd: Buffer, data: Buffer | null): Promise<boolean> =>
        (await run(lu, cmd, I2, data)).status !== CONFLICT;
      const got = [await ok(READ6, null), await ok(WRITE6, Buffer.alloc(0))];
      await prout(lu, I2, SA.REGISTER, 0, 0x22n, 0n);
      got.push(await ok(READ6, null), await ok(WRITE6, Buffer.alloc(0)));
      expect(got).toEqual(expected);
      expect((await prout(lu, I1, SA.RELEASE, type, 0x11n, 0n)).status).toBe(0);
      expect(await readReservation(lu, I1)).toBeNull();
    });
  }

  it('preempts a holder: registrations and reservation move, with unit attentions', async () => {
    const { lu } = await readyUnit(I1, I2, I3);
    await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
    await prout(lu, I2, SA.REGISTER_AND_IGNORE, 0, 0n, 0x22n);
    await prout(lu, I3, SA.REGISTER_AND_IGNORE, 0, 0n, 0x33n);
    await prout(lu, I1, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n);
    const before = (await readKeys(lu, I1)).generation;
    expect((await prout(lu, I2, SA.PREEMPT, PrType.WRITE_EXCLUSIVE, 0x22n, 0x11n)).status).toBe(0);
    expect(await readKeys(lu, I2)).toEqual({ generation: before + 1, keys: [0x22n, 0x33n] });
    expect(await readReservation(lu, I2)).toEqual({ key: 0x22n, type: PrType.WRITE_EXCLUSIVE });
    expect(senseOf(await run(lu, cdb(0x00), I1)).name).toBe('REGISTRATIONS_PREEMPTED');
    // The type changed, so the registrant that stays is told the reservation was released.
    expect(senseOf(await run(lu, cdb(0x00), I3)).name).toBe('RESERVATIONS_RELEASED');
    expect((await run(lu, cdb(0x00), I2)).status).toBe(0);
    // The preempted nexus is no longer registered: its old key conflicts.
    expect((await prout(lu, I1, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n)).status).toBe(CONFLICT);
  });

  it('preempts registrations only (libiscsi PreemptRmReg), and PREEMPT AND ABORT likewise', async () => {
    const { lu } = await readyUnit(I1, I2, I3);
    await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
    await prout(lu, I2, SA.REGISTER_AND_IGNORE, 0, 0n, 0x22n);
    await prout(lu, I3, SA.REGISTER_AND_IGNORE, 0, 0n, 0x33n);
    const g = (await readKeys(lu, I1)).generation;
    expect((await prout(lu, I2, SA.PREEMPT, PrType.EXCLUSIVE_ACCESS, 0x22n, 0x11n)).status).toBe(0);
    expect(await readKeys(lu, I2)).toEqual({ generation: g + 1, keys: [0x22n, 0x33n] });
    expect(await readReservation(lu, I2)).toBeNull();
    expect(senseOf(await run(lu, cdb(0x00), I1)).name).toBe('REGISTRATIONS_PREEMPTED');
    expect((await prout(lu, I2, SA.PREEMPT_AND_ABORT, PrType.EXCLUSIVE_ACCESS, 0x22n, 0x33n)).status).toBe(0);
    expect((await readKeys(lu, I2)).keys).toEqual([0x22n]);
    // A key nobody holds conflicts; key 0 without a reservation is an invalid field.
    expect((await prout(lu, I2, SA.PREEMPT, PrType.EXCLUSIVE_ACCESS, 0x22n, 0x77n)).status).toBe(CONFLICT);
    const zero = senseOf(await prout(lu, I2, SA.PREEMPT, PrType.EXCLUSIVE_ACCESS, 0x22n, 0n));
    expect([zero.name, zero.fieldPointer, zero.inCdb]).toEqual(['INVALID_FIELD_IN_PARAMETER_LIST', 8, false]);
  });

  it('CLEAR removes everything and tells the other registrants', async () => {
    const { lu } = await readyUnit(I1, I2, I3);
    await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
    await prout(lu, I2, SA.REGISTER_AND_IGNORE, 0, 0n, 0x22n);
    await prout(lu, I1, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n);
    expect((await prout(lu, I2, SA.CLEAR, 0, 0x99n, 0n)).status).toBe(CONFLICT);
    expect((await prout(lu, I2, SA.CLEAR, 0, 0x22n, 0n)).status).toBe(0);
    expect((await readKeys(lu, I2)).keys).toEqual([]);
    expect(await readReservation(lu, I2)).toBeNull();
    expect(senseOf(await run(lu, cdb(0x00), I1)).name).toBe('RESERVATIONS_PREEMPTED');
    expect((await run(lu, cdb(0x00), I2)).status).toBe(0);
    expect((await run(lu, cdb(0x00), I3)).status).toBe(0); // never registered: no unit attention
  });

  it('releasing a registrants-only reservation tells the other registrants', async () => {
    const { lu } = await readyUnit(I1, I2);
    await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
    await prout(lu, I2, SA.REGISTER_AND_IGNORE, 0, 0n, 0x22n);
    await prout(lu, I1, SA.RESERVE, PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY, 0x11n, 0n);
    expect((await prout(lu, I1, SA.RELEASE, PrType.WRITE_EXCLUSIVE_REGISTRANTS_ONLY, 0x11n, 0n)).status).toBe(
      0,
    );
    expect(senseOf(await run(lu, cdb(0x00), I2)).name).toBe('RESERVATIONS_RELEASED');
    expect((await run(lu, cdb(0x00), I1)).status).toBe(0);
  });

  it('keeps registrations across nexus loss; the holder unregistering drops its reservation', async () => {
    const { lu } = await readyUnit(I1, I2);
    await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
    await prout(lu, I1, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n);
    lu.nexusRemoved(I1);
    expect((await run(lu, READ6, I2)).status).toBe(CONFLICT);
    lu.nexusAdded(I1);
    await run(lu, cdb(0x00), I1);
    expect((await run(lu, READ6, I1)).status).toBe(0);
    expect((await prout(lu, I1, SA.REGISTER, 0, 0x11n, 0n)).status).toBe(0);
    expect(await readReservation(lu, I2)).toBeNull();
    expect((await run(lu, READ6, I2)).status).toBe(0);
  });

  it('reports capabilities: CRH, TMV and the six types', async () => {
    const { lu } = await readyUnit(I1);
    expect((await prin(lu, I1, 2)).toString('hex')).toBe('00081080ea010000');
  });

  it('reads full status with the transport IDs of registered nexuses', async () => {
    const { lu } = await readyUnit(I1, I2);
    await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
    await prout(lu, I2, SA.REGISTER_AND_IGNORE, 0, 0n, 0x22n);
    await prout(lu, I2, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x22n, 0n);
    const d = await prin(lu, I1, 3, 4096);
    const r = new ByteReader(d);
    expect(r.u32()).toBe(2); // two registrations; RESERVE does not count (SPC-4 6.15.2)
    expect(r.u32()).toBe(d.length - 8);
    const seen: [bigint, boolean, number, Buffer][] = [];
    while (r.remaining > 0) {
      const key = r.u64();
      const flags = r.skip(4).u8();
      const type = r.u8() & 0x0f;
      const rtpi = r.skip(4).u16();
      expect(rtpi).toBe(1);
      seen.push([key, (flags & 1) !== 0, type, r.bytes(r.u32())]);
    }
    expect(seen).toEqual([
      [0x11n, false, 0, I1.transportId],
      [0x22n, true, PrType.EXCLUSIVE_ACCESS, I2.transportId],
    ]);
    // Truncation keeps the header's lengths.
    const short = dataOf(await run(lu, cdb(0x5e, 3, 0, 0, 0, 0, 0, 0, 8, 0), I1));
    expect(short.readUInt32BE(4)).toBe(d.length - 8);
  });

  it('refuses APTPL, SPEC_I_PT, ALL_TG_PT, bad lengths, scope and type', async () => {
    const { lu } = await readyUnit(I1);
    for (const [flags, bit] of [
      [0x01, 0],
      [0x04, 2],
      [0x08, 3],
    ] as const) {
      const s = senseOf(await prout(lu, I1, SA.REGISTER, 0, 0n, 0x11n, flags));
      expect([s.name, s.fieldPointer, s.bitPointer, s.inCdb]).toEqual([
        'INVALID_FIELD_IN_PARAMETER_LIST',
        20,
        bit,
        false,
      ]);
    }
    expect(senseOf(await prout(lu, I1, SA.REGISTER, 0, 0n, 0x11n, 0, 20)).name).toBe(
      'PARAMETER_LIST_LENGTH_ERROR',
    );
    await prout(lu, I1, SA.REGISTER, 0, 0n, 0x11n);
    const scope = senseOf(await prout(lu, I1, SA.RESERVE, 0x10 | PrType.EXCLUSIVE_ACCESS, 0x11n, 0n));
    expect([scope.name, scope.fieldPointer, scope.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2, 7]);
    const type = senseOf(await prout(lu, I1, SA.RESERVE, 0x2, 0x11n, 0n));
    expect([type.name, type.fieldPointer, type.bitPointer]).toEqual(['INVALID_FIELD_IN_CDB', 2, 3]);
    // REGISTER AND MOVE is not offered: unknown service action.
    const move = senseOf(await run(lu, cdb(0x5f, 0x07, 0, 0, 0, 0, 0, 0, 24, 0), I1, Buffer.alloc(24)));
    expect([move.name, move.fieldPointer]).toEqual(['INVALID_FIELD_IN_CDB', 1]);
  });

  it('answers SPC-2 RESERVE per Compatible Reservation Handling under a persistent reservation', async () => {
    const { lu } = await readyUnit(I1, I2);
    await prout(lu, I1, SA.REGISTER_AND_IGNORE, 0, 0n, 0x11n);
    await prout(lu, I1, SA.RESERVE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n);
    expect((await run(lu, cdb(0x16), I1)).status).toBe(0);
    expect((await run(lu, cdb(0x16), I2)).status).toBe(CONFLICT);
    expect((await run(lu, cdb(0x17), I2)).status).toBe(CONFLICT);
    // The holder's RESERVE changed nothing: releasing the persistent reservation frees the unit.
    await prout(lu, I1, SA.RELEASE, PrType.EXCLUSIVE_ACCESS, 0x11n, 0n);
    expect((await run(lu, cdb(0x00), I2)).status).toBe(0);
  });
});
