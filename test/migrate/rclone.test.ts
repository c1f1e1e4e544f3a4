/**
 * The rclone remote with the real Debian rclone 1.60: a local path remote, `rclone serve sftp`
 * (MD5 from the server) and `rclone serve webdav` (no MD5: download fallback), plus wrapper
 * scripts standing in for rclone to inject failures, slowness and a corrupted upload.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RcloneRemote } from '../../src/migrate/rclone.js';
import { md5File } from '../../src/migrate/remote.js';
import {
  cartridgeFiles,
  emptyRcloneConf,
  localRemoteEnv,
  makeCartridge,
  serve,
  setup,
  TempDirs,
  wrapper,
  type Served,
} from './support.js';

const tmp = new TempDirs();
const fixed = new TempDirs();
afterEach(() => tmp.cleanup());

let sftp: Served;
let webdav: Served;
let owncloud: Served;
let sftpRoot: string;
let webdavRoot: string;

beforeAll(async () => {
  sftpRoot = fixed.make();
  webdavRoot = fixed.make();
  sftp = await serve('sftp', sftpRoot, fixed.make(), 'cloud');
  webdav = await serve('webdav', webdavRoot, fixed.make(), 'dav');
  owncloud = await serve('webdav', webdavRoot, fixed.make(), 'own', 'owncloud');
});
afterAll(async () => {
  await Promise.all([sftp.stop(), webdav.stop(), owncloud.stop()]);
  fixed.cleanup();
});

/** Export, delete locally, import; every file compared. */
async function roundTrip(remote: string, env: Record<string, string>, extra: Record<string, unknown> = {}) {
  const conf = tmp.make();
  const s = setup(tmp, { remote, rcloneFlags: emptyRcloneConf(conf), encryptionKey: 'key.pem', ...extra });
  await makeCartridge(s.backend, 'R00001L8', 30);
  const before = await cartridgeFiles(s.backend, 'R00001L8');
  const m = s.migrator({ rcloneEnv: env });
  const exp = await m.wait((await m.exportCartridge('R00001L8')).id);
  expect(exp.lastError).toBeUndefined();
  expect(exp.state).toBe('completed');
  await s.backend.remove('R00001L8');
  const imp = await m.wait((await m.importCartridge('R00001L8')).id);
  expect(imp.state).toBe('completed');
  const after = await cartridgeFiles(s.backend, 'R00001L8');
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [name, bytes] of before) expect(after.get(name)?.equals(bytes), name).toBe(true);
  await m.close();
  return exp;
}

describe('rclone remotes', () => {
  it('local path remote: round trip, QUADStor layout', async () => {
    const root = tmp.make();
    const exp = await roundTrip(`loc:${root}`, localRemoteEnv('loc'));
    const names = readdirSync(join(root, exp.remoteDir));
    expect(names).toContain('R00001L8.img.000001');
    expect(names).toContain('R00001L8.manifest.json');
  });

  it('serve sftp: round trip, MD5 answered by the server', async () => {
    const exp = await roundTrip('cloud:vault', sftp.env);
    expect(existsSync(join(sftpRoot, 'vault', exp.remoteDir, 'R00001L8.manifest.json'))).toBe(true);
    const r = new RcloneRemote({ remote: 'cloud:vault', env: sftp.env, flags: emptyRcloneConf(tmp.make()) });
    const path = `${exp.remoteDir}/R00001L8.img.000001`;
    expect(await r.md5(path)).toEqual({ md5: await md5File(join(sftpRoot, 'vault', path)), via: 'remote' });
  });

  it('serve webdav: no MD5 from the backend, verified by download; an empty hash is never accepted', async () => {
    const exp = await roundTrip('dav:w', webdav.env);
    const path = `${exp.remoteDir}/R00001L8.img.000002`;
    const want = await md5File(join(webdavRoot, 'w', path));
    const flags = emptyRcloneConf(tmp.make());
    expect(await new RcloneRemote({ remote: 'dav:w', env: webdav.env, flags }).md5(path)).toEqual({
      md5: want,
      via: 'download',
    });
    // vendor=owncloud advertises MD5 but rclone serve answers an empty string (migrate.md 0.3).
    expect(await new RcloneRemote({ remote: 'own:w', env: owncloud.env, flags }).md5(path)).toEqual({
      md5: want,
      via: 'download',
    });
  });
});

