/**
 * `vtl serve` as an operator runs it: a child process with a config file (or the embedded
 * default library), stopped by signals or killed outright. Data synced by WRITE FILEMARKS
 * (IMMED=0) must survive `kill -9`, and so must where the robot put each cartridge.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSense } from '../../src/target/scsi/sense.js';
import type { Initiator } from '../support/initiator.js';
import { ADDRESS, connectLibrary, moveMedium } from '../support/library-session.js';
import { spawnVtl } from '../support/vtl-cli.js';

const TARGET = 'iqn.2026-11.org.iscsi-vtl:vtl';

interface Running {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

const vtl = spawnVtl;

/** Starts `vtl serve` and waits for its "listening" log line to learn the port. */
async function serve(args: string[]): Promise<Running> {
  const child = vtl(['serve', '--portal', '127.0.0.1:0', '--api-listen', '127.0.0.1:0', ...args]);
  let err = '';
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`vtl serve did not start:\n${err}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of err.split('\n')) {
        if (!line.startsWith('{')) continue;
        const rec = JSON.parse(line) as { msg?: string; portal?: string };
        if (rec.msg === 'listening' && rec.portal) {
          clearTimeout(timer);
          res(Number(rec.portal.slice(rec.portal.lastIndexOf(':') + 1)));
        }
      }
    });
    child.on('exit', (code) => rej(new Error(`vtl serve exited with ${code}:\n${err}`)));
  });
  return { child, port, stderr: () => err, exited };
}

function cdb6(...bytes: number[]): Buffer {
  const b = Buffer.alloc(6);
  bytes.forEach((v, i) => (b[i] = v));
  return b;
}

function session(port: number, name: string): Promise<Initiator> {
  return connectLibrary(port, TARGET, `iqn.2026-11.test:${name}`);
}

/** TEST UNIT READY on the drive until it answers GOOD (a load raises 28/00 first). */
async function driveReady(s: Initiator): Promise<void> {
  for (let i = 0; i < 5; i++) if ((await s.command(1, cdb6(0x00))).status === 0) return;
  throw new Error('drive at LUN 1 never became ready');
}

const block = (i: number, n = 32768): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, j) => (i * 13 + j) & 0xff));

describe('vtl serve', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vtl-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a config with a typo, naming the key and the file', async () => {
    const file = join(dir, 'typo.json');
    await writeFile(file, JSON.stringify({ dataDir: dir, drivez: [], iscsi: { maxBurstLenght: 1 } }));
    const child = vtl(['serve', '--config', file]);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code).toBe(1);
    expect(err).toContain(`${file}: (top level): unknown key "drivez"`);
    expect(err).toContain(`${file}: iscsi: unknown key "maxBurstLenght"`);
  });

  it('refuses a barcode that is not an LTO label', async () => {
    const file = join(dir, 'label.json');
    await writeFile(file, JSON.stringify({ dataDir: dir, drives: [{ load: '../../etc' }] }));
    const child = vtl(['serve', '--config', file]);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise((res) => child.on('exit', res))).toBe(1);
    expect(err).toContain(`${file}: drives.0.load: a barcode is six characters`);
  });

  it('shuts down cleanly on SIGTERM, and the data written is there after a restart', async () => {
    const data = join(dir, 'sigterm');
    let srv = await serve(['--data-dir', data]);
    let s = await session(srv.port, 'term');
    // The embedded default is a library whose drives start empty: load E01001L8 with the robot.
    const empty = await s.command(1, cdb6(0x00));
    expect(decodeSense(empty.sense!).name).toBe('MEDIUM_NOT_PRESENT');
    expect(await moveMedium(s, ADDRESS.slot, ADDRESS.drive)).toBe(0);
    await driveReady(s);
    for (let i = 0; i < 8; i++)
      expect((await s.command(1, cdb6(0x0a, 0, 0, 0x80, 0), { dataOut: block(i) })).status).toBe(0);
    // No WRITE FILEMARKS: the clean shutdown must sync the drive by itself.
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
    expect(srv.stderr()).toContain('"msg":"stopped"');

    srv = await serve(['--data-dir', data]);
    s = await session(srv.port, 'term2');
    await driveReady(s); // still in the drive after the restart
    for (let i = 0; i < 8; i++) {
      const r = await s.command(1, cdb6(0x08, 0, 0, 0x80, 0), { expectedLength: 32768 });
      expect(r.status).toBe(0);
      expect(r.data.equals(block(i))).toBe(true);
    }
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });

  it('keeps what WRITE FILEMARKS synced through kill -9', async () => {
    const data = join(dir, 'kill9');
    let srv = await serve(['--data-dir', data]);
    let s = await session(srv.port, 'k9');
    expect(await moveMedium(s, ADDRESS.slot, ADDRESS.drive)).toBe(0);
    await driveReady(s);
    for (let i = 0; i < 16; i++)
      expect((await s.command(1, cdb6(0x0a, 0, 0, 0x80, 0), { dataOut: block(i) })).status).toBe(0);
    expect((await s.command(1, cdb6(0x10, 0, 0, 0, 1, 0))).status).toBe(0); // WRITE FILEMARKS 1, IMMED=0
    // More data after the sync point, never synced: may be lost, must not corrupt the image.
    for (let i = 16; i < 24; i++) await s.command(1, cdb6(0x0a, 0, 0, 0x80, 0), { dataOut: block(i) });
    srv.child.kill('SIGKILL');
    await srv.exited;

    srv = await serve(['--data-dir', data]);
    s = await session(srv.port, 'k9b');
    await driveReady(s); // the move was persisted before MOVE MEDIUM completed
    for (let i = 0; i < 16; i++) {
      const r = await s.command(1, cdb6(0x08, 0, 0, 0x80, 0), { expectedLength: 32768 });
      expect(r.status).toBe(0);
      expect(r.data.equals(block(i))).toBe(true);
    }
    const fm = await s.command(1, cdb6(0x08, 0, 0, 0x80, 0), { expectedLength: 32768 });
    expect(decodeSense(fm.sense!).name).toBe('FILEMARK_DETECTED');
    // Whatever survived after the filemark is whole blocks of what was written, then end of data.
    for (let i = 16; ; i++) {
      const r = await s.command(1, cdb6(0x08, 0, 0, 0x80, 0), { expectedLength: 32768 });
      if (r.status !== 0) {
        expect(decodeSense(r.sense!).name).toBe('END_OF_DATA_DETECTED');
        break;
      }
      expect(r.data.equals(block(i))).toBe(true);
    }
    srv.child.kill('SIGTERM');
    expect(await srv.exited).toBe(0);
  });
});
