/**
 * Cloud migration wired into the library (issue 4), over real sockets: an initiator moves a
 * cartridge into a mailslot with MOVE MEDIUM, the library vaults it (06/28/01 for the
 * initiator) and exports it; deleteAfterExport and createSpare change the inventory; `vtl
 * import` brings it back into a mailslot and the drive reads the bytes written before the
 * export. A second library exports to an rclone local path remote: a server restart
 * mid-export resumes from the last verified chunk, `vtl jobs cancel` stops an export, and a
 * restart mid-import goes on from the last chunk applied to the temporary cartridge.
 */
import { runVtl as vtl } from '../support/vtl-cli.js';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startManagementApi, type ManagementApi } from '../../src/cli/api/server.js';
import type { JobListView, JobResultView } from '../../src/cli/api/types.js';
import { decodeSense } from '../../src/target/scsi/sense.js';
import type { LibraryConfigInput } from '../../src/vtl/config.js';
import { openTapeImage } from '../../src/vtl/image/index.js';
import { VirtualLibrary } from '../../src/vtl/library.js';
import { Initiator } from '../support/initiator.js';
import { blockFor, emptyRcloneConf, localRemoteEnv, readBlocks } from '../migrate/support.js';

const PREFIX = 'iqn.2026-11.org.iscsi-vtl';

function cdb(...bytes: number[]): Buffer {
  const b = Buffer.alloc(Math.max(6, bytes.length));
  bytes.forEach((v, i) => (b[i] = v));
  return b;
}
const write6 = (n: number): Buffer => cdb(0x0a, 0x00, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0);
const read6 = (n: number): Buffer => cdb(0x08, 0x00, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0);
const TUR = cdb(0x00);

/** MOVE MEDIUM (SMC-3 6.6), transport 1. */
function move(from: number, to: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0xa5;
  b.writeUInt16BE(1, 2);
  b.writeUInt16BE(from, 4);
  b.writeUInt16BE(to, 6);
  return b;
}
const SLOT = (n: number): number => 0x400 + n - 1;
const MAILSLOT = (n: number): number => 0x300 + n - 1;
const DRIVE = 0x100;

/** TEST UNIT READY until GOOD, returning the sense names seen on the way. */
async function settle(s: Initiator, lun: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await s.command(lun, TUR);
    if (r.status === 0) return seen;
    seen.push(decodeSense(r.sense!).name ?? 'unknown');
  }
  throw new Error(`LUN ${lun} never became ready: ${seen.join(', ')}`);
}

async function until<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes `count` blocks (8-32 KiB each) to a cartridge that is in no drive; returns them. */
async function fill(lib: VirtualLibrary, name: string, label: string, count: number): Promise<Buffer[]> {
  const image = await openTapeImage(lib.library(name).backend, label);
  const blocks = Array.from({ length: count }, (_, i) => blockFor(i + count));
  try {
    for (const b of blocks) await image.writeBlock(b);
    await image.writeFilemarks(1);
  } finally {
    await image.close();
  }
  return blocks;
}

/** Same blocks, same bytes (toEqual walks Buffers byte by byte: seconds for a few MiB). */
function same(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((x, i) => x.equals(b[i]));
}

/**
 * Blocks of 64 KiB..256 KiB, about 3 MiB, half of it random so that the drive's compression
 * (on by default, as on LTO) still leaves several 128 KiB export chunks.
 */
const BLOCKS = Array.from({ length: 16 }, (_, i) => Buffer.concat([blockFor(i), randomBytes(128 * 1024)]));