describe('failures through a wrapper standing in for rclone', () => {
  /** Fails the first `n` copyto uploads with `code`, then runs the real rclone. */
  function failing(dir: string, n: number, code: number): string {
    return wrapper(
      dir,
      'rclone-fail',
      `if [[ " $* " == *" copyto "* ]]; then
  c=$(cat "${dir}/count" 2>/dev/null || echo 0); c=$((c+1)); echo $c > "${dir}/count"
  if [ $c -le ${n} ]; then echo '{"level":"error","msg":"simulated failure '$c'"}' >&2; exit ${code}; fi
fi`,
    );
  }

  async function exportWith(binary: string, extra: Record<string, unknown> = {}) {
    const root = tmp.make();
    const s = setup(tmp, {
      remote: `loc:${root}`,
      rcloneBinary: binary,
      rcloneFlags: emptyRcloneConf(tmp.make()),
      ...extra,
    });
    await makeCartridge(s.backend, 'F00001L8', 20);
    const before = await cartridgeFiles(s.backend, 'F00001L8');
    const m = s.migrator({ rcloneEnv: localRemoteEnv('loc') });
    const job = await m.wait((await m.exportCartridge('F00001L8')).id);
    await m.close();
    return { s, job, root, before };
  }

  it('a listed exit code is retried after the pause and the export completes', async () => {
    const dir = tmp.make();
    const { job } = await exportWith(failing(dir, 2, 5), { maxThreads: 1, retryCount: 3 });
    expect(job.state).toBe('completed');
    expect(job.chunks[0].attempts).toBe(3);
    expect(job.chunks[0].lastError).toBeUndefined();
    expect(job.chunks.slice(1).every((c) => c.attempts === 1)).toBe(true);
  });

  it('an unlisted exit code fails the job with rclone message; remote cleaned, cartridge kept', async () => {
    const dir = tmp.make();
    const { s, job, root, before } = await exportWith(failing(dir, 1, 7), {
      maxThreads: 1,
      deleteAfterExport: true,
    });
    expect(job.state).toBe('error');
    expect(job.lastError).toBe(
      'F00001L8.img.000001: rclone copyto ' +
        job.remoteDir +
        '/F00001L8.img.000001 failed (exit 7): simulated failure 1',
    );
    expect(job.chunks[0].attempts).toBe(1);
    expect(readdirSync(root)).toEqual([]);
    const now = await cartridgeFiles(s.backend, 'F00001L8');
    for (const [name, bytes] of before) expect(now.get(name)?.equals(bytes)).toBe(true);
  });

  it('retries stop after retryCount', async () => {
    const dir = tmp.make();
    const { job } = await exportWith(failing(dir, 10, 5), { maxThreads: 1, retryCount: 2 });
    expect(job.state).toBe('error');
    expect(job.chunks[0].attempts).toBe(3);
    expect(job.lastError).toMatch(/exit 5\): simulated failure 3$/);
  });

  it('an MD5 mismatch after upload is a failed attempt; the re-upload is verified', async () => {
    const dir = tmp.make();
    // After the first successful copyto, flip a byte of the stored object.
    const bin = wrapper(
      dir,
      'rclone-corrupt',
      `if [[ " $* " == *" copyto "* ]] && [ ! -e "${dir}/done" ]; then
  rclone "$@" || exit $?
  touch "${dir}/done"
  dst="\${@: -1}"; dst="\${dst#loc:}"
  printf 'X' | dd of="$dst" bs=1 seek=100 conv=notrunc status=none
  exit 0
fi`,
    );
    const { job } = await exportWith(bin, { maxThreads: 1 });
    expect(job.state).toBe('completed');
    expect(job.chunks[0].attempts).toBe(2);
    const dirPath = job.remoteDir;
    expect(dirPath).not.toBe('');
  });
});

