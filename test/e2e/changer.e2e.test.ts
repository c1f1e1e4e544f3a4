/**
 * The library through the Linux kernel: the changer (LUN 0) driven by mtx over sg and a drive
 * (LUN 1) by st (test/e2e/guest/cases/changer/*.sh), on the embedded default library (the config
 * names neither drives nor changer). During the run the host plays the operator: when a case
 * asks, it runs `vtl mailslot insert` against the management API. Then the server is stopped
 * and started again, and a second guest boot must print the same `mtx status`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startManagementApi, type ManagementApi } from '../../src/cli/api/server.js';
import type { LibraryConfigInput } from '../../src/vtl/config.js';
import { VirtualLibrary } from '../../src/vtl/library.js';
import {
  assertCasePassed,
  caseResult,
  caseNames,
  ensureGuestBuilt,
  GUEST_DIR,
  runGuest,
  type GuestRun,
} from './support/guest.js';

const TARGET = 'iqn.2026-11.org.iscsi-vtl:library';
const CHANGER_CASES = join(GUEST_DIR, 'cases/changer');
const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');
const run = promisify(execFile);

/** Prints `mtx status` between markers, for the comparison after the restart. */
const STATUS_CASE = `#!/bin/sh
. /run/lib.sh
echo "@@MTX-STATUS-BEGIN"
mtx -f /dev/by-lun/0.sg status 2>&1
rc=$?
echo "@@MTX-STATUS-END"
check_eq "mtx status after the restart" 0 "$rc"
finish
`;

function statusBlock(output: string): string[] {
  const m = /@@MTX-STATUS-BEGIN\n([\s\S]*?)@@MTX-STATUS-END/.exec(output);
  if (!m) throw new Error(`no mtx status block in:\n${output}`);
  return m[1].trimEnd().split('\n');
}

describe('library through mtx and the st driver', () => {
  let first: GuestRun;
  let second: GuestRun;
  let lib: VirtualLibrary | undefined;
  let api: ManagementApi | undefined;
  let dataDir: string | undefined;
  const operator: { done?: Promise<{ stdout: string; stderr: string }> } = {};

  beforeAll(async () => {
    await ensureGuestBuilt();
    dataDir = await mkdtemp(join(tmpdir(), 'vtl-e2e-changer-'));
    const config: LibraryConfigInput = { dataDir, portals: ['127.0.0.1:0'], targetName: TARGET };
    lib = await VirtualLibrary.start(config);
    await lib.inventory!.createCartridges(['V00001L8'], { to: 'vault' });
    api = await startManagementApi(lib, { host: '127.0.0.1', port: 0 });
    const url = api.url;
    first = await runGuest({
      portal: { host: '127.0.0.1', port: lib.portals[0].port },
      target: TARGET,
      luns: [0, 1],
      scripts: [CHANGER_CASES],
      env: { CHANGER_LUN: '0', TAPE_LUN: '1' },
      caseTimeoutSec: 300,
      timeoutSec: 480,
      onConsoleLine: (line) => {
        if (line.includes('@@VTL-REQUEST mailslot-insert') && !operator.done) {
          operator.done = run(process.execPath, [
            '--import',
            'tsx',
            MAIN,
            'mailslot',
            'insert',
            'V00001L8',
            '--api',
            url,
          ]);
        }
      },
    });
    await operator.done?.catch(() => undefined);
    await api.close();
    api = undefined;

    // Restart: a new server process state from the same data directory.
    await lib.stop();
    lib = await VirtualLibrary.start(config);
    second = await runGuest({
      portal: { host: '127.0.0.1', port: lib.portals[0].port },
      target: TARGET,
      luns: [0, 1],
      scripts: { 'status-after-restart': STATUS_CASE },
      timeoutSec: 240,
    });
  });

  afterAll(async () => {
    await api?.close();
    await lib?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  for (const name of caseNames(CHANGER_CASES)) {
    it(name, () => assertCasePassed(first, name));
  }

  it("the operator's `vtl mailslot insert` ran while the guest waited", async () => {
    expect(operator.done).toBeDefined();
    const r = await operator.done!;
    expect(r.stdout).toContain('V00001L8');
  });

  it('after a server restart mtx status prints the same inventory', () => {
    assertCasePassed(second, 'status-after-restart');
    const before = statusBlock(caseResult(first, 'operator').output);
    const after = statusBlock(caseResult(second, 'status-after-restart').output);
    expect(after.length).toBeGreaterThan(20);
    expect(after).toEqual(before);
  });

  it('the inventory after the guest runs: every cartridge where mtx left it, one cleaning used', () => {
    const where = new Map(lib!.inventory!.list().map((c) => [c.barcode, c]));
    expect(where.size).toBe(22);
    expect(where.get('E01001L8')?.location).toMatchObject({ type: 'slot', index: 0 });
    expect(where.get('E01003L8')?.location).toMatchObject({ type: 'slot', index: 2 });
    expect(where.get('V00001L8')?.location).toMatchObject({ type: 'slot', index: 21 });
    expect(where.get('CLN001L1')).toMatchObject({
      location: { type: 'slot', index: 20 },
      cleaningUsesLeft: 49,
    });
  });
});
