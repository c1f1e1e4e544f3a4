import { describe, expect, it } from 'vitest';
import {
  parseChunkSize,
  parseMigrationConfig,
  parseQuadstorRcloneConf,
  splitFlags,
} from '../../src/migrate/config.js';

describe('migration config', () => {
  it('applies the documented defaults', () => {
    const c = parseMigrationConfig({ remote: 'gdrive:' });
    expect(c.chunkSize).toBe(10240 * 1024 * 1024);
    expect(c.compress).toBe(true);
    expect(c.compressionLevel).toBe(1);
    expect(c.retryExitCodes).toEqual([5]);
    expect(c.skipMd5Check).toBe(false);
    expect(c.deleteAfterExport).toBe(false);
    expect(c.rcloneBinary).toBe('rclone');
  });

  it('reads m and g suffixes as MiB and GiB', () => {
    expect(parseChunkSize('1024m')).toBe(1 << 30);
    expect(parseChunkSize('2g')).toBe(2 * (1 << 30));
    expect(parseMigrationConfig({ remote: 'x:', chunkSize: '16M' }).chunkSize).toBe(16 << 20);
    expect(() => parseMigrationConfig({ remote: 'x:', chunkSize: '10t' }, 'server.json')).toThrow(
      /server\.json: migration\.chunkSize: expected a size such as "10240m"/,
    );
    expect(() => parseMigrationConfig({ remote: 'x:', chunkSize: 100 })).toThrow(
      /migration\.chunkSize: must be at least 4096/,
    );
  });

  it('refuses a typo naming the key', () => {
    expect(() => parseMigrationConfig({ remote: 'x:', chunksize: '10m' }, 'server.json')).toThrow(
      /server\.json: migration\.chunksize: is not a migration setting/,
    );
  });

  it('refuses wrong types and missing keys with the key named', () => {
    expect(() => parseMigrationConfig({ remote: 'x:', maxThreads: 0 })).toThrow(/migration\.maxThreads/);
    expect(() => parseMigrationConfig({ compress: true })).toThrow(/migration\.remote/);
    expect(() => parseMigrationConfig({ remote: 'x:', encryptionKey: 'k.pem' })).toThrow(
      /migration\.keystoreDir: is required when encryptionKey is set/,
    );
    expect(() =>
      parseMigrationConfig({ remote: 'x:', keystoreDir: '/k', encryptionKey: '../etc/k.pem' }),
    ).toThrow(/migration\.encryptionKey: must be a file name inside keystoreDir/);
  });

  it('splits flag strings without a shell', () => {
    expect(splitFlags(`--config "/root/my conf/rclone.conf" --bwlimit 10M '$HOME'`)).toEqual([
      '--config',
      '/root/my conf/rclone.conf',
      '--bwlimit',
      '10M',
      '$HOME',
    ]);
    expect(parseMigrationConfig({ remote: 'x:', rcloneFlags: ['--fast-list'] }).rcloneFlags).toEqual([
      '--fast-list',
    ]);
  });
});

describe("QUADStor's rclone.conf", () => {
  const sample = [
    '# exported from /quadstorvtl/etc/rclone.conf',
    'remotename=gdrive:',
    'rcloneflags="--config /root/.config/rclone/rclone.conf"',
    'chunksize=1024m',
    'enckey=key.pem',
    'compressdata=0',
    'deleteexport=1',
    'deleteimport=0',
    'createspare=1',
    'cachedir=/quadstorvtl/migratetmp',
    'skipmd5check=1',
    '',
  ].join('\n');

  it('maps every key onto the JSON shape', () => {
    const c = parseQuadstorRcloneConf(sample);
    expect(c.remote).toBe('gdrive:');
    expect(c.rcloneFlags).toEqual(['--config', '/root/.config/rclone/rclone.conf']);
    expect(c.chunkSize).toBe(1 << 30);
    expect(c.encryptionKey).toBe('key.pem');
    expect(c.keystoreDir).toBe('/quadstorvtl/keystore');
    expect(c.compress).toBe(false);
    expect(c.deleteAfterExport).toBe(true);
    expect(c.deleteAfterImport).toBe(false);
    expect(c.createSpare).toBe(true);
    expect(c.cacheDir).toBe('/quadstorvtl/migratetmp');
    expect(c.skipMd5Check).toBe(true);
  });

  it('names the line and key of a bad value, an unknown key, a duplicate, a missing =', () => {
    expect(() => parseQuadstorRcloneConf('remotename=g:\ncompressdata=yes\n', '/etc/rclone.conf')).toThrow(
      '/etc/rclone.conf:2: compressdata: expected 0 or 1, got "yes"',
    );
    expect(() => parseQuadstorRcloneConf('remotename=g:\n\nchunksz=10m\n')).toThrow(
      /rclone\.conf:3: chunksz: unknown key/,
    );
    expect(() => parseQuadstorRcloneConf('remotename=g:\nremotename=h:\n')).toThrow(
      /rclone\.conf:2: remotename: set again \(first on line 1\)/,
    );
    expect(() => parseQuadstorRcloneConf('remotename g:\n')).toThrow(/rclone\.conf:1: expected key=value/);
    expect(() => parseQuadstorRcloneConf('remotename=g:\nchunksize=12q\n')).toThrow(
      /rclone\.conf:2: chunksize: expected a size such as/,
    );
    expect(() => parseQuadstorRcloneConf('chunksize=10m\n')).toThrow(/rclone\.conf: remotename: is required/);
  });
});