describe('cloud migration in a running library', () => {
  let dir: string;
  let remoteDir: string;
  let rcloneDir: string;
  let hookLog: string;
  let cfg: LibraryConfigInput;
  const env = localRemoteEnv('loc');
  let lib: VirtualLibrary;
  let api: ManagementApi;
  let at: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtl-migrate-'));
    remoteDir = join(dir, 'cloud');
    rcloneDir = join(dir, 'rclone-cloud');
    hookLog = join(dir, 'vaulted.log');
    const hook = join(dir, 'post-vault.sh');
    writeFileSync(hook, `#!/bin/sh\necho "$1" >> ${hookLog}\n`);
    await chmod(hook, 0o755);
    cfg = {
      dataDir: dir,
      portals: ['127.0.0.1:0'],
      libraries: [
        {
          name: 'dir',
          drives: [{}],
          changer: { slots: 4, mailslots: 2, cartridges: ['E01001L8..E01002L8'] },
          migration: {
            remote: remoteDir,
            chunkSize: 256 * 1024,
            deleteAfterExport: true,
            createSpare: true,
            postVaultCmd: [hook],
            retryPause: 0,
          },
        },
        {
          name: 'rc',
          drives: [{}],
          changer: { slots: 4, mailslots: 1, cartridges: ['R00001L8..R00002L8'] },
          migration: {
            remote: `loc:${rcloneDir}`,
            rcloneFlags: emptyRcloneConf(dir),
            chunkSize: 128 * 1024,
            compress: false,
            maxThreads: 1,
            retryPause: 0,
          },
        },
        { name: 'plain', drives: [{}], changer: { slots: 2, mailslots: 1 } },
      ],
    };
    lib = await VirtualLibrary.start(cfg, { rcloneEnv: env });
    api = await startManagementApi(lib, { port: 0 });
    at = ['--api', api.url];
  });
  afterAll(async () => {
    await api?.close();
    await lib?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('MOVE MEDIUM into a mailslot vaults the cartridge (28/01) and exports it; deleteAfterExport and createSpare follow', async () => {
    const d = lib.library('dir');
    const m = d.migration!.migrator;
    let vaultedWhenQueued: string | undefined;
    m.on('job', (j) => {
      if (j.barcode === 'E01001L8' && j.state === 'queued')
        vaultedWhenQueued = d.inventory!.cartridge('E01001L8')?.location.type;
    });
    const s = await Initiator.connect({
      host: '127.0.0.1',
      port: lib.portals[0].port,
      targetName: `${PREFIX}:dir`,
      initiatorName: 'iqn.2026-11.test:migrate',
    });
    try {
      await settle(s, 0);
      expect((await s.command(0, move(SLOT(1), DRIVE))).status).toBe(0);
      await settle(s, 1);
      for (const b of BLOCKS) expect((await s.command(1, write6(b.length), { dataOut: b })).status).toBe(0);
      expect((await s.command(1, cdb(0x10, 0, 0, 0, 1, 0))).status).toBe(0); // WRITE FILEMARKS 1
      expect((await s.command(0, move(DRIVE, SLOT(1)))).status).toBe(0);
      expect((await s.command(0, move(SLOT(1), MAILSLOT(1)))).status).toBe(0);
      const job = await until('the export job', () =>
        m.jobs().find((j) => j.barcode === 'E01001L8' && j.kind === 'export'),
      );
      // SMC-3 6.1: the cartridge left through the import/export element as an operator takes it.
      expect(await settle(s, 0)).toContain('IMPORT_OR_EXPORT_ELEMENT_ACCESSED');
      expect(d.inventory!.occupantOf({ type: 'mailslot', index: 0 })).toBeNull();
      const done = await m.wait(job.id);
      expect(done.lastError).toBeUndefined();
      expect(done.state).toBe('completed');
      expect(vaultedWhenQueued).toBe('vault');
      expect(readFileSync(hookLog, 'utf8')).toBe('E01001L8\n');
      expect(done.remoteDir).toMatch(/^E01001L8-\d{8}_\d{6}$/);
      const names = readdirSync(join(remoteDir, done.remoteDir)).sort();
      expect(names).toContain('E01001L8.manifest.json');
      expect(names.filter((n) => /^E01001L8\.img\.\d{6}$/.test(n)).length).toBeGreaterThan(3);
      // deleteAfterExport: gone from the inventory and the backend, after verification
      expect(done.deleted).toBe(true);
      expect(d.inventory!.cartridge('E01001L8')).toBeUndefined();
      expect(await d.backend.exists('E01001L8')).toBe(false);
      // createSpare: a new blank cartridge in the free slot it left
      expect(done.spare).toBe('SP0001L8');
      expect(d.inventory!.cartridge('SP0001L8')?.location).toEqual({ type: 'slot', index: 0 });
      expect((await readBlocks(d.backend, 'SP0001L8')).length).toBe(0);
    } finally {
      await s.logout();
    }
  });

  it('`vtl import --mailslot --wait` brings it back; the drive reads the bytes written before the export', async () => {
    const r = await vtl(['import', 'E01001L8', '--mailslot', '--wait', '--library', 'dir', ...at]);
    expect(r.stderr).toMatch(/\[#{30}\] 100% .* import E01001L8 {2}completed/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^job \d+: import E01001L8 completed/);
    const d = lib.library('dir');
    expect(d.inventory!.cartridge('E01001L8')).toMatchObject({
      location: { type: 'mailslot', index: 0 },
      imported: true,
    });
    const s = await Initiator.connect({
      host: '127.0.0.1',
      port: lib.portals[0].port,
      targetName: `${PREFIX}:dir`,
      initiatorName: 'iqn.2026-11.test:migrate-back',
    });
    try {
      await settle(s, 0);
      expect((await s.command(0, move(MAILSLOT(1), DRIVE))).status).toBe(0);
      await settle(s, 1);
      for (const b of BLOCKS) {
        const got = await s.command(1, read6(b.length), { expectedLength: b.length });
        expect(got.status).toBe(0);
        expect(got.data.equals(b)).toBe(true);
      }
      const fm = await s.command(1, read6(1024), { expectedLength: 1024 });
      expect(decodeSense(fm.sense!).name).toBe('FILEMARK_DETECTED');
      expect((await s.command(0, move(DRIVE, SLOT(3)))).status).toBe(0);
    } finally {
      await s.logout();
    }
  });

  it('`vtl jobs` lists short and long forms, --json the records; a library without migration answers 409', async () => {
    // QUADStor: a cartridge ejected unchanged after an import starts no new transfer.
    const again = await vtl(['export', 'E01001L8', '--library', 'dir', ...at]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^job 3: export of E01001L8 completed\nnote: unchanged since import job 2; export E01001L8-\d{8}_\d{6} is still valid\n$/,
    );
    const [short, long, json, none] = await Promise.all([
      vtl(['jobs', '--library', 'dir', ...at]),
      vtl(['jobs', '-L', '--library', 'dir', ...at]),
      vtl(['jobs', '--json', '--library', 'dir', ...at]),
      vtl(['jobs', '--library', 'plain', ...at]),
    ]);
    expect(short.code).toBe(0);
    const lines = short.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ {2}ID {2}KIND {4}BARCODE {7}STATE {6}DONE {2}RATE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 5))).toEqual([
      ['1', 'export', 'E01001L8', 'completed'],
      ['2', 'import', 'E01001L8', 'completed'],
      ['3', 'export', 'E01001L8', 'completed'],
    ]);
    expect(long.stdout).toContain('local cartridge deleted after verification');
    expect(long.stdout).toContain('spare created: SP0001L8');
    expect(long.stdout).toMatch(/chunks: {3}(\d+)\/\1 verified/);
    const view = JSON.parse(json.stdout) as JobListView;
    expect(view.jobs.map((j) => [j.kind, j.state])).toEqual([
      ['export', 'completed'],
      ['import', 'completed'],
      ['export', 'completed'],
    ]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'vtl: library "plain" has no cloud migration configured (no "migration" section in its config)\n',
    );
  });

  it('a server restart mid-export resumes from the last verified chunk (rclone local path remote)', async () => {
    const written = await fill(lib, 'rc', 'R00001L8', 60);
    const rc = lib.library('rc');
    const m = rc.migration!.migrator;
    let verifiedAtStop: string[] = [];
    const stopped = new Promise<string>((resolveStop) => {
      m.on('progress', (j) => {
        const v = j.chunks.filter((c) => c.state === 'verified');
        if (j.barcode === 'R00001L8' && v.length >= 2 && verifiedAtStop.length === 0) {
          verifiedAtStop = v.map((c) => c.name);
          resolveStop(j.id);
        }
      });
    });
    await rc.inventory!.move({ type: 'slot', index: 0 }, { type: 'mailslot', index: 0 });
    const id = await stopped;
    await lib.stop();
    await api.close();
    expect(m.job(id)?.state).toBe('running');

    lib = await VirtualLibrary.start(cfg, { rcloneEnv: env });
    api = await startManagementApi(lib, { port: 0 });
    at = ['--api', api.url];
    const m2 = lib.library('rc').migration!.migrator;
    const done = await m2.wait(id);
    expect(done.lastError).toBeUndefined();
    expect(done.state).toBe('completed');
    expect(done.chunks.length).toBeGreaterThan(verifiedAtStop.length + 2);
    // chunks verified before the stop were not sent again
    for (const c of done.chunks.filter((x) => verifiedAtStop.includes(x.name))) expect(c.attempts).toBe(1);
    const names = readdirSync(join(rcloneDir, done.remoteDir));
    expect(names).toContain('R00001L8.manifest.json');
    expect(names.filter((n) => n.startsWith('R00001L8.img.')).length).toBe(done.chunks.length);
    expect(lib.library('rc').inventory!.cartridge('R00001L8')?.location).toEqual({ type: 'vault' });

    // the import (replacing the local copy) gives back the same blocks
    const imp = await m2.wait((await m2.importCartridge(id, { replace: true })).id);
    expect(imp.state).toBe('completed');
    expect(same(await readBlocks(lib.library('rc').backend, 'R00001L8'), written)).toBe(true);
    expect(lib.library('rc').inventory!.cartridge('R00001L8')?.location).toEqual({ type: 'vault' });
  });

  it('`vtl jobs cancel` stops a running export: remote folder removed, cartridge intact in its slot', async () => {
    const written = await fill(lib, 'rc', 'R00002L8', 300);
    const started = await vtl(['export', 'R00002L8', '--json', '--library', 'rc', ...at]);
    expect(started.code).toBe(0);
    const { job } = JSON.parse(started.stdout) as JobResultView;
    const m = lib.library('rc').migration!.migrator;
    await until('a verified chunk', () =>
      m.job(job.id)?.chunks.some((c) => c.state === 'verified') ? true : undefined,
    );
    expect(existsSync(join(rcloneDir, m.job(job.id)!.remoteDir))).toBe(true);
    const r = await vtl(['jobs', 'cancel', job.id, '--library', 'rc', ...at]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(`job ${job.id}: export of R00002L8 cancelled\n`);
    const rec = m.job(job.id)!;
    expect(rec.chunks.length).toBeGreaterThan(0);
    expect(existsSync(join(rcloneDir, rec.remoteDir))).toBe(false);
    expect(lib.library('rc').inventory!.cartridge('R00002L8')?.location).toEqual({ type: 'slot', index: 1 });
    expect(same(await readBlocks(lib.library('rc').backend, 'R00002L8'), written)).toBe(true);
    const again = await vtl(['jobs', 'cancel', job.id, '--library', 'rc', ...at]);
    expect([again.code, again.stderr]).toEqual([1, `vtl: job ${job.id} is cancelled\n`]);
    const cleared = await vtl(['jobs', 'clear', '--library', 'rc', ...at]);
    expect(cleared.stdout).toBe('cleared 3 finished jobs\n');
  });

  it('a server restart mid-import resumes from the last applied chunk; the drive reads the same blocks', async () => {
    const rc = lib.library('rc');
    const m = rc.migration!.migrator;
    const written = await readBlocks(rc.backend, 'R00001L8');
    let appliedAtStop: string[] = [];
    const stopped = new Promise<void>((resolveStop) => {
      m.on('progress', (j) => {
        const v = j.chunks.filter((c) => c.state === 'verified');
        if (j.kind === 'import' && v.length >= 2 && appliedAtStop.length === 0) {
          appliedAtStop = v.map((c) => c.name);
          resolveStop();
        }
      });
    });
    // the records were cleared: the newest export folder on the remote is found by listing
    const job = await m.importCartridge('R00001L8', { replace: true });
    await stopped;
    await lib.stop();
    await api.close();
    const atStop = m.job(job.id)!;
    expect(atStop.state).toBe('running');
    expect(await rc.backend.list()).toContain(`_IMPORT-${job.id}`);

    lib = await VirtualLibrary.start(cfg, { rcloneEnv: env });
    api = await startManagementApi(lib, { port: 0 });
    at = ['--api', api.url];
    const rc2 = lib.library('rc');
    const done = await rc2.migration!.migrator.wait(job.id);
    expect(done.lastError).toBeUndefined();
    expect(done.state).toBe('completed');
    expect(done.chunks.length).toBeGreaterThan(appliedAtStop.length + 2);
    // after the restart: chunks applied before the stop not downloaded again, the others once
    const applied = atStop.chunks.filter((c) => c.state === 'verified').map((c) => c.name);
    expect(applied.length).toBeGreaterThanOrEqual(appliedAtStop.length);
    const again = done.chunks.map((c, i) => c.attempts - atStop.chunks[i].attempts);
    expect(again).toEqual(done.chunks.map((c) => (applied.includes(c.name) ? 0 : 1)));
    expect(await rc2.backend.list()).not.toContain(`_IMPORT-${job.id}`);
    expect(rc2.inventory!.cartridge('R00001L8')?.location).toEqual({ type: 'vault' });
    expect(same(await readBlocks(rc2.backend, 'R00001L8'), written)).toBe(true);
  });
});

