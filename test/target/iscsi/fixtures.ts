/**
 * Test fixtures for the iSCSI suites: a RAM "sequential echo" logical unit (WRITE stores a
 * record, READ returns the next one), a target on an ephemeral loopback port, and the
 * transports to run the integration suites against.
 */
import { afterEach } from 'vitest';
import { Initiator, type InitiatorOptions } from '../../support/initiator.js';
import { SENSE, SenseError, encodeSense } from '../../../src/target/scsi/sense.js';
import {
  ScsiStatus,
  type LogicalUnit,
  type Nexus,
  type ResetKind,
  type ScsiResponse,
  type ScsiTask,
} from '../../../src/target/scsi/types.js';
import { reportLunsData } from '../../../src/target/scsi/spc/report-luns.js';
import { IscsiTarget, type IscsiTargetOptions, type TargetConfig } from '../../../src/target/iscsi-target.js';
import { createNetTransport } from '../../../src/target/transport/net.js';
import type { Transport } from '../../../src/target/transport/types.js';

export const TARGET = 'iqn.2024-01.org.example:vtl';
export const INITIATOR = 'iqn.2024-01.org.example:host1';

/** Vendor opcodes of the echo device, for tests. */
export const EchoOp = {
  TEST_UNIT_READY: 0x00,
  READ: 0x08,
  WRITE: 0x0a,
  INQUIRY: 0x12,
  REPORT_LUNS: 0xa0,
  /** Waits until `release()` is called (abort tests). */
  HOLD: 0xc0,
  /** Returns N bytes (CDB bytes 2-4) of data with CHECK CONDITION, MEDIUM ERROR sense. */
  DATA_WITH_SENSE: 0xc1,
  /** Returns N bytes (CDB bytes 2-4) of 0x5a, GOOD, whatever the expected length. */
  PATTERN: 0xc2,
} as const;

/** CDB for a 6-byte command with a 24-bit length in bytes 2-4. */
export function cdb6(opcode: number, length = 0): Buffer {
  const b = Buffer.alloc(6);
  b[0] = opcode;
  b.writeUIntBE(length, 2, 3);
  return b;
}

export class EchoLu implements LogicalUnit {
  readonly deviceType = 0x01;
  readonly records: Buffer[] = [];
  readonly nexuses = new Set<string>();
  readonly events: string[] = [];
  readonly executed: number[] = [];
  lastCdb: Buffer = Buffer.alloc(0);
  private held: (() => void)[] = [];
  concurrent = 0;
  maxConcurrent = 0;

  execute(task: ScsiTask): ScsiResponse | Promise<ScsiResponse> {
    this.executed.push(task.cdb[0]);
    this.lastCdb = task.cdb;
    const length = task.cdb.readUIntBE(2, 3);
    switch (task.cdb[0]) {
      case EchoOp.TEST_UNIT_READY:
        return { status: ScsiStatus.GOOD };
      case EchoOp.INQUIRY: {
        const d = Buffer.alloc(36, 0x20);
        d[0] = 0x01;
        d[1] = 0x80;
        d[2] = 0x05;
        d[3] = 0x02;
        d[4] = 31;
        d.fill(0, 5, 8);
        d.write('TESTVEND', 8, 'latin1');
        d.write('ECHO TAPE', 16, 'latin1');
        d.write('0001', 32, 'latin1');
        return { status: ScsiStatus.GOOD, data: d.subarray(0, Math.min(36, task.cdb.readUInt16BE(3))) };
      }
      case EchoOp.REPORT_LUNS:
        return { status: ScsiStatus.GOOD, data: reportLunsData(task.cdb, task.target) };
      case EchoOp.WRITE:
        this.records.push(Buffer.from(task.dataOut ?? Buffer.alloc(0)));
        return { status: ScsiStatus.GOOD, dataOutNeeded: length };
      case EchoOp.READ: {
        const rec = this.records.shift();
        if (!rec) throw new SenseError(SENSE.END_OF_DATA_DETECTED);
        return { status: ScsiStatus.GOOD, data: rec };
      }
      case EchoOp.DATA_WITH_SENSE:
        return {
          status: ScsiStatus.CHECK_CONDITION,
          data: Buffer.alloc(length, 0x11),
          sense: encodeSense(SENSE.UNRECOVERED_READ_ERROR),
        };
      case EchoOp.PATTERN:
        return { status: ScsiStatus.GOOD, data: Buffer.alloc(length, 0x5a) };
      case EchoOp.HOLD:
        this.concurrent++;
        this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
        return new Promise((resolve) => {
          this.held.push(() => {
            this.concurrent--;
            resolve({ status: task.signal.aborted ? ScsiStatus.TASK_ABORTED : ScsiStatus.GOOD });
          });
        });
      default:
        throw new SenseError(SENSE.INVALID_COMMAND_OPERATION_CODE, { fieldPointer: 0 });
    }
  }

