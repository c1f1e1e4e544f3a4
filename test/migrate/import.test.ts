/**
 * Import resume and placement. An import interrupted by a stop (Migrator.close, as a server
 * shutdown does) goes on from the last chunk applied to its temporary cartridge: the chunks
 * before it are not downloaded again, bytes past it are cut off first, a short file moves the
 * resume point back, and the rebuilt cartridge is byte-identical; also a restart after
 * placement and a cancel after a restart. Placement renames when the backend can, and copies
 * when it cannot.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importTempLabel } from '../../src/migrate/import-job.js';
import type { JobRecord } from '../../src/migrate/job-store.js';
import { parseManifest } from '../../src/migrate/manifest.js';
import { Migrator } from '../../src/migrate/migrator.js';
import { DirectoryRemote, type TransferOptions } from '../../src/migrate/remote.js';
import type { ImageBackend } from '../../src/vtl/image/types.js';
import { cartridgeFiles, makeCartridge, setup, TempDirs, type Setup } from './support.js';

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

/** The directory remote, recording which chunk objects are downloaded, each after a pause. */
class CountingRemote extends DirectoryRemote {
  readonly fetched: string[] = [];
  constructor(
    root: string,
    private readonly delayMs = 0,
    private readonly onFetch: (n: number) => void = () => undefined,
  ) {
    super(root);
  }

  override async download(
    remotePath: string,
    localPath: string,
    options: TransferOptions = {},
  ): Promise<void> {
    const name = remotePath.split('/').pop() ?? '';
    if (!name.endsWith('.manifest.json')) {
      this.fetched.push(name);
      this.onFetch(this.fetched.length);
    }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return super.download(remotePath, localPath, options);
  }
}

const BARCODE = 'R00001L8';

/** Exports a cartridge (compressed and encrypted) and deletes it locally. */
async function exported(): Promise<{
  s: Setup;
  remoteRoot: string;
  before: Map<string, Buffer>;
  source: JobRecord;
}> {
  const remoteRoot = tmp.make();
  const s = setup(tmp, { remote: remoteRoot, encryptionKey: 'key.pem', maxThreads: 1 });
  await makeCartridge(s.backend, BARCODE, 60);
  const before = await cartridgeFiles(s.backend, BARCODE);
  const m = s.migrator();
  const source = await m.wait((await m.exportCartridge(BARCODE)).id);
  expect(source.state).toBe('completed');
  await m.close();
  await s.backend.remove(BARCODE);
  return { s, remoteRoot, before, source };
}

/** Starts the import and closes the Migrator once the `stopAt`-th chunk download begins. */
async function interrupted(s: Setup, remoteRoot: string, source: JobRecord, stopAt: number) {
  let reached!: () => void;
  const at = new Promise<void>((r) => (reached = r));
  const remote = new CountingRemote(remoteRoot, 30, (n) => n === stopAt && reached());
  const m: Migrator = s.migrator({ remote });
  const job = await m.importCartridge(source.id);
  await at;
  await m.close();
  const stopped = m.job(job.id)!;
  expect(stopped.state).toBe('running');
  const verified = stopped.chunks.filter((c) => c.state === 'verified').map((c) => c.name);
  // maxThreads 1: chunk n+1 is fetched only after chunk n was applied and recorded.
  expect(verified.length).toBeGreaterThanOrEqual(stopAt - 2);
  expect(verified.length).toBeLessThan(stopped.chunks.length);
  expect(stopped.chunks.slice(0, verified.length).every((c) => c.state === 'verified')).toBe(true);
  expect(await s.backend.list()).toEqual([importTempLabel(job.id)]);
  return { id: job.id, stopped, verified };
}

async function expectIdentical(s: Setup, before: Map<string, Buffer>): Promise<void> {
  const after = await cartridgeFiles(s.backend, BARCODE);
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [name, bytes] of before) expect(after.get(name)?.equals(bytes), name).toBe(true);
  expect(await s.backend.list()).toEqual([BARCODE]);
}

