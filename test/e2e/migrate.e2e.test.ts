/**
 * Cloud migration through the Linux kernel (issue 4 'Shown by'): in one guest boot, tar writes
 * to a cartridge, `mtx transfer` moves it into a mailslot, the library vaults and exports it
 * to `rclone serve sftp` on 127.0.0.1 (a real network remote with MD5), deleting the local
 * copy once every chunk is verified; on the case's request the host runs `vtl import
 * --mailslot`, and mtx and tar read back the same bytes (test/e2e/guest/cases/migrate/*.sh).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startManagementApi, type ManagementApi } from '../../src/cli/api/server.js';
import type { JobResultView } from '../../src/cli/api/types.js';
import type { JobRecord } from '../../src/migrate/job-store.js';
import { VirtualLibrary } from '../../src/vtl/library.js';
import { emptyRcloneConf, serve, type Served } from '../migrate/support.js';
import {
  assertCasePassed,
  caseNames,
  ensureGuestBuilt,
  GUEST_DIR,
  runGuest,
  type GuestRun,
} from './support/guest.js';

const TARGET = 'iqn.2026-11.org.iscsi-vtl:migrate';
const CASES = join(GUEST_DIR, 'cases/migrate');
const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');
const run = promisify(execFile);

interface HostSide {
  exported: JobRecord;
  imported: JobRecord;
  cliStderr: string;
}

async function exportJob(lib: VirtualLibrary, barcode: string): Promise<JobRecord> {
  const m = lib.library().migration!.migrator;
  const end = Date.now() + 30_000;
  for (;;) {
    const job = m.jobs().find((j) => j.kind === 'export' && j.barcode === barcode);
    if (job) return m.wait(job.id);
    if (Date.now() > end) throw new Error(`no export job for ${barcode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cloud migration through mtx, tar and rclone serve sftp', () => {
  let guest: GuestRun;
  let lib: VirtualLibrary | undefined;
  let api: ManagementApi | undefined;
  let sftp: Served | undefined;
  let dir: string | undefined;
  let sftpRoot: string;
  let host: Promise<HostSide> | undefined;

  beforeAll(async () => {
    await ensureGuestBuilt();
    dir = await mkdtemp(join(tmpdir(), 'vtl-e2e-migrate-'));
    sftpRoot = join(dir, 'sftp');
    await mkdir(sftpRoot);
    await mkdir(join(dir, 'rclone-cache'));
    sftp = await serve('sftp', sftpRoot, join(dir, 'rclone-cache'), 'cloud');
    lib = await VirtualLibrary.start(
      {
        dataDir: join(dir, 'data'),
        portals: ['127.0.0.1:0'],
        targetName: TARGET,
        drives: [{}],
        changer: { slots: 4, mailslots: 2, cartridges: ['E01001L8'] },
        migration: {
          remote: 'cloud:vault',
          rcloneFlags: emptyRcloneConf(dir),
          chunkSize: '1m',
          deleteAfterExport: true,
          retryPause: 1,
        },
      },
      { rcloneEnv: sftp.env },
    );
    api = await startManagementApi(lib, { port: 0 });
    const url = api.url;
    const library = lib;
    guest = await runGuest({
      portal: { host: '127.0.0.1', port: lib.portals[0].port },
      target: TARGET,
      luns: [0, 1],
      scripts: [CASES],
      env: { CHANGER_LUN: '0', TAPE_LUN: '1' },
      caseTimeoutSec: 240,
      timeoutSec: 420,
      onConsoleLine: (line) => {
        if (!line.includes('@@VTL-REQUEST import E01001L8') || host) return;
        host = (async () => {
          const exported = await exportJob(library, 'E01001L8');
          const r = await run(process.execPath, [
            '--import',
            'tsx',
            MAIN,
            'import',
            'E01001L8',
            '--mailslot',
            '--wait',
            '--json',
            '--api',
            url,
          ]);
          return {
            exported,
            imported: (JSON.parse(r.stdout) as JobResultView).job,
            cliStderr: r.stderr,
          };
        })();
        host.catch(() => undefined);
      },
    });
  });

  afterAll(async () => {
    await api?.close();
    await lib?.stop();
    await sftp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const name of caseNames(CASES)) {
    it(name, () => assertCasePassed(guest, name));
  }

  it('the export reached the sftp remote in several verified chunks and the local copy was deleted', async () => {
    expect(host).toBeDefined();
    const { exported } = await host!;
    expect(exported.state).toBe('completed');
    expect(exported.deleted).toBe(true);
    expect(exported.chunks.length).toBeGreaterThanOrEqual(3);
    expect(exported.chunks.every((c) => c.state === 'verified' && c.attempts === 1)).toBe(true);
    const names = readdirSync(join(sftpRoot, 'vault', exported.remoteDir)).sort();
    expect(names).toEqual([...exported.chunks.map((c) => c.name), 'E01001L8.manifest.json'].sort());
  });

  it('`vtl import --mailslot --wait` drew its progress bar and completed', async () => {
    const { imported, cliStderr } = await host!;
    expect(imported.state).toBe('completed');
    expect(imported.kind).toBe('import');
    expect(cliStderr).toMatch(/100% .* import E01001L8 {2}completed/);
    expect(lib!.library().inventory!.cartridge('E01001L8')?.location).toEqual({ type: 'slot', index: 0 });
  });
});
