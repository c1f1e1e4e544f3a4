/**
 * Export and import through the Migrator against the built-in directory remote: round trips
 * in every compression/encryption combination with every cartridge file compared, the remote
 * layout, deleteAfterExport and createSpare, the unchanged re-eject, and import failures.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/migrate/manifest.js';
import { cartridgeFiles, makeCartridge, makeTapeCartridge, readBlocks, setup, TempDirs } from './support.js';

const tmp = new TempDirs();
afterEach(() => tmp.cleanup());

const cases = [
  { name: 'plain', compress: false, key: false },
  { name: 'compressed', compress: true, key: false },
  { name: 'encrypted', compress: false, key: true },
  { name: 'compressed and encrypted', compress: true, key: true },
];

describe('directory remote round trips', () => {
  for (const c of cases) {
    it(`${c.name}: import rebuilds every file byte for byte`, async () => {
      const remoteRoot = tmp.make();
      const s = setup(tmp, {
        remote: remoteRoot,
        compress: c.compress,
        ...(c.key ? { encryptionKey: 'key.pem' } : {}),
      });
      await makeCartridge(s.backend, 'A00001L8');
      const before = await cartridgeFiles(s.backend, 'A00001L8');
      const m = s.migrator();
      const exp = await m.wait((await m.exportCartridge('A00001L8')).id);
      expect(exp.state).toBe('completed');
      expect(exp.remoteDir).toMatch(/^A00001L8-\d{8}_\d{6}$/);

      const dir = join(remoteRoot, exp.remoteDir);
      const names = readdirSync(dir).sort();
      expect(names.at(-1)).toBe('A00001L8.manifest.json');
      expect(names.length).toBe(exp.chunks.length + 1);
      expect(names[0]).toBe('A00001L8.img.000001');
      const manifest = parseManifest(readFileSync(join(dir, 'A00001L8.manifest.json'), 'utf8'), dir);
      expect(manifest.encryption?.keyName).toBe(c.key ? 'key.pem' : undefined);
      expect(manifest.compression?.level).toBe(c.compress ? 1 : undefined);
      for (const chunk of manifest.chunks) {
        const raw = readFileSync(join(dir, chunk.name));
        expect(raw.length).toBe(chunk.size);
        expect(raw.length).toBeLessThanOrEqual(100_000);
        expect(raw.subarray(0, 4).toString('latin1')).toBe('VTLX');
      }
      const stored = manifest.chunks.reduce((n, x) => n + x.size, 0);
      if (c.compress) expect(stored).toBeLessThan(manifest.totalBytes * 0.8);

      await s.backend.remove('A00001L8');
      const imp = await m.wait((await m.importCartridge('A00001L8')).id);
      expect(imp.state).toBe('completed');
      const after = await cartridgeFiles(s.backend, 'A00001L8');
      expect([...after.keys()]).toEqual([...before.keys()]);
      for (const [name, bytes] of before) expect(after.get(name)?.equals(bytes), name).toBe(true);
      expect(await s.backend.list()).toEqual(['A00001L8']);
      await m.close();
    });
  }
});

describe('a cartridge written through the TapeImage', () => {
  it('is readable block for block after export and import', async () => {
    const s = setup(tmp, { remote: tmp.make(), encryptionKey: 'key.pem' });
    const blocks = await makeTapeCartridge(s.backend, 'T00001L8');
    const before = await cartridgeFiles(s.backend, 'T00001L8');
    const m = s.migrator();
    const exp = await m.wait((await m.exportCartridge('T00001L8')).id);
    await s.backend.remove('T00001L8');
    expect((await m.wait((await m.importCartridge(exp.id)).id)).state).toBe('completed');
    const after = await cartridgeFiles(s.backend, 'T00001L8');
    for (const [name, bytes] of before) expect(after.get(name)?.equals(bytes), name).toBe(true);
    const back = await readBlocks(s.backend, 'T00001L8');
    expect(back.length).toBe(blocks.length);
    back.forEach((b, i) => expect(b.equals(blocks[i])).toBe(true));
    await m.close();
  });
});

describe('after a verified export', () => {
  it('deleteAfterExport removes the local cartridge and createSpare makes a blank one', async () => {
    const remoteRoot = tmp.make();
    const s = setup(tmp, { remote: remoteRoot, deleteAfterExport: true, createSpare: true });
    await makeCartridge(s.backend, 'A00002L8', 10);
    const exported: unknown[] = [];
    const spares: string[] = [];
    const m = s.migrator({
      hooks: { onExported: (e) => void exported.push(e), placeSpare: (b) => void spares.push(b) },
    });
    const job = await m.wait((await m.exportCartridge('A00002L8')).id);
    expect(job.state).toBe('completed');
    expect(job.deleted).toBe(true);
    expect(job.spare).toBe('SP0001L8');
    expect(await s.backend.list()).toEqual(['SP0001L8']);
    expect(spares).toEqual(['SP0001L8']);
    expect(exported).toEqual([
      { jobId: job.id, barcode: 'A00002L8', remoteDir: job.remoteDir, deleted: true },
    ]);
    await m.close();
  });

  it('a failure after the local delete keeps the verified export: it is the only copy', async () => {
    const remoteRoot = tmp.make();
    const s = setup(tmp, { remote: remoteRoot, deleteAfterExport: true, createSpare: true });
    await makeCartridge(s.backend, 'A00005L8', 10);
    const before = await cartridgeFiles(s.backend, 'A00005L8');
    await makeCartridge(s.backend, 'SP0009L8', 1);
    // the spare's barcode is taken: creating it fails after the cartridge was deleted
    const m = s.migrator({ hooks: { generateSpareBarcode: () => 'SP0009L8' } });
    const job = await m.wait((await m.exportCartridge('A00005L8')).id);
    expect(job.state).toBe('error');
    expect(job.deleted).toBe(true);
    expect(job.lastError).toMatch(/SP0009L8/);
    expect(job.note).toBe(`the verified export in ${job.remoteDir} was kept`);
    expect(readdirSync(join(remoteRoot, job.remoteDir))).toContain('A00005L8.manifest.json');
    const imp = await m.wait((await m.importCartridge(job.id)).id);
    expect(imp.state).toBe('completed');
    const after = await cartridgeFiles(s.backend, 'A00005L8');
    for (const [name, bytes] of before) expect(after.get(name)?.equals(bytes), name).toBe(true);
    await m.close();
  });

  it('an imported cartridge ejected unchanged starts no new export; deleteAfterImport deletes it', async () => {
    const remoteRoot = tmp.make();
    const s = setup(tmp, { remote: remoteRoot, deleteAfterExport: true, deleteAfterImport: true });
    await makeCartridge(s.backend, 'A00003L8', 10);
    const m = s.migrator();
    const first = await m.wait((await m.exportCartridge('A00003L8')).id);
    const imp = await m.wait((await m.importCartridge(first.id, { target: 'mailslot' })).id);
    expect(imp.state).toBe('completed');
    const again = await m.exportCartridge('A00003L8');
    expect(again.state).toBe('completed');
    expect(again.note).toMatch(/unchanged since import job/);
    expect(again.remoteDir).toBe(first.remoteDir);
    expect(again.deleted).toBe(true);
    expect(await s.backend.exists('A00003L8')).toBe(false);
    expect(readdirSync(remoteRoot)).toEqual([first.remoteDir]);
    await m.close();
  });

  it('a job record survives clear() only while unfinished', async () => {
    const s = setup(tmp, { remote: tmp.make() });
    await makeCartridge(s.backend, 'A00004L8', 5);
    const m = s.migrator();
    await m.wait((await m.exportCartridge('A00004L8')).id);
    expect(m.jobs().length).toBe(1);
    expect(await m.clear()).toBe(1);
    expect(m.jobs()).toEqual([]);
    await m.close();
  });
});

describe('import failures leave nothing behind', () => {
  async function exported(opts: { encryptionKey?: string } = {}) {
    const remoteRoot = tmp.make();
    const s = setup(tmp, { remote: remoteRoot, ...opts });
    await makeCartridge(s.backend, 'B00001L8', 30);
    const m = s.migrator();
    const job = await m.wait((await m.exportCartridge('B00001L8')).id);
    await s.backend.remove('B00001L8');
    return { s, m, job, dir: join(remoteRoot, job.remoteDir) };
  }

  it('a wrong key names the key and the first chunk', async () => {
    const { s, m, job } = await exported({ encryptionKey: 'key.pem' });
    const other = setup(tmp, { remote: s.config.remote, encryptionKey: 'other.pem' });
    const m2 = other.migrator();
    const imp = await m2.wait((await m2.importCartridge('B00001L8', { remoteDir: job.remoteDir })).id);
    expect(imp.state).toBe('error');
    expect(imp.lastError).toMatch(
      /wrong key: chunks from B00001L8\.img\.000001 on are encrypted for key key\.pem/,
    );
    expect(await other.backend.list()).toEqual([]);
    await m.close();
    await m2.close();
  });

  it('a missing chunk is named', async () => {
    const { s, m, job, dir } = await exported();
    rmSync(join(dir, 'B00001L8.img.000002'));
    const imp = await m.wait((await m.importCartridge(job.id)).id);
    expect(imp.state).toBe('error');
    expect(imp.lastError).toMatch(/^B00001L8\.img\.000002: /);
    expect(await s.backend.list()).toEqual([]);
    expect(readdirSync(join(s.jobDir, 'cache'))).toEqual([]);
    await m.close();
  });

  it('a corrupt chunk is named', async () => {
    const { s, m, job, dir } = await exported();
    const p = join(dir, 'B00001L8.img.000003');
    const raw = readFileSync(p);
    raw[raw.length >> 1] ^= 0xff;
    writeFileSync(p, raw);
    const imp = await m.wait((await m.importCartridge(job.id)).id);
    expect(imp.state).toBe('error');
    expect(imp.lastError).toMatch(/^B00001L8\.img\.000003: corrupt: /);
    expect(imp.chunks.find((c) => c.name === 'B00001L8.img.000003')?.attempts).toBe(4);
    expect(await s.backend.list()).toEqual([]);
    await m.close();
  });

  it('an export folder without a manifest is an unfinished export', async () => {
    const { m, job, dir } = await exported();
    rmSync(join(dir, 'B00001L8.manifest.json'));
    const imp = await m.wait((await m.importCartridge(job.id)).id);
    expect(imp.lastError).toMatch(/no B00001L8\.manifest\.json \(an unfinished export\)/);
    expect(existsSync(dir)).toBe(true);
    await m.close();
  });

  it('refuses to overwrite a local cartridge unless asked to replace it', async () => {
    const { s, m, job } = await exported();
    await makeCartridge(s.backend, 'B00001L8', 3);
    const imp = await m.wait((await m.importCartridge(job.id)).id);
    expect(imp.lastError).toMatch(/B00001L8 exists locally/);
    const rep = await m.wait((await m.importCartridge(job.id, { replace: true })).id);
    expect(rep.state).toBe('completed');
    expect((await cartridgeFiles(s.backend, 'B00001L8')).get('B00001L8.idx')?.length).toBe(4000);
    await m.close();
  });
});