describe('the migration section of a library config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtl-migrate-cfg-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads QUADStor's rclone.conf (quadstorConf), JSON keys beside it filling in the rest", async () => {
    const conf = join(dir, 'rclone.conf');
    writeFileSync(
      conf,
      [
        '# QUADStor /quadstorvtl/etc/rclone.conf',
        `remotename=${join(dir, 'cloud')}`,
        'rcloneflags="--config /dev/null --transfers 2"',
        'chunksize=1024m',
        'compressdata=0',
        'deleteexport=1',
        'createspare=1',
        `cachedir=${join(dir, 'cache')}`,
        'skipmd5check=1',
      ].join('\n'),
    );
    const lib = await VirtualLibrary.start({
      dataDir: join(dir, 'data'),
      portals: ['127.0.0.1:0'],
      drives: [{}],
      changer: { slots: 2, mailslots: 1 },
      migration: { quadstorConf: conf, maxThreads: 3, retryCount: 5 },
    });
    try {
      const m = lib.library().migration!;
      expect(m.config).toMatchObject({
        remote: join(dir, 'cloud'),
        rcloneFlags: ['--config', '/dev/null', '--transfers', '2'],
        chunkSize: 1024 * 1024 * 1024,
        compress: false,
        deleteAfterExport: true,
        createSpare: true,
        cacheDir: join(dir, 'cache'),
        skipMd5Check: true,
        maxThreads: 3,
        retryCount: 5,
      });
      // job records under the library's dataDir by default
      expect(existsSync(join(dir, 'data', 'migrate', 'jobs.json'))).toBe(true);
    } finally {
      await lib.stop();
    }
  });

  it('errors name the key, the file and the line', async () => {
    const base = { dataDir: join(dir, 'bad'), portals: ['127.0.0.1:0'], drives: [{}] };
    const changer = { slots: 2, mailslots: 1 };
    await expect(
      VirtualLibrary.start({
        ...base,
        changer,
        migration: { remote: '/x', chunkSize: '1k', maxJob: 2 },
      } as never),
    ).rejects.toThrow(
      'invalid configuration\n' +
        '  migration.chunkSize: expected a size such as "10240m" or "10g", got "1k"\n' +
        '  migration: unknown key "maxJob"',
    );
    await expect(VirtualLibrary.start({ ...base, migration: { remote: '/x' } })).rejects.toThrow(
      'migration: needs a "changer"',
    );
    await expect(
      VirtualLibrary.start({ ...base, changer, migration: { quadstorConf: join(dir, 'missing.conf') } }),
    ).rejects.toThrow(
      `library "default": migration.quadstorConf: cannot read ${join(dir, 'missing.conf')} (ENOENT)`,
    );
    const conf = join(dir, 'typo.conf');
    writeFileSync(conf, 'remotename=gdrive:\ncompressdata=yes\n');
    await expect(
      VirtualLibrary.start({ ...base, changer, migration: { quadstorConf: conf } }),
    ).rejects.toThrow(`${conf}:2: compressdata: expected 0 or 1, got "yes"`);
    await expect(
      VirtualLibrary.start({ ...base, changer, migration: { remote: 'relative/dir' } }),
    ).rejects.toThrow('migration.remote: "relative/dir" is neither an rclone remote');
  });
});
