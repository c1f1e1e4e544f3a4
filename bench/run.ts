/**
 * `npm run bench`: sequential tape throughput of iscsi-vtl against tgt, measured by one
 * independent client (bench/tapebench.c on libiscsi) at queue depth 1, as the Linux st
 * driver issues commands. For each block size and header digest setting it prints MB/s for
 * WRITE(6) and READ(6), the ratio ours/tgt (the bar is 1.25x; figures under it are marked),
 * a raw loopback baseline (the same exchange pattern over plain node:net, no iSCSI) and the
 * peak resident memory (VmHWM) of each server process.
 *
 * All targets run side by side and are measured interleaved: in every round, each workload is
 * run against every target in turn (the order reversed every other round), so a burst of load
 * from elsewhere on the machine hits the targets alike. Figures are medians over the rounds;
 * a ratio is the median of the per-round ratios (ours/tgt of the same round), which cancels
 * slow drifts in machine speed that a ratio of medians would keep.
 *
 * After the table, cloud migration (bench/export-bench.ts): export throughput of a multi-GiB
 * cartridge to a local rclone remote against `rclone copy` of the same bytes, and the peak
 * memory of the exporting process.
 *
 * Environment:
 *   BENCH_LARGE_MB  data per 256 KiB run (1024)     BENCH_SMALL_MB  data per 4 KiB run (64)
 *   BENCH_RUNS      rounds (5)                      BENCH_TARGETS   raw,tgt,native,net
 *   BENCH_EXPORT_MB cartridge for the export section (2048; 0 skips it)
 *   BENCH_ONLY      iscsi or export: run that section alone
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatExportBench, runExportBench } from './export-bench.js';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const WORK = join(BENCH, '.work');
const BAR = 1.25;
const MiB = 1024 * 1024;

const env = process.env;
const LARGE = Number(env.BENCH_LARGE_MB ?? 1024) * MiB;
const SMALL = Number(env.BENCH_SMALL_MB ?? 64) * MiB;
const RUNS = Math.max(1, Number(env.BENCH_RUNS ?? 5));
const TARGETS = (env.BENCH_TARGETS ?? 'raw,tgt,native,net').split(',');
const EXPORT_MB = Number(env.BENCH_EXPORT_MB ?? 2048);
const ONLY = env.BENCH_ONLY ?? '';
if (!['', 'iscsi', 'export'].includes(ONLY))
  throw new Error(`BENCH_ONLY: "${ONLY}" is neither iscsi nor export`);
if (!(EXPORT_MB >= 0)) throw new Error(`BENCH_EXPORT_MB: "${env.BENCH_EXPORT_MB}" is not a number of MB`);

// ---- how our server is started: the only place that knows its command line ------------
const OUR_TARGET = 'iqn.2026-11.org.iscsi-vtl:vtl';
const OUR_LUN = 1; // the drive, standalone (no changer), with a scratch cartridge loaded
const OUR_CLI = join(ROOT, 'dist/src/cli/main.js');
/** One standalone LTO-8 drive at LUN 1 with a blank cartridge loaded at start. */
const OUR_CONFIG = {
  targetName: OUR_TARGET,
  drives: [{ model: 'IBM ULT3580-TD8', load: 'BENCH1L8' }],
};
async function ourServerArgs(dataDir: string, port: number, transport: string): Promise<string[]> {
  const config = join(dataDir, 'bench-config.json');
  await writeFile(config, JSON.stringify(OUR_CONFIG));
  return [
    OUR_CLI,
    'serve',
    '--config',
    config,
    '--data-dir',
    join(dataDir, 'data'),
    '--portal',
    `127.0.0.1:${port}`,
    '--transport',
    transport,
    // Servers run side by side: each its own management API port.
    '--api-listen',
    '127.0.0.1:0',
  ];
}

