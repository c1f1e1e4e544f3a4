/**
 * The tape drive as the Linux kernel sees it: a QEMU guest whose st/sg drivers reach our
 * target through QEMU's libiscsi block driver runs mt-st, GNU tar, sg3-utils and tapeinfo
 * (test/e2e/guest/cases/tape/*.sh). One boot per transport runs every case; each case is
 * reported as its own test with its failed CHECK lines.
 *
 * VTL_E2E_TRANSPORTS=native,net (default both) picks the transports; see support/guest.ts
 * for VTL_E2E_ACCEL and VTL_E2E_VERBOSE.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { VirtualLibrary } from '../../src/vtl/library.js';
import {
  assertCasePassed,
  caseNames,
  ensureGuestBuilt,
  runGuest,
  TAPE_CASES,
  type GuestRun,
} from './support/guest.js';

const TARGET = 'iqn.2026-11.org.iscsi-vtl:vtl';
const TAPE_LUN = 1; // drives are LUN 1..N
const transports = (process.env.VTL_E2E_TRANSPORTS ?? 'native,net').split(',') as Array<'native' | 'net'>;

const SERIAL = 'VTLE2E0001';
// What the emulated IBM LTO-8 drive must report; the cases hold the checks.
const EXPECT = {
  EXPECT_VENDOR: 'IBM',
  EXPECT_PRODUCT: 'ULT3580-TD8',
  EXPECT_DENSITY: '0x5e',
  EXPECT_SERIAL: SERIAL,
};

describe.each(transports)('tape drive through the Linux st driver (%s transport)', (transport) => {
  let run: GuestRun;
  let stop: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;

  beforeAll(async () => {
    await ensureGuestBuilt();
    dataDir = await mkdtemp(join(tmpdir(), 'vtl-e2e-'));
    const srv = await VirtualLibrary.start({
      dataDir,
      portals: ['127.0.0.1:0'],
      drives: [{ load: 'E01001L8', serial: SERIAL }],
      targetName: TARGET,
      transport,
    });
    stop = () => srv.stop();
    run = await runGuest({
      portal: { host: '127.0.0.1', port: srv.portals[0].port },
      target: TARGET,
      luns: [TAPE_LUN],
      scripts: [TAPE_CASES],
      env: { ...EXPECT, TAPE_LUN: String(TAPE_LUN) },
      caseTimeoutSec: 240,
      timeoutSec: 480,
    });
  });

  afterAll(async () => {
    await stop?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  for (const name of caseNames(TAPE_CASES)) {
    it(name, () => assertCasePassed(run, name));
  }
});
