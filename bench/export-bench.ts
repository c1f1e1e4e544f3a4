/**
 * Export throughput (issue 4, "Shown by"): a multi-GiB cartridge exported to a local rclone
 * remote, against a plain `rclone copy` of the same bytes in the same run, and the peak memory
 * of the process running the export.
 *
 * Each export runs in a child process (this file with `--child`): the Migrator over a file
 * backend and nothing else, no server, so its VmHWM (peak resident set, /proc/self/status at
 * the end) is the export's own footprint plus the Node/tsx runtime, whose share is the RSS
 * before the export starts. rclone runs as child processes of it in both cases (their memory
 * is their own). All three runs read the same cartridge, written once just before; the remote
 * is on the same disk, emptied between runs.
 *
 * `npm run bench` runs it after the iSCSI table (BENCH_EXPORT_MB, BENCH_ONLY=export);
 * standalone: `npx tsx bench/export-bench.ts [MiB]`.
 *   BENCH_EXPORT_CHUNK  export chunk size (512m)   BENCH_EXPORT_DIR  parent of the temp dir
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createCartridge, createFileBackend } from '../src/vtl/image/index.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');
const MiB = 1024 * 1024;
const LABEL = 'BENCH1L8';
const RCLONE_ENV = { RCLONE_CONFIG_BENCH_TYPE: 'local' };

export interface ExportBenchRow {
  name: string;
  seconds: number;
  /** Cartridge bytes per second, in MB/s (10^6). */
  mbps: number;
  /** Bytes stored on the remote / cartridge bytes. */
  stored: number;
  /** The exporting process: RSS before the export started and VmHWM after it, MiB. */
  startRssMiB?: number;
  peakRssMiB?: number;
}

export interface ExportBenchResult {
  sizeMiB: number;
  bytes: number;
  chunkSize: string;
  rows: ExportBenchRow[];
}

/** What the child is asked to do (JSON in argv). */
interface ChildJob {
  tapes: string;
  remote: string;
  jobDir: string;
  conf: string;
  compress: boolean;
  chunkSize: string;
}

interface ChildResult {
  state: string;
  lastError?: string;
  seconds: number;
  startRssKiB: number;
  peakKiB: number;
}

function status(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? Math.round(process.memoryUsage().rss / 1024) : Number(m[1]);
}