interface Workload {
  label: string;
  block: number;
  bytes: number;
  digest: boolean;
}
const WORKLOADS: Workload[] = [
  { label: '256 KiB', block: 256 * 1024, bytes: LARGE, digest: false },
  { label: '256 KiB, header digest', block: 256 * 1024, bytes: LARGE, digest: true },
  { label: '4 KiB', block: 4096, bytes: SMALL, digest: false },
  { label: '4 KiB, header digest', block: 4096, bytes: SMALL, digest: true },
];

interface Figures {
  writeMBps: number;
  readMBps: number;
  writeCmds: number;
  readCmds: number;
}
type Metric = keyof Figures;
const METRICS: Metric[] = ['writeMBps', 'readMBps', 'writeCmds', 'readCmds'];

/** A running target: the tapebench flags per workload (undefined: not applicable). */
interface Target {
  name: string;
  args(w: Workload): string[] | undefined;
  peakRssKiB(): number | undefined;
  stop(): Promise<void>;
}
interface TargetResult {
  name: string;
  /** Per workload label, one Figures per round. */
  rounds: Map<string, Figures[]>;
  peakRssKiB?: number;
  skipped?: string;
}

function run(cmd: string, args: string[], timeoutMs = 600_000): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) ok(out);
      else fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`));
    });
  });
}

function parseFigures(line: string): Figures {
  const v = (k: string): number => Number(new RegExp(`${k}=([0-9.]+)`).exec(line)?.[1] ?? NaN);
  return {
    writeMBps: v('write_MBps'),
    readMBps: v('read_MBps'),
    writeCmds: v('write_cmds'),
    readCmds: v('read_cmds'),
  };
}

/** Unmeasured warm-up write of the large amount: a fresh image pays for file allocation once. */
async function warmUp(tapebench: string, t: Target): Promise<void> {
  const w = WORKLOADS[0];
  const extra = t.args(w);
  if (extra && !extra.includes('-R')) {
    await run(tapebench, [...extra, '-r', '-b', String(w.block), '-n', String(LARGE / w.block)]);
  }
}

/**
 * RUNS rounds; in each, every workload runs against every target in turn (A/B/A/B), the target
 * order reversed every other round so that neither side always runs first.
 */
async function measureInterleaved(
  tapebench: string,
  targets: Target[],
  results: TargetResult[],
): Promise<void> {
  for (let round = 0; round < RUNS; round++) {
    process.stderr.write(`round ${round + 1} of ${RUNS}\n`);
    for (const w of WORKLOADS) {
      const order = round % 2 === 0 ? targets.keys() : [...targets.keys()].reverse();
      for (const i of order) {
        const extra = targets[i].args(w);
        if (!extra || results[i].skipped) continue;
        let f: Figures;
        try {
          f = parseFigures(
            await run(tapebench, [...extra, '-b', String(w.block), '-n', String(w.bytes / w.block)]),
          );
        } catch (e) {
          // A failing server of ours is reported and left out; without tgt there is no comparison.
          if (targets[i].name === 'tgt') throw e;
          results[i].skipped = (e as Error).message;
          continue;
        }
        const list = results[i].rounds.get(w.label) ?? [];
        list.push(f);
        results[i].rounds.set(w.label, list);
        process.stderr.write(
          `  ${w.label.padEnd(24)} ${targets[i].name.padEnd(18)} write ${f.writeMBps} MB/s, read ${f.readMBps} MB/s\n`,
        );
      }
    }
  }
}

function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Medians over the rounds of each raw figure. */
function medianFigures(rounds: Figures[] | undefined): Figures | undefined {
  if (!rounds || rounds.length === 0) return undefined;
  const out = {} as Figures;
  for (const k of METRICS) out[k] = median(rounds.map((f) => f[k]));
  return out;
}

/** Median over the rounds of ours/tgt, each round's figure against the same round's tgt figure. */
function medianRatio(ours: Figures[] | undefined, tgt: Figures[] | undefined, k: Metric): number {
  if (!ours || !tgt) return NaN;
  const n = Math.min(ours.length, tgt.length);
  return median(Array.from({ length: n }, (_, i) => ours[i][k] / tgt[i][k]));
}

function peakRssKiB(pid: number): number | undefined {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => ok(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before listening`);
    const up = await new Promise<boolean>((ok) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), ok(true)));
      c.once('error', () => ok(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/**
 * Raw loopback: the tapebench -R exchange served by node:net. Per block the client sends a
 * 48-byte header ('W' or 'R', length at bytes 4-7); 'W' is followed by the payload and
 * answered with 48 bytes, 'R' is answered with 48 bytes plus the payload.
 */
function rawServer(): Promise<net.Server> {
  const reply = Buffer.alloc(48);
  const payload = Buffer.alloc(16 * MiB, 0x5a);
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    const hdr = Buffer.alloc(48);
    let have = 0;
    let body = 0;
    sock.on('data', (chunk: Buffer) => {
      let off = 0;
      while (off < chunk.length) {
        if (body > 0) {
          const n = Math.min(body, chunk.length - off);
          body -= n;
          off += n;
          if (body === 0) sock.write(reply);
          continue;
        }
        const n = Math.min(48 - have, chunk.length - off);
        chunk.copy(hdr, have, off, off + n);
        have += n;
        off += n;
        if (have < 48) break;
        have = 0;
        const len = hdr.readUInt32BE(4);
        if (hdr[0] === 0x57 /* W */) body = len;
        else {
          sock.cork();
          sock.write(reply);
          sock.write(payload.subarray(0, len));
          sock.uncork();
        }
      }
    });
    sock.on('error', () => sock.destroy());
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function startRaw(): Promise<Target> {
  const server = await rawServer();
  const { port } = server.address() as net.AddressInfo;
  process.stderr.write(`raw loopback (node:net, no iSCSI) at 127.0.0.1:${port}\n`);
  return {
    name: 'raw node:net',
    args: (w) => (w.digest ? undefined : ['-R', `127.0.0.1:${port}`]),
    peakRssKiB: () => undefined,
    stop: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

async function startTgt(): Promise<Target> {
  const dir = join(WORK, 'tgt');
  const port = await freePort();
  const url = (await run(join(BENCH, 'tgt.sh'), ['start', dir, String(port), '77'])).trim();
  process.stderr.write(`tgt at ${url}\n`);
  const pid = Number(readFileSync(join(dir, 'tgtd.pid'), 'utf8'));
  return {
    name: 'tgt',
    args: (w) => ['-u', url, ...(w.digest ? ['-d'] : [])],
    peakRssKiB: () => peakRssKiB(pid),
    stop: async () => {
      await run(join(BENCH, 'tgt.sh'), ['stop', dir, '77']);
    },
  };
}

async function startOurs(transport: string): Promise<Target> {
  const name = `iscsi-vtl ${transport}`;
  if (!existsSync(OUR_CLI)) throw new Error(`${OUR_CLI} not found (npm run build)`);
  const dataDir = await mkdtemp(join(tmpdir(), 'vtl-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, await ourServerArgs(dataDir, port, transport), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    clearTimeout(killer);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, 20_000);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${stderr.trim()}`);
  }
  const url = `iscsi://127.0.0.1:${port}/${OUR_TARGET}/${OUR_LUN}`;
  process.stderr.write(`${name} at ${url}\n`);
  return {
    name,
    args: (w) => ['-u', url, ...(w.digest ? ['-d'] : [])],
    peakRssKiB: () => (child.exitCode === null ? peakRssKiB(child.pid!) : undefined),
    stop,
  };
}

function cell(f: Figures | undefined, dir: 'write' | 'read', block: number): string {
  if (!f) return '-';
  const mbps = dir === 'write' ? f.writeMBps : f.readMBps;
  const cmds = dir === 'write' ? f.writeCmds : f.readCmds;
  return block < 65536 ? `${mbps.toFixed(1)} (${Math.round(cmds)}/s)` : mbps.toFixed(0);
}

function report(results: TargetResult[]): void {
  const tgt = results.find((r) => r.name === 'tgt');
  const shown = results.filter((r) => r.rounds.size > 0);
  const head = ['workload', 'op', ...shown.map((r) => r.name)];
  const rows: string[][] = [head];
  let under = 0;
  for (const w of WORKLOADS) {
    for (const dir of ['write', 'read'] as const) {
      const row = [w.label, dir];
      for (const r of shown) {
        const f = medianFigures(r.rounds.get(w.label));
        let text = cell(f, dir, w.block);
        if (f && tgt && r !== tgt && r.name !== 'raw node:net') {
          const ratio = medianRatio(
            r.rounds.get(w.label),
            tgt.rounds.get(w.label),
            dir === 'write' ? 'writeMBps' : 'readMBps',
          );
          if (Number.isFinite(ratio)) {
            text += ` ${ratio.toFixed(2)}x${ratio < BAR ? ' <' + BAR + 'x' : ''}`;
            if (ratio < BAR) under++;
          }
        }
        row.push(text);
      }
      rows.push(row);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(
    `\nMB/s at queue depth 1, median of ${RUNS} interleaved round(s); 4 KiB rows also give commands/s;` +
      ` ratios are ours/tgt, the median of the per-round ratios; bar ${BAR}x`,
  );
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log('\npeak resident memory (VmHWM):');
  for (const r of results) {
    if (r.peakRssKiB !== undefined) console.log(`  ${r.name}: ${(r.peakRssKiB / 1024).toFixed(1)} MiB`);
  }
  for (const r of results.filter((x) => x.skipped)) console.log(`\n${r.name} skipped: ${r.skipped}`);
  if (under) console.log(`\n${under} figure(s) under ${BAR}x tgt`);
}

async function main(): Promise<void> {
  if (ONLY !== 'export') await iscsi();
  if (ONLY !== 'iscsi' && EXPORT_MB > 0) console.log(formatExportBench(await runExportBench(EXPORT_MB)));
}

async function iscsi(): Promise<void> {
  await mkdir(WORK, { recursive: true });
  const tapebench = (await run(join(BENCH, 'build.sh'), [])).trim();
  console.log(
    `tapebench ${tapebench}; ${LARGE / MiB} MiB per 256 KiB run, ${SMALL / MiB} MiB per 4 KiB run, targets ${TARGETS.join(',')}`,
  );
  const starters: Record<string, () => Promise<Target>> = {
    raw: startRaw,
    tgt: startTgt,
    native: () => startOurs('native'),
    net: () => startOurs('net'),
  };
  const targets: Target[] = [];
  const results: TargetResult[] = [];
  const skipped: TargetResult[] = [];
  try {
    for (const t of TARGETS) {
      const start = starters[t] as (() => Promise<Target>) | undefined;
      if (!start) throw new Error(`BENCH_TARGETS: unknown target "${t}" (raw, tgt, native, net)`);
      try {
        const target = await start();
        targets.push(target);
        results.push({ name: target.name, rounds: new Map() });
      } catch (e) {
        if (t === 'tgt' || t === 'raw') throw e;
        skipped.push({ name: `iscsi-vtl ${t}`, rounds: new Map(), skipped: (e as Error).message });
      }
    }
    for (const [i, t] of targets.entries()) {
      await warmUp(tapebench, t).catch((e: unknown) => {
        if (t.name === 'tgt') throw e;
        results[i].skipped = (e as Error).message;
      });
    }
    await measureInterleaved(tapebench, targets, results);
    targets.forEach((t, i) => (results[i].peakRssKiB = t.peakRssKiB()));
  } finally {
    for (const t of targets) await t.stop().catch(() => undefined);
  }
  report([...results, ...skipped]);
}

await main();