  /** Lets every held command finish. */
  release(): void {
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }

  get heldCount(): number {
    return this.held.length;
  }

  nexusAdded(nexus: Nexus): void {
    this.nexuses.add(nexus.key);
    this.events.push(`added ${nexus.key}`);
  }
  nexusRemoved(nexus: Nexus): void {
    this.nexuses.delete(nexus.key);
    this.events.push(`removed ${nexus.key}`);
  }
  reset(kind: ResetKind): void {
    this.events.push(`reset ${kind}`);
  }
  tasksCleared(_by: Nexus, all: boolean): void {
    this.events.push(`cleared ${all ? 'all' : 'own'}`);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const sense = { encode: encodeSense };

export interface TransportCase {
  readonly name: string;
  readonly create: () => Transport;
}

/** The transports the integration suites run against: net always, native when it loads. */
export async function transports(): Promise<TransportCase[]> {
  const out: TransportCase[] = [{ name: 'net', create: createNetTransport }];
  try {
    const native = await import('../../../src/target/transport/native.js');
    if (native.nativeAvailable()) out.push({ name: 'native', create: native.createNativeTransport });
  } catch {
    // The native transport is not built here; the net suite still runs.
  }
  return out;
}

export interface Harness {
  readonly target: IscsiTarget;
  readonly lu: EchoLu;
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startTarget(
  transport: Transport,
  options: Partial<IscsiTargetOptions> = {},
  config: Partial<TargetConfig> = {},
): Promise<Harness> {
  const lu = new EchoLu();
  const target = new IscsiTarget({
    transport,
    portals: [{ host: '127.0.0.1', port: 0 }],
    targets: [{ name: TARGET, luns: new Map<number, LogicalUnit>([[1, lu]]), ...config }],
    nopInterval: 0,
    ...options,
  });
  await target.start();
  const { host, port } = target.portals[0];
  return { target, lu, host, port, stop: () => target.stop({ logoutWaitMs: 200, graceMs: 500 }) };
}

/** n bytes of a pattern that differs per seed. */
export const pattern = (n: number, seed = 1): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
};

export const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A target and its initiators for one describe block: both are closed after each test. */
export interface TargetScope {
  /** The target the current test started. */
  readonly h: Harness;
  readonly start: (options?: Partial<IscsiTargetOptions>, config?: Partial<TargetConfig>) => Promise<Harness>;
  readonly connect: (options?: Partial<InitiatorOptions>) => Promise<Initiator>;
}

export function targetScope(create: () => Transport): TargetScope {
  let current: Harness | undefined;
  const open: Initiator[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) s.close();
    await current?.stop();
    current = undefined;
  });
  const harness = (): Harness => {
    if (!current) throw new Error('start() the target first');
    return current;
  };
  return {
    get h() {
      return harness();
    },
    start: async (options = {}, config = {}) => {
      current = await startTarget(create(), options, config);
      return current;
    },
    connect: async (options = {}) => {
      const { host, port } = harness();
      const s = await Initiator.connect({
        host,
        port,
        targetName: TARGET,
        initiatorName: INITIATOR,
        ...options,
      });
      open.push(s);
      return s;
    },
  };
}
