/**
 * Fixtures for the migration suites: temp dirs, cartridges with known content, RSA keys in a
 * keystore, rclone test servers (`serve sftp`, `serve webdav` on 127.0.0.1:0) and wrapper
 * scripts standing in for rclone (fail N times, slow down, corrupt an upload).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCartridge, createFileBackend, openTapeImage } from '../../src/vtl/image/index.js';
import type { ImageBackend } from '../../src/vtl/image/types.js';
import {
  parseMigrationConfig,
  type MigrationConfig,
  type MigrationConfigInput,
} from '../../src/migrate/config.js';
import { Migrator, type LibraryHooks } from '../../src/migrate/migrator.js';
import type { Remote } from '../../src/migrate/remote.js';

export class TempDirs {
  private readonly dirs: string[] = [];
  make(prefix = 'vtl-mig-'): string {
    const d = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(d);
    return d;
  }
  cleanup(): void {
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** Deterministic mixed content: compressible text blocks, random blocks, filemarks. */
export function blockFor(i: number): Buffer {
  const size = 8192 + ((i * 7919) % 24576);
  if (i % 3 === 2) return randomBytes(size);
  const text = Buffer.from(`block ${i} of a backup stream; the quick brown fox jumps over the lazy dog. `);
  const b = Buffer.alloc(size);
  for (let o = 0; o < size; o += text.length) text.copy(b, o);
  return b;
}

/**
 * Writes a cartridge through the TapeImage (image chunk files of 64 KiB) with `blocks` blocks
 * and a filemark every ten: real tape content, readable back with `readBlocks`.
 */
export async function makeTapeCartridge(
  backend: ImageBackend,
  label: string,
  blocks = 40,
): Promise<Buffer[]> {
  await createCartridge(backend, { label, mediaType: 'LTO8', capacity: 1 << 30, chunkSize: 64 * 1024 });
  const image = await openTapeImage(backend, label);
  const written: Buffer[] = [];
  for (let i = 0; i < blocks; i++) {
    const b = blockFor(i);
    written.push(b);
    await image.writeBlock(b);
    if (i % 10 === 9) await image.writeFilemarks(1);
  }
  await image.close();
  return written;
}

/**
 * A cartridge written at the store level (cartridge.json from createCartridge, then chunk-like
 * files of mixed content, an index-like file and an empty file): exercises every kind of file
 * the export copies without depending on the tape format.
 */
export async function makeCartridge(backend: ImageBackend, label: string, blocks = 40): Promise<void> {
  await createCartridge(backend, { label, mediaType: 'LTO8', capacity: 1 << 30, chunkSize: 64 * 1024 });
  const store = await backend.open(label, { create: false });
  try {
    for (let i = 0; i < blocks; i++) {
      await store.append(`${label}.img.${String(Math.floor(i / 8) + 1).padStart(6, '0')}`, blockFor(i));
    }
    await store.append(`${label}.idx`, randomBytes(4000));
    await store.writeAtomic(`${label}.fm`, Buffer.alloc(0));
    await store.sync();
  } finally {
    await store.close();
  }
}

/** Every file of a cartridge, name → bytes. */
export async function cartridgeFiles(backend: ImageBackend, label: string): Promise<Map<string, Buffer>> {
  const store = await backend.open(label, { create: false });
  try {
    const out = new Map<string, Buffer>();
    for (const name of await store.files())
      out.set(name, await store.read(name, 0, Math.max(await store.size(name), 0)));
    return out;
  } finally {
    await store.close();
  }
}

/** Reads the data blocks back through a TapeImage (what a drive would see). */
export async function readBlocks(backend: ImageBackend, label: string): Promise<Buffer[]> {
  const image = await openTapeImage(backend, label);
  const out: Buffer[] = [];
  try {
    for (;;) {
      const r = await image.read();
      if (r.kind === 'eod') break;
      if (r.kind === 'data') out.push(Buffer.from(r.data));
    }
  } finally {
    await image.close();
  }
  return out;
}

export function writeKey(dir: string, name: string): void {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, name), privateKey.export({ type: 'pkcs8', format: 'pem' }));
}

export interface Setup {
  backend: ImageBackend;
  jobDir: string;
  keystore: string;
  config: MigrationConfig;
  migrator(extra?: { hooks?: LibraryHooks; remote?: Remote; rcloneEnv?: Record<string, string> }): Migrator;
}

/** A file backend, a job dir, a keystore with key.pem and other.pem, and a config. */
export function setup(tmp: TempDirs, input: Partial<MigrationConfigInput> & { remote: string }): Setup {
  const root = tmp.make();
  const backend = createFileBackend(join(root, 'tapes'));
  const jobDir = join(root, 'jobs');
  const keystore = join(root, 'keystore');
  mkdirSync(keystore);
  writeKey(keystore, 'key.pem');
  writeKey(keystore, 'other.pem');
  const config = parseMigrationConfig({
    chunkSize: 100_000,
    maxThreads: 2,
    retryPause: 0,
    keystoreDir: keystore,
    ...input,
  });
  return {
    backend,
    jobDir,
    keystore,
    config,
    migrator: (extra = {}) => new Migrator({ config, backend, jobDir, ...extra }),
  };
}

/** A shell script standing in for rclone; `body` runs before `exec rclone "$@"`. */
export function wrapper(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\n${body}\nexec rclone "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

export interface Served {
  port: number;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** `rclone serve sftp|webdav ROOT --addr 127.0.0.1:0`, port read from its NOTICE line. */
export async function serve(
  kind: 'sftp' | 'webdav',
  root: string,
  cache: string,
  name: string,
  vendor = 'other',
): Promise<Served> {
  const conf = join(cache, 'empty.conf');
  writeFileSync(conf, '');
  const args = ['serve', kind, root, '--addr', '127.0.0.1:0', '--config', conf, '--cache-dir', cache];
  if (kind === 'sftp') args.push('--user', 'u', '--pass', 'p');
  const child: ChildProcess = spawn('rclone', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const t = setTimeout(() => reject(new Error(`rclone serve ${kind} did not start: ${text}`)), 10_000);
    child.stderr?.on('data', (b: Buffer) => {
      text += b.toString();
      const m = /(?:listening on |started on http:\/\/)127\.0\.0\.1:(\d+)/.exec(text);
      if (m !== null) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
  const N = name.toUpperCase();
  const env: Record<string, string> =
    kind === 'sftp'
      ? {
          [`RCLONE_CONFIG_${N}_TYPE`]: 'sftp',
          [`RCLONE_CONFIG_${N}_HOST`]: '127.0.0.1',
          [`RCLONE_CONFIG_${N}_PORT`]: String(port),
          [`RCLONE_CONFIG_${N}_USER`]: 'u',
          [`RCLONE_CONFIG_${N}_PASS`]: execFileSync('rclone', ['obscure', 'p']).toString().trim(),
        }
      : {
          [`RCLONE_CONFIG_${N}_TYPE`]: 'webdav',
          [`RCLONE_CONFIG_${N}_URL`]: `http://127.0.0.1:${port}`,
          [`RCLONE_CONFIG_${N}_VENDOR`]: vendor,
        };
  return {
    port,
    env,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Env for a local-path rclone remote named `name`, plus an empty config file flag. */
export function localRemoteEnv(name: string): Record<string, string> {
  return { [`RCLONE_CONFIG_${name.toUpperCase()}_TYPE`]: 'local' };
}

export function emptyRcloneConf(dir: string): string[] {
  const conf = join(dir, 'empty-rclone.conf');
  writeFileSync(conf, '');
  return ['--config', conf];
}
