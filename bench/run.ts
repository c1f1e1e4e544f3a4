/**
 * `npm run bench`: sequential tape throughput of iscsi-vtl against tgt, measured by one
 * independent client (bench/tapebench.c on libiscsi) at queue depth 1, as the Linux st
 * driver issues commands. For each block size and header digest setting it prints MB/s for
 * WRITE(6) and READ(6), the ratio ours/tgt (the bar is 1.25x; figures under it are marked),
 * a raw loopback baseline (the same exchange pattern over plain node:net, no iSCSI) and the
 * peak resident memory (VmHWM) of each server process.
 *
 * Environment:
 *   BENCH_LARGE_MB  data per 256 KiB run (1024)     BENCH_SMALL_MB  data per 4 KiB run (64)
 *   BENCH_RUNS      runs per figure, best kept (3)  BENCH_TARGETS   raw,tgt,native,net
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const WORK = join(BENCH, '.work');
const BAR = 1.25;
const MiB = 1024 * 1024;

const env = process.env;
const LARGE = Number(env.BENCH_LARGE_MB ?? 1024) * MiB;
const SMALL = Number(env.BENCH_SMALL_MB ?? 64) * MiB;
const RUNS = Math.max(1, Number(env.BENCH_RUNS ?? 3));
const TARGETS = (env.BENCH_TARGETS ?? 'raw,tgt,native,net').split(',');

// ---- how our server is started: the only place that knows its command line ------------
const OUR_TARGET = 'iqn.2026-11.org.iscsi-vtl:vtl';
const OUR_LUN = 1; // the first drive, a scratch cartridge loaded
const OUR_CLI = join(ROOT, 'dist/src/cli/main.js');
function ourServerArgs(dataDir: string, port: number, transport: string): string[] {
  return [OUR_CLI, 'serve', '--data-dir', dataDir, '--portal', `127.0.0.1:${port}`, '--transport', transport];
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
interface TargetResult {
  name: string;
  figures: Map<string, Figures>; // by workload label
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

/**
 * Best of RUNS tapebench runs per workload; `args(w)` gives the target-specific flags (or
 * undefined to skip a workload). Rounds go over all workloads in turn, so a burst of load
 * from elsewhere on the machine does not hit every run of one workload.
 */