describe('import resume after a restart', () => {
  it('downloads only the chunks not yet applied; bytes past the last applied chunk are cut off', async () => {
    const { s, remoteRoot, before, source } = await exported();
    const { id, stopped, verified } = await interrupted(s, remoteRoot, source, 5);
    expect(stopped.chunks.length).toBeGreaterThan(6);

    // What a crash mid-chunk leaves: bytes after the boundary, and a file the manifest lacks.
    const temp = await s.backend.open(importTempLabel(id), { create: false });
    for (const name of await temp.files()) await temp.append(name, Buffer.from('half a chunk'));
    await temp.append('stray', Buffer.from('x'));
    await temp.close();

    const remote = new CountingRemote(remoteRoot);
    const m = s.migrator({ remote });
    const done = await m.wait(id);
    expect(done.lastError).toBeUndefined();
    expect(done.state).toBe('completed');
    expect(remote.fetched).toEqual(done.chunks.slice(verified.length).map((c) => c.name));
    for (const name of verified) expect(done.chunks.find((c) => c.name === name)?.attempts).toBe(1);
    expect(done.bytesDone).toBe(done.bytesTotal);
    await expectIdentical(s, before);
    await m.close();
  });

  it('a file shorter than the record says moves the resume point back to a whole chunk', async () => {
    const { s, remoteRoot, before, source } = await exported();
    const { id, stopped, verified } = await interrupted(s, remoteRoot, source, 6);
    // Cut the temporary cartridge right where the last verified chunk begins.
    const manifest = parseManifest(
      readFileSync(join(remoteRoot, source.remoteDir, `${BARCODE}.manifest.json`), 'utf8'),
      'test',
    );
    const last = stopped.chunks[verified.length - 1];
    const file = manifest.files.find(
      (f) => f.offset <= last.plainOffset && last.plainOffset < f.offset + f.size,
    )!;
    const temp = await s.backend.open(importTempLabel(id), { create: false });
    await temp.truncate(file.name, last.plainOffset - file.offset);
    await temp.close();

    const remote = new CountingRemote(remoteRoot);
    const m = s.migrator({ remote });
    const done = await m.wait(id);
    expect(done.state).toBe('completed');
    expect(remote.fetched).toEqual(done.chunks.slice(verified.length - 1).map((c) => c.name));
    expect(done.chunks[verified.length - 1].attempts).toBe(2);
    await expectIdentical(s, before);
    await m.close();
  });

  it('a restart after the cartridge was placed completes without downloading again', async () => {
    const { s, remoteRoot, before, source } = await exported();
    const m1 = s.migrator();
    const imp = await m1.wait((await m1.importCartridge(source.id)).id);
    expect(imp.state).toBe('completed');
    await m1.close();
    // As if the server stopped between the rename and recording the job complete.
    const path = join(s.jobDir, 'jobs.json');
    const data = JSON.parse(readFileSync(path, 'utf8')) as { jobs: JobRecord[] };
    data.jobs.find((j) => j.id === imp.id)!.state = 'running';
    writeFileSync(path, JSON.stringify(data));

    const remote = new CountingRemote(remoteRoot);
    const m2 = s.migrator({ remote });
    const done = await m2.wait(imp.id);
    expect(done.state).toBe('completed');
    expect(remote.fetched).toEqual([]);
    await expectIdentical(s, before);
    await m2.close();
  });

  it('cancelling the resumed import removes the temporary cartridge', async () => {
    const { s, remoteRoot, source } = await exported();
    const { id } = await interrupted(s, remoteRoot, source, 3);
    const m = s.migrator({ remote: new CountingRemote(remoteRoot, 200) });
    await m.start();
    const done = await m.cancel(id);
    expect(done.state).toBe('cancelled');
    expect(await s.backend.list()).toEqual([]);
    await m.close();
  });
});

describe('placing the rebuilt cartridge', () => {
  /** The test's file backend seen through a wrapper that records renames, or has none. */
  function through(backend: ImageBackend, withRename: boolean, renames: string[][]): ImageBackend {
    const base: ImageBackend = {
      open: (label, options) => backend.open(label, options),
      list: () => backend.list(),
      remove: (label) => backend.remove(label),
      exists: (label) => backend.exists(label),
    };
    if (!withRename) return base;
    return {
      ...base,
      rename: (from, to) => {
        renames.push([from, to]);
        return backend.rename!(from, to);
      },
    };
  }

  for (const withRename of [true, false]) {
    it(
      withRename
        ? 'renames the temporary cartridge to its barcode'
        : 'copies it when the backend cannot rename',
      async () => {
        const { s, before, source } = await exported();
        const renames: string[][] = [];
        const m = new Migrator({
          config: s.config,
          backend: through(s.backend, withRename, renames),
          jobDir: s.jobDir,
        });
        const imp = await m.wait((await m.importCartridge(source.id)).id);
        expect(imp.state).toBe('completed');
        expect(renames).toEqual(withRename ? [[importTempLabel(imp.id), BARCODE]] : []);
        await expectIdentical(s, before);
        await m.close();
      },
    );
  }

  it('refuses to rename onto a cartridge that appeared during the import', async () => {
    const { s, source } = await exported();
    const backend = through(s.backend, true, []);
    const rename = backend.rename!.bind(backend);
    backend.rename = async (from, to) => {
      await makeCartridge(s.backend, to, 1);
      return rename(from, to);
    };
    const m = new Migrator({ config: s.config, backend, jobDir: s.jobDir });
    const imp = await m.wait((await m.importCartridge(source.id)).id);
    expect(imp.state).toBe('error');
    expect(imp.lastError).toBe(`cartridge ${BARCODE} appeared locally during the import`);
    expect(await s.backend.list()).toEqual([BARCODE]);
    expect((await cartridgeFiles(s.backend, BARCODE)).size).toBe(4);
    await m.close();
  });
});