describe('cancel and restart', () => {
  /** Each copyto sleeps first, so a job is reliably caught mid-way. */
  function slow(dir: string): string {
    return wrapper(
      dir,
      'rclone-slow',
      `if [[ " $* " == *" copyto "* ]]; then echo $$ >> "${dir}/pids"; echo x >> "${dir}/copies"; sleep 0.25; fi`,
    );
  }

  it('cancel stops rclone, removes remote objects and cache files, keeps the cartridge', async () => {
    const dir = tmp.make();
    const root = tmp.make();
    const s = setup(tmp, {
      remote: `loc:${root}`,
      rcloneBinary: slow(dir),
      rcloneFlags: emptyRcloneConf(dir),
    });
    await makeCartridge(s.backend, 'C00001L8', 40);
    const before = await cartridgeFiles(s.backend, 'C00001L8');
    const m = s.migrator({ rcloneEnv: localRemoteEnv('loc') });
    const job = await m.exportCartridge('C00001L8');
    await new Promise<void>((resolve) => {
      m.on('progress', (j) => {
        if (j.chunks.some((c) => c.state === 'verified')) resolve();
      });
    });
    const done = await m.cancel(job.id);
    expect(done.state).toBe('cancelled');
    expect(readdirSync(root)).toEqual([]);
    expect(readdirSync(join(s.jobDir, 'cache'))).toEqual([]);
    for (const pid of readFileSync(join(dir, 'pids'), 'utf8').trim().split('\n').map(Number)) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
    const now = await cartridgeFiles(s.backend, 'C00001L8');
    for (const [name, bytes] of before) expect(now.get(name)?.equals(bytes)).toBe(true);
    await m.close();
  });

  it('a restart resumes from the last verified chunk', async () => {
    const dir = tmp.make();
    const root = tmp.make();
    const s = setup(tmp, {
      remote: `loc:${root}`,
      rcloneBinary: slow(dir),
      rcloneFlags: emptyRcloneConf(dir),
      maxThreads: 1,
    });
    await makeCartridge(s.backend, 'D00001L8', 24);
    const before = await cartridgeFiles(s.backend, 'D00001L8');
    const m1 = s.migrator({ rcloneEnv: localRemoteEnv('loc') });
    const job = await m1.exportCartridge('D00001L8');
    await new Promise<void>((resolve) => {
      m1.on('progress', (j) => {
        if (j.chunks.filter((c) => c.state === 'verified').length >= 2) resolve();
      });
    });
    await m1.close();
    const stopped = m1.job(job.id);
    expect(stopped?.state).toBe('running');
    const verified = stopped?.chunks.filter((c) => c.state === 'verified').map((c) => c.name) ?? [];
    expect(verified.length).toBeGreaterThanOrEqual(2);
    expect(verified.length).toBeLessThan(stopped?.chunks.length ?? 0);
    writeFileSync(join(dir, 'copies'), '');

    const m2 = s.migrator({ rcloneEnv: localRemoteEnv('loc') });
    const done = await m2.wait(job.id);
    expect(done.state).toBe('completed');
    expect(done.remoteDir).toBe(stopped?.remoteDir);
    // Only the chunks not verified before the restart, plus the manifest, were uploaded again.
    const copies = readFileSync(join(dir, 'copies'), 'utf8').trim().split('\n').length;
    expect(copies).toBe(done.chunks.length - verified.length + 1);
    for (const name of verified) expect(done.chunks.find((c) => c.name === name)?.attempts).toBe(1);

    await s.backend.remove('D00001L8');
    const imp = await m2.wait((await m2.importCartridge(job.id)).id);
    expect(imp.state).toBe('completed');
    const after = await cartridgeFiles(s.backend, 'D00001L8');
    for (const [name, bytes] of before) expect(after.get(name)?.equals(bytes)).toBe(true);
    await m2.close();
  });
});