/** Backup-like content: three parts repeated text (compressible), one part random. */
function fillPiece(size: number): Buffer {
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

/** The child: one export through the Migrator, timed from queueing to completion. */
async function child(job: ChildJob): Promise<void> {
  const { parseMigrationConfig } = await import('../src/migrate/config.js');
  const { Migrator } = await import('../src/migrate/migrator.js');
  const m = new Migrator({
    config: parseMigrationConfig({
      remote: `bench:${job.remote}`,
      rcloneFlags: ['--config', job.conf],
      chunkSize: job.chunkSize,
      compress: job.compress,
    }),
    backend: createFileBackend(job.tapes),
    jobDir: job.jobDir,
    rcloneEnv: RCLONE_ENV,
  });
  await m.start();
  const startRssKiB = status('VmRSS');
  const t = process.hrtime.bigint();
  const done = await m.wait((await m.exportCartridge(LABEL)).id);
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  await m.close();
  const out: ChildResult = {
    state: done.state,
    seconds,
    startRssKiB,
    peakKiB: status('VmHWM'),
    ...(done.lastError === undefined ? {} : { lastError: done.lastError }),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function runChild(job: ChildJob): Promise<ChildResult> {
  return new Promise((ok, fail) => {
    const c = spawn(process.execPath, ['--import', 'tsx', SELF, '--child', JSON.stringify(job)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
    c.on('error', fail);
    c.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        fail(new Error(`export child exited ${code}: ${err.trim() || out.trim()}`));
        return;
      }
      ok(JSON.parse(line) as ChildResult);
    });
  });
}

export async function runExportBench(
  sizeMiB: number,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<ExportBenchResult> {
  const chunkSize = process.env.BENCH_EXPORT_CHUNK ?? '512m';
  const root = mkdtempSync(join(process.env.BENCH_EXPORT_DIR ?? tmpdir(), 'vtl-export-bench-'));
  try {
    const tapes = join(root, 'tapes');
    const backend = createFileBackend(tapes);
    await createCartridge(backend, { label: LABEL, mediaType: 'LTO8', chunkSize: 256 * MiB });
    const store = await backend.open(LABEL, { create: false });
    const piece = fillPiece(64 * MiB);
    for (let done = 0, i = 0; done < sizeMiB * MiB; done += piece.length, i++) {
      const part = piece.subarray(0, Math.min(piece.length, sizeMiB * MiB - done));
      await store.append(`${LABEL}.img.${String(Math.floor(i / 4) + 1).padStart(6, '0')}`, part);
    }
    await store.sync();
    await store.close();
    const bytes = dirBytes(join(tapes, LABEL));
    const conf = join(root, 'empty.conf');
    writeFileSync(conf, '');
    const rows: ExportBenchRow[] = [];
    log(`export: ${sizeMiB} MiB cartridge in ${root}, export chunks ${chunkSize}`);

    // Baseline: rclone copy of the cartridge directory to the same kind of remote.
    const copy = join(root, 'copy');
    const t = process.hrtime.bigint();
    const r = spawnSync('rclone', ['--config', conf, 'copy', join(tapes, LABEL), `bench:${copy}`], {
      env: { ...process.env, ...RCLONE_ENV },
    });
    if (r.status !== 0) throw new Error(`rclone copy failed: ${r.stderr.toString()}`);
    const sec = Number(process.hrtime.bigint() - t) / 1e9;
    rows.push({ name: 'rclone copy', seconds: sec, mbps: bytes / 1e6 / sec, stored: dirBytes(copy) / bytes });
    rmSync(copy, { recursive: true, force: true });
    log(`  rclone copy: ${(bytes / 1e6 / sec).toFixed(0)} MB/s`);

    for (const [name, compress] of [
      ['export, zstd level 1 (default)', true],
      ['export, uncompressed', false],
    ] as const) {
      const remote = join(root, 'remote');
      const res = await runChild({
        tapes,
        remote,
        jobDir: join(root, `jobs-${compress ? 'z' : 'p'}`),
        conf,
        compress,
        chunkSize,
      });
      if (res.state !== 'completed') throw new Error(`${name}: ${res.state}: ${res.lastError}`);
      rows.push({
        name,
        seconds: res.seconds,
        mbps: bytes / 1e6 / res.seconds,
        stored: dirBytes(remote) / bytes,
        startRssMiB: res.startRssKiB / 1024,
        peakRssMiB: res.peakKiB / 1024,
      });
      rmSync(remote, { recursive: true, force: true });
      log(
        `  ${name}: ${(bytes / 1e6 / res.seconds).toFixed(0)} MB/s, peak RSS ${(res.peakKiB / 1024).toFixed(0)} MiB`,
      );
    }
    return { sizeMiB, bytes, chunkSize, rows };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The table: MB/s, the ratio to the rclone copy of the same run, stored/original, memory. */
export function formatExportBench(r: ExportBenchResult): string {
  const copy = r.rows[0];
  const head = ['', 'MB/s', 'vs rclone copy', 'stored/original', 'RSS before', 'peak RSS (VmHWM)'];
  const mib = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(0)} MiB`);
  const rows = [
    head,
    ...r.rows.map((x) => [
      x.name,
      x.mbps.toFixed(0),
      `${(x.mbps / copy.mbps).toFixed(2)}x`,
      x.stored.toFixed(2),
      mib(x.startRssMiB),
      mib(x.peakRssMiB),
    ]),
  ];
  const widths = head.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]): string =>
    row
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [
    `\nexport of a ${r.sizeMiB} MiB cartridge (${(r.bytes / 1e6).toFixed(0)} MB with cartridge.json) to a local` +
      ` rclone remote, export chunks ${r.chunkSize}, 4 transfers; the export runs in its own process`,
    line(rows[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
  ].join('\n');
}

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3] ?? '{}') as ChildJob);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(formatExportBench(await runExportBench(Number(process.argv[2] ?? 2048))));
}
