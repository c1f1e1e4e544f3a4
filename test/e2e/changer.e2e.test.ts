/**
 * The library through the Linux kernel: the changer (LUN 0) driven by mtx over sg and a drive
 * (LUN 1) by st, in one guest boot (test/e2e/guest/cases/changer/*.sh).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualLibrary } from '../../src/vtl/library.js';
import {
  assertCasePassed,
  caseNames,
  ensureGuestBuilt,
  GUEST_DIR,
  runGuest,
  type GuestRun,
} from './support/guest.js';

const TARGET = 'iqn.2026-11.org.iscsi-vtl:library';
const CHANGER_CASES = join(GUEST_DIR, 'cases/changer');

describe('library through mtx and the st driver', () => {
  let run: GuestRun;
  let lib: VirtualLibrary | undefined;
  let dataDir: string | undefined;

  beforeAll(async () => {
    await ensureGuestBuilt();
    dataDir = await mkdtemp(join(tmpdir(), 'vtl-e2e-changer-'));
    lib = await VirtualLibrary.start({
      dataDir,
      portals: ['127.0.0.1:0'],
      targetName: TARGET,
      drives: [{}, {}],
      changer: { slots: 24, mailslots: 4, cartridges: ['E01001L8..E01020L8', 'CLN001L1'] },
    });
    run = await runGuest({
      portal: { host: '127.0.0.1', port: lib.portals[0].port },
      target: TARGET,
      luns: [0, 1],
      scripts: [CHANGER_CASES],
      env: { CHANGER_LUN: '0', TAPE_LUN: '1' },
      caseTimeoutSec: 300,
      timeoutSec: 480,
    });
  });

  afterAll(async () => {
    await lib?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  for (const name of caseNames(CHANGER_CASES)) {
    it(name, () => assertCasePassed(run, name));
  }

  it('the inventory after the guest run has every cartridge in its slot', () => {
    const where = new Map(lib!.inventory!.list().map((c) => [c.barcode, c.location]));
    expect(where.size).toBe(21);
    expect(where.get('E01003L8')).toMatchObject({ type: 'slot', index: 2 });
    expect(where.get('E01001L8')).toMatchObject({ type: 'slot', index: 0 });
  });
});
