/**
 * Export throughput of a multi-GiB cartridge to a local rclone remote, against a plain
 * `rclone copy` of the same bytes in the same run, with the peak RSS of this process (the
 * server side of an export). Not a test: `npx tsx bench/export-bench.ts` or import
 * `runExportBench` from bench/run.ts.
 *
 * Environment: EXPORT_BENCH_MIB  cartridge size in MiB (2048)
 *              EXPORT_BENCH_DIR  where to put the temp dir (os.tmpdir())
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseMigrationConfig } from '../src/migrate/config.js';
import { Migrator } from '../src/migrate/migrator.js';
import { createCartridge, createFileBackend } from '../src/vtl/image/index.js';

export interface ExportBenchRow {
  name: string;
  'MB/s': number;
  /** Stored bytes / cartridge bytes (1.0 for the plain copy). */
  ratio: number;
  /** Peak resident set of this process (VmHWM) in MiB after the run. */
  'peak RSS': number;
}

const MiB = 1024 * 1024;

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? Math.round(process.memoryUsage().rss / MiB) : Math.round(Number(m[1]) / 1024);
}

/** Backup-like content: three parts text-like (compressible), one part random. */
function fillChunk(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  const text = Buffer.from(
    'backup data: /usr/lib/x86_64-linux-gnu/libexample.so.1 0644 root root 2026-01-01\n',
  );
  for (let o = 0; o < size; o += text.length) text.copy(b, o);
  for (let o = 0; o < size; o += 4 * 65536) randomBytes(65536).copy(b, o);
  return b;
}

function dirBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir]).toString().split(/\s+/)[0]);
}

export async function runExportBench(
  sizeMiB = Number(process.env.EXPORT_BENCH_MIB ?? 2048),
): Promise<ExportBenchRow[]> {
  const root = mkdtempSync(join(process.env.EXPORT_BENCH_DIR ?? tmpdir(), 'vtl-export-bench-'));
  try {
    const tapes = join(root, 'tapes');
    const backend = createFileBackend(tapes);
    const label = 'BENCH1L8';
    await createCartridge(backend, { label, mediaType: 'LTO8', chunkSize: 256 * MiB });
    const store = await backend.open(label, { create: false });
    const piece = fillChunk(64 * MiB);
    for (let done = 0, i = 0; done < sizeMiB * MiB; done += piece.length, i++) {
      await store.append(`${label}.img.${String(Math.floor(i / 4) + 1).padStart(6, '0')}`, piece);
    }
    await store.sync();
    await store.close();
    const total = dirBytes(join(tapes, label));
    const conf = join(root, 'empty.conf');
    writeFileSync(conf, '');
    const env = { ...process.env, RCLONE_CONFIG_BENCH_TYPE: 'local' };
    const rows: ExportBenchRow[] = [];

    // Baseline: rclone copy of the cartridge directory, same bytes, same disk.
    let t = process.hrtime.bigint();
    const r = spawnSync(
      'rclone',
      ['--config', conf, 'copy', join(tapes, label), `bench:${join(root, 'copy')}`],
      { env },
    );
    if (r.status !== 0) throw new Error(`rclone copy failed: ${r.stderr.toString()}`);
    let sec = Number(process.hrtime.bigint() - t) / 1e9;
    rows.push({
      name: 'rclone copy (baseline)',
      'MB/s': Math.round(total / 1e6 / sec),
      ratio: 1,
      'peak RSS': 0,
    });
    rmSync(join(root, 'copy'), { recursive: true, force: true });

    for (const [name, compress] of [
      ['export zstd-1 (default)', true],
      ['export uncompressed', false],
    ] as const) {
      const remote = join(root, `remote-${compress ? 'z' : 'p'}`);
      const config = parseMigrationConfig({
        remote: `bench:${remote}`,
        rcloneFlags: ['--config', conf],
        chunkSize: '512m',
        compress,
      });
      const m = new Migrator({
        config,
        backend,
        jobDir: join(root, `jobs-${compress ? 'z' : 'p'}`),
        rcloneEnv: { RCLONE_CONFIG_BENCH_TYPE: 'local' },
      });
      t = process.hrtime.bigint();
      const job = await m.wait((await m.exportCartridge(label)).id);
      sec = Number(process.hrtime.bigint() - t) / 1e9;
      await m.close();
      if (job.state !== 'completed') throw new Error(`${name}: ${job.lastError}`);
      rows.push({
        name,
        'MB/s': Math.round(total / 1e6 / sec),
        ratio: Math.round((dirBytes(remote) / total) * 100) / 100,
        'peak RSS': peakRssMiB(),
      });
      rmSync(remote, { recursive: true, force: true });
    }
    return rows;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await runExportBench());
}
