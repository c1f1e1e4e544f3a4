/**
 * libiscsi's command-line tools (Debian package libiscsi-bin) as a real initiator: discovery
 * with iscsi-ls, INQUIRY with iscsi-inq, header digests and CHAP through the URL syntax.
 * Install with `apt-get install -y libiscsi-bin`.
 */
import { execFile } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IscsiTarget } from '../../../src/target/iscsi-target.js';
import { INITIATOR, TARGET, startTarget, transports, type Harness } from './fixtures.js';
import { RamDisk } from './ram-disk.js';

const cases = await transports();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(tool: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: 15000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const probe = await run('iscsi-ls', ['--help']);
  if (probe.code === -1 && /ENOENT/.test(probe.stderr + probe.stdout)) {
    throw new Error('iscsi-ls not found: install libiscsi-bin (apt-get install -y libiscsi-bin)');
  }
});

describe.each(cases)('libiscsi tools against the $name transport', ({ create }) => {
  let h: Harness;
  afterEach(async () => h?.stop());

  it('iscsi-ls -s discovers the target, its portal and its LUN', async () => {
    h = await startTarget(create());
    const r = await run('iscsi-ls', ['-s', `iscsi://127.0.0.1:${h.port}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Target:${TARGET} Portal:127.0.0.1:${h.port},1`);
    expect(r.stdout).toMatch(/Lun:1\s+Type:SEQUENTIAL_ACCESS/);
  });

  it('iscsi-inq reads the standard INQUIRY data of LUN 1, with and without header digests', async () => {
    h = await startTarget(create());
    for (const suffix of ['', '?header_digest=crc32c']) {
      const r = await run('iscsi-inq', [`iscsi://127.0.0.1:${h.port}/${TARGET}/1${suffix}`]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Peripheral Device Type:SEQUENTIAL_ACCESS');
      expect(r.stdout).toContain('Vendor:TESTVEND');
      expect(r.stdout).toContain('Product:ECHO TAPE');
    }
  });

  it('logs in with CHAP given as user%password in the URL and fails with a wrong secret', async () => {
    h = await startTarget(create(), {}, { chap: { user: 'alice', secret: 'alice-secret-1' } });
    const ok = await run('iscsi-inq', [
      '-i',
      INITIATOR,
      `iscsi://alice%alice-secret-1@127.0.0.1:${h.port}/${TARGET}/1`,
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Vendor:TESTVEND');
    const bad = await run('iscsi-inq', [
      '-i',
      INITIATOR,
      `iscsi://alice%wrong-secret@127.0.0.1:${h.port}/${TARGET}/1`,
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/Authentication failure/);
    const none = await run('iscsi-inq', ['-i', INITIATOR, `iscsi://127.0.0.1:${h.port}/${TARGET}/1`]);
    expect(none.code).not.toBe(0);
  });

  it('authenticates the target too with mutual CHAP (target_user/target_password URL arguments)', async () => {
    h = await startTarget(
      create(),
      {},
      {
        chap: { user: 'alice', secret: 'alice-secret-1', mutual: { user: 'vtl', secret: 'target-secret-2' } },
      },
    );
    const url = `iscsi://alice%alice-secret-1@127.0.0.1:${h.port}/${TARGET}/1`;
    const ok = await run('iscsi-inq', [`${url}?target_user=vtl&target_password=target-secret-2`]);
    expect(ok.code).toBe(0);
    const bad = await run('iscsi-inq', [`${url}?target_user=vtl&target_password=not-the-secret`]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/Invalid CHAP_R response from the target/);
  });

  it('passes every iscsi-test-cu iSCSI test (CmdSN, DataSN with --dataloss, residuals, TMF), with and without header digests', async () => {
    // The suite's setup needs READ CAPACITY and READ/WRITE(10): a RAM disk stands in for a tape.
    const disk = 'iqn.2024-01.org.example:disk';
    const target = new IscsiTarget({
      transport: create(),
      portals: [{ host: '127.0.0.1', port: 0 }],
      targets: [{ name: disk, luns: new Map([[0, new RamDisk()]]) }],
      nopInterval: 0,
    });
    await target.start();
    try {
      for (const suffix of ['', '?header_digest=crc32c']) {
        const r = await run('iscsi-test-cu', [
          '-d',
          '-t',
          'iSCSI',
          `iscsi://127.0.0.1:${target.portals[0].port}/${disk}/0${suffix}`,
        ]);
        const m = /tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/.exec(r.stdout);
        expect(m, r.stdout).not.toBeNull();
        const [total, ran, passed, failed] = m!.slice(1).map(Number);
        expect({ ran, passed, failed }).toEqual({ ran: total, passed: total, failed: 0 });
        expect(total).toBeGreaterThanOrEqual(15);
        expect(r.code).toBe(0);
      }
    } finally {
      await target.stop({ logoutWaitMs: 0, graceMs: 500 });
    }
  }, 90_000);

  it('fails iscsi-inq on an unknown target name', async () => {
    h = await startTarget(create());
    const r = await run('iscsi-inq', [`iscsi://127.0.0.1:${h.port}/iqn.2024-01.org.example:nothing/1`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/not found|Not Found|Target not found/i);
  });
});