async function measure(
  tapebench: string,
  args: (w: Workload) => string[] | undefined,
): Promise<Map<string, Figures>> {
  const figures = new Map<string, Figures>();
  // Unmeasured warm-up write of the large amount: the first pass over a fresh image pays for
  // file allocation, which would otherwise favour whichever workload runs second.
  const warm = args(WORKLOADS[0]);
  if (warm && !warm.includes('-R')) {
    await run(tapebench, [
      ...warm,
      '-r',
      '-b',
      String(WORKLOADS[0].block),
      '-n',
      String(LARGE / WORKLOADS[0].block),
    ]);
  }
  for (let round = 0; round < RUNS; round++) {
    for (const w of WORKLOADS) {
      const extra = args(w);
      if (!extra) continue;
      const f = parseFigures(
        await run(tapebench, [...extra, '-b', String(w.block), '-n', String(w.bytes / w.block)]),
      );
      const best = figures.get(w.label);
      figures.set(
        w.label,
        best
          ? {
              writeMBps: Math.max(best.writeMBps, f.writeMBps),
              readMBps: Math.max(best.readMBps, f.readMBps),
              writeCmds: Math.max(best.writeCmds, f.writeCmds),
              readCmds: Math.max(best.readCmds, f.readCmds),
            }
          : f,
      );
      process.stderr.write(`  ${w.label}: write ${f.writeMBps} MB/s, read ${f.readMBps} MB/s\n`);
    }
  }
  return figures;
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

async function benchRaw(tapebench: string): Promise<TargetResult> {
  const server = await rawServer();
  const { port } = server.address() as net.AddressInfo;
  try {
    process.stderr.write('raw loopback (node:net, no iSCSI)\n');
    const figures = await measure(tapebench, (w) => (w.digest ? undefined : ['-R', `127.0.0.1:${port}`]));
    return { name: 'raw node:net', figures };
  } finally {
    server.close();
  }
}

async function benchTgt(tapebench: string): Promise<TargetResult> {
  const dir = join(WORK, 'tgt');
  const port = await freePort();
  const url = (await run(join(BENCH, 'tgt.sh'), ['start', dir, String(port), '77'])).trim();
  try {
    process.stderr.write(`tgt at ${url}\n`);
    const figures = await measure(tapebench, (w) => ['-u', url, ...(w.digest ? ['-d'] : [])]);
    const pid = Number(readFileSync(join(dir, 'tgtd.pid'), 'utf8'));
    return { name: 'tgt', figures, peakRssKiB: peakRssKiB(pid) };
  } finally {
    await run(join(BENCH, 'tgt.sh'), ['stop', dir, '77']);
  }
}

async function benchOurs(tapebench: string, transport: string): Promise<TargetResult> {
  const name = `iscsi-vtl ${transport}`;
  if (!existsSync(OUR_CLI)) {
    return { name, figures: new Map(), skipped: `${OUR_CLI} not found (npm run build)` };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'vtl-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, ourServerArgs(dataDir, port, transport), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  try {
    await waitForPort(port, child, 20_000);
    const url = `iscsi://127.0.0.1:${port}/${OUR_TARGET}/${OUR_LUN}`;
    process.stderr.write(`${name} at ${url}\n`);
    const figures = await measure(tapebench, (w) => ['-u', url, ...(w.digest ? ['-d'] : [])]);
    return { name, figures, peakRssKiB: peakRssKiB(child.pid!) };
  } catch (e) {
    return { name, figures: new Map(), skipped: `${(e as Error).message}\n${stderr.trim()}` };
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    clearTimeout(killer);
    await rm(dataDir, { recursive: true, force: true });
  }
}

function cell(f: Figures | undefined, dir: 'write' | 'read', block: number): string {
  if (!f) return '-';
  const mbps = dir === 'write' ? f.writeMBps : f.readMBps;
  const cmds = dir === 'write' ? f.writeCmds : f.readCmds;
  return block < 65536 ? `${mbps.toFixed(1)} (${Math.round(cmds)}/s)` : mbps.toFixed(0);
}

function report(results: TargetResult[]): void {
  const tgt = results.find((r) => r.name === 'tgt');
  const head = ['workload', 'op', ...results.map((r) => r.name)];
  const rows: string[][] = [head];
  let under = 0;
  for (const w of WORKLOADS) {
    for (const dir of ['write', 'read'] as const) {
      const row = [w.label, dir];
      for (const r of results) {
        const f = r.figures.get(w.label);
        let text = cell(f, dir, w.block);
        const base = tgt?.figures.get(w.label);
        if (f && base && r !== tgt && r.name !== 'raw node:net') {
          const ratio = dir === 'write' ? f.writeMBps / base.writeMBps : f.readMBps / base.readMBps;
          text += ` ${ratio.toFixed(2)}x${ratio < BAR ? ' <' + BAR + 'x' : ''}`;
          if (ratio < BAR) under++;
        }
        row.push(text);
      }
      rows.push(row);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(
    `\nMB/s at queue depth 1 (best of ${RUNS}); 4 KiB rows also give commands/s; ratios are ours/tgt, bar ${BAR}x`,
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
  await mkdir(WORK, { recursive: true });
  const tapebench = (await run(join(BENCH, 'build.sh'), [])).trim();
  console.log(
    `tapebench ${tapebench}; ${LARGE / MiB} MiB per 256 KiB run, ${SMALL / MiB} MiB per 4 KiB run, targets ${TARGETS.join(',')}`,
  );
  const results: TargetResult[] = [];
  for (const t of TARGETS) {
    if (t === 'raw') results.push(await benchRaw(tapebench));
    else if (t === 'tgt') results.push(await benchTgt(tapebench));
    else if (t === 'native' || t === 'net') results.push(await benchOurs(tapebench, t));
    else throw new Error(`BENCH_TARGETS: unknown target "${t}" (raw, tgt, native, net)`);
  }
  report(results);
}

await main();
