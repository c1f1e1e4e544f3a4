/**
 * Drives the QEMU guest of test/e2e/guest from vitest: builds it once, boots it once per
 * suite with the target's LUNs passed through, runs several case scripts in that one boot
 * and splits the console into one result per case, using the markers printed by init.sh:
 *   ===CASE <name> BEGIN=== ... ===CASE <name> END rc=<n>===   and   ===GUEST END failed=<n>===
 *
 * Environment: VTL_E2E_ACCEL=auto|kvm|tcg (run-guest.sh -A, default auto),
 * VTL_E2E_VERBOSE=1 streams the build log and the guest console to stderr.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GUEST_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../guest');
export const BUILD_SCRIPT = join(GUEST_DIR, 'build-guest.sh');
export const RUN_SCRIPT = join(GUEST_DIR, 'run-guest.sh');
/** The tape drive cases (test/e2e/guest/cases/tape/*.sh). */
export const TAPE_CASES = join(GUEST_DIR, 'cases/tape');

const VERBOSE = process.env.VTL_E2E_VERBOSE === '1';
const CASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The harness could not run at all: qemu missing, guest not built, boot failed, timeout. */
export class GuestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuestError';
  }
}

export interface GuestCase {
  /** Exit status of the case script (for the shipped cases: the number of failed checks). */
  rc: number;
  /** Everything the case printed, stdout and stderr, between its markers. */
  output: string;
}

export interface GuestRun {
  /** Cases that finished, in the order they ran. */
  cases: Map<string, GuestCase>;
  /** The whole console (CR and NUL stripped). */
  console: string;
  /** True when the guest printed its end marker, i.e. every case ran. */
  finished: boolean;
  /** Exit status of run-guest.sh. */
  exitCode: number | null;
  wallMs: number;
}

export interface RunGuestOptions {
  /** iSCSI portal, "127.0.0.1:3260" or { host, port }. */
  portal: string | { host: string; port: number };
  target: string;
  luns: number[];
  /** Case scripts: name -> script text (run in insertion order), or paths of scripts and
   *  directories (their *.sh files in name order; the name drops ".sh" and a leading "NN-"). */
  scripts: Record<string, string> | string[];
  /** Exported to every case (EXPECT_VENDOR, TAPE_LUN, ...). */
  env?: Record<string, string>;
  /** Whole run including boot (default 540 s). */
  timeoutSec?: number;
  /** Per case, inside the guest (default 0 = none). */
  caseTimeoutSec?: number;
  memoryMb?: number;
  accel?: 'auto' | 'kvm' | 'tcg';
  /**
   * Called with each console line as it arrives, so a test can act while the guest runs (a
   * case prints a request line, the host does it, the case waits for the effect).
   */
  onConsoleLine?: (line: string) => void;
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Case names for the scripts of a directory, as run-guest.sh derives them. */
export function caseNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sh') && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => basename(f, '.sh').replace(/^[0-9][0-9]-/, ''));
}

interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a script in its own process group; on timeout the whole group is killed. */
function exec(
  args: string[],
  timeoutMs: number,
  stream: boolean,
  onLine?: (line: string) => void,
): Promise<Exec> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let partial = '';
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      if (stream) process.stderr.write(b);
      if (onLine) {
        const lines = (partial + b.toString('utf8')).split('\n');
        partial = lines.pop()!;
        for (const line of lines) onLine(line.replace(/[\r\0]/g, ''));
      }
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      if (stream) process.stderr.write(b);
    });
    const killGroup = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    // a worker that exits mid-run (vitest abort) must not leave qemu running
    process.once('exit', killGroup);
    child.on('error', (e) => {
      clearTimeout(timer);
      process.off('exit', killGroup);
      reject(new GuestError(`cannot start bash ${args[0]}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      process.off('exit', killGroup);
      resolvePromise({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
  });
}

function accelFromEnv(): 'auto' | 'kvm' | 'tcg' {
  const v = process.env.VTL_E2E_ACCEL ?? 'auto';
  if (v === 'auto' || v === 'kvm' || v === 'tcg') return v;
  throw new GuestError(`VTL_E2E_ACCEL="${v}": use auto, kvm or tcg`);
}

const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

let built: Promise<void> | undefined;

/**
 * Builds the guest kernel and initramfs (build-guest.sh, idempotent; it installs QEMU with
 * apt-get when run as root). Runs once per process; later calls share the result.
 */
export function ensureGuestBuilt(timeoutSec = 540): Promise<void> {
  built ??= (async () => {
    if (!hasCommand('bash')) throw new GuestError('the guest harness needs bash');
    const r = await exec([BUILD_SCRIPT], timeoutSec * 1000, VERBOSE);
    if (r.timedOut) throw new GuestError(`build-guest.sh did not finish within ${timeoutSec}s`);
    if (r.code !== 0) {
      throw new GuestError(`build-guest.sh failed (exit ${r.code}):\n${tail(r.stderr + r.stdout, 30)}`);
    }
    if (!hasCommand('qemu-system-x86_64')) {
      throw new GuestError(
        'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86 qemu-block-extra)',
      );
    }
  })();
  return built;
}

const BEGIN = /^===CASE (\S+) BEGIN===$/;
const END = /^===CASE (\S+) END rc=(\d+)===$/;
const GUEST_END = /^===GUEST END failed=\d+===$/;

/** Splits a guest console into cases by their markers. */
export function parseConsole(text: string): { cases: Map<string, GuestCase>; finished: boolean } {
  const cases = new Map<string, GuestCase>();
  let current: { name: string; lines: string[] } | undefined;
  let finished = false;
  for (const line of text.split('\n')) {
    const begin = BEGIN.exec(line);
    const end = END.exec(line);
    if (begin) current = { name: begin[1], lines: [] };
    else if (end && current?.name === end[1]) {
      cases.set(current.name, { rc: Number(end[2]), output: current.lines.join('\n') });
      current = undefined;
    } else if (GUEST_END.test(line)) finished = true;
    else current?.lines.push(line);
  }
  return { cases, finished };
}

/**
 * Boots the guest once and runs every script in it. Throws GuestError when nothing could run
 * (qemu missing, guest not built, boot or login failure, timeout before the first case);
 * otherwise returns what finished, and `caseResult` reports any case that did not.
 */
export async function runGuest(opts: RunGuestOptions): Promise<GuestRun> {
  if (!hasCommand('qemu-system-x86_64')) {
    throw new GuestError(
      'qemu-system-x86_64 is not installed; call ensureGuestBuilt() (as root) or apt-get install qemu-system-x86 qemu-block-extra',
    );
  }
  const portal = typeof opts.portal === 'string' ? opts.portal : `${opts.portal.host}:${opts.portal.port}`;
  const timeoutSec = opts.timeoutSec ?? 540;
  const work = await mkdtemp(join(tmpdir(), 'vtl-guest-'));
  try {
    let paths: string[];
    if (Array.isArray(opts.scripts)) {
      paths = opts.scripts;
    } else {
      paths = [];
      for (const [name, text] of Object.entries(opts.scripts)) {
        if (!CASE_NAME.test(name)) throw new GuestError(`case name "${name}": use letters, digits, . _ -`);
        const file = join(work, `${name}.sh`);
        await writeFile(file, text, { mode: 0o755 });
        paths.push(file);
      }
    }
    if (paths.length === 0) throw new GuestError('runGuest: no case scripts given');
    const args = [
      RUN_SCRIPT,
      '-p',
      portal,
      '-t',
      opts.target,
      '-l',
      opts.luns.join(','),
      '-T',
      String(timeoutSec),
    ];
    args.push('-A', opts.accel ?? accelFromEnv());
    if (opts.caseTimeoutSec) args.push('-C', String(opts.caseTimeoutSec));
    if (opts.memoryMb) args.push('-m', String(opts.memoryMb));
    for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', `${k}=${v}`);
    args.push(...paths);

    const started = Date.now();
    // run-guest.sh enforces timeoutSec on qemu itself; the extra margin covers the KVM probe
    const r = await exec(args, (timeoutSec + 30) * 1000, VERBOSE, opts.onConsoleLine);
    const wallMs = Date.now() - started;
    const consoleText = r.stdout;
    const { cases, finished } = parseConsole(consoleText);
    // exit 2 before any console output: a usage error (the message names the problem)
    if (r.code === 2 && !consoleText.includes('===GUEST BEGIN')) {
      throw new GuestError(`run-guest.sh refused the run: ${r.stderr.trim()}`);
    }
    if (cases.size === 0 && !finished) {
      const why = r.timedOut || r.code === 124 ? `timed out after ${timeoutSec}s` : `exit ${r.code}`;
      throw new GuestError(
        `the guest did not finish any case (${why}; portal ${portal}, target ${opts.target}, LUNs ${opts.luns.join(',')}).\n` +
          `qemu/run-guest stderr:\n${tail(r.stderr, 15)}\nlast console lines:\n${tail(consoleText, 25)}`,
      );
    }
    return { cases, console: consoleText, finished, exitCode: r.code, wallMs };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The result of one case; throws GuestError if the guest never finished it. */
export function caseResult(run: GuestRun, name: string): GuestCase {
  const c = run.cases.get(name);
  if (c) return c;
  const how = run.finished
    ? 'was not among the cases run'
    : `did not finish (guest stopped, exit ${run.exitCode})`;
  throw new GuestError(`case "${name}" ${how}; last console lines:\n${tail(run.console, 25)}`);
}

/** Throws with the failed CHECK lines first, then the case's whole output, unless rc is 0. */
export function assertCasePassed(run: GuestRun, name: string): void {
  const c = caseResult(run, name);
  if (c.rc === 0) return;
  const failed = c.output.split('\n').filter((l) => l.startsWith('CHECK FAIL'));
  throw new Error(
    `guest case "${name}" exited ${c.rc}\n${failed.join('\n')}\n--- output of ${name} ---\n${c.output}`,
  );
}
