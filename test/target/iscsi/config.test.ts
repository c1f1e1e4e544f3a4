import { describe, expect, it } from 'vitest';
import { IscsiTarget, type IscsiTargetOptions } from '../../../src/target/iscsi-target.js';
import { createNetTransport } from '../../../src/target/transport/net.js';
import { VtlError } from '../../../src/util/errors.js';
import { TARGET } from './fixtures.js';

function configError(options: Partial<IscsiTargetOptions>): VtlError {
  try {
    new IscsiTarget({
      transport: createNetTransport(),
      targets: [{ name: TARGET, luns: new Map() }],
      ...options,
    });
  } catch (err) {
    return err as VtlError;
  }
  throw new Error('no error');
}

describe('IscsiTarget configuration', () => {
  it.each([
    [{ targets: [{ name: 'not-an-iqn', luns: new Map() }] }, /targets\[0\]\.name "not-an-iqn"/],
    [
      {
        targets: [
          { name: TARGET, luns: new Map() },
          { name: TARGET, luns: new Map() },
        ],
      },
      /configured twice/,
    ],
    [
      { maxRecvDataSegmentLength: 16 * 1024 * 1024 },
      /maxRecvDataSegmentLength must be an integer from 512 to 16777215/,
    ],
    [
      { firstBurstLength: 1048576, maxBurstLength: 65536 },
      /firstBurstLength 1048576 exceeds maxBurstLength 65536/,
    ],
    [{ maxOutstandingR2T: 0 }, /maxOutstandingR2T/],
    [
      {
        targets: [
          {
            name: TARGET,
            luns: new Map(),
            chap: { user: 'a', secret: 'same-secret', mutual: { user: 't', secret: 'same-secret' } },
          },
        ],
      },
      /chap\.mutual\.secret equals chap\.secret/,
    ],
  ] as [Partial<IscsiTargetOptions>, RegExp][])('refuses %j with ERR_CONFIG', (options, message) => {
    const err = configError(options);
    expect(err).toBeInstanceOf(VtlError);
    expect(err.code).toBe('ERR_CONFIG');
    expect(err.message).toMatch(message);
  });

  it('refuses to start twice', async () => {
    const t = new IscsiTarget({
      transport: createNetTransport(),
      portals: [{ host: '127.0.0.1', port: 0 }],
      targets: [],
    });
    await t.start();
    await expect(t.start()).rejects.toMatchObject({ code: 'ERR_STATE' });
    await t.stop();
  });
});
