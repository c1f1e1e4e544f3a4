import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CHAP_ALGORITHMS, chapResponse, decodeBinary } from '../../../src/target/login/chap.js';
import {
  LoginStateMachine,
  type LoginEnvironment,
  type LoginResult,
  type LoginStep,
} from '../../../src/target/login/login.js';
import { DEFAULT_TARGET_OFFER } from '../../../src/target/login/params.js';
import { LoginStatus, Opcode } from '../../../src/target/pdu/constants.js';
import { decodeLoginResponse, encodeLoginRequest } from '../../../src/target/pdu/login.js';
import { encodeNopOut } from '../../../src/target/pdu/control.js';
import { parseTextPairs, serializeTextPairs } from '../../../src/target/pdu/text-pairs.js';
import type { Pdu } from '../../../src/target/transport/types.js';

const TARGET = 'iqn.2024-01.org.example:t1';
const INITIATOR = 'iqn.2024-01.org.example:i1';

function env(overrides: Partial<LoginEnvironment> = {}, admitted: LoginResult[] = []): LoginEnvironment {
  return {
    offer: DEFAULT_TARGET_OFFER,
    portalGroupTag: 7,
    commandWindow: 32,
    discoveryChap: null,
    findTarget: (name) =>
      name === TARGET
        ? { name }
        : name === 'iqn.2024-01.org.example:chap'
          ? { name, chap: { user: 'u', secret: 'secret-1234' } }
          : name === 'iqn.2024-01.org.example:acl'
            ? { name, allowedInitiators: ['iqn.2024-01.org.example:other'] }
            : undefined,
    admit: (r) => {
      admitted.push(r);
      return { ok: true, tsih: 0x55, expCmdSN: r.cmdSN, maxCmdSN: r.cmdSN + 31 };
    },
    random: (n) => Buffer.alloc(n, 0x33),
    ...overrides,
  };
}

interface Req {
  csg: number;
  nsg?: number;
  transit?: boolean;
  cont?: boolean;
  keys?: Record<string, string>;
  raw?: Buffer;
  versionMin?: number;
  isid?: number;
  tsih?: number;
  cid?: number;
}

function pdu(r: Req): Pdu {
  const data =
    r.raw ?? serializeTextPairs(Object.entries(r.keys ?? {}).map(([key, value]) => ({ key, value })));
  const bhs = encodeLoginRequest(
    {
      transit: r.transit ?? false,
      continue: r.cont ?? false,
      csg: r.csg,
      nsg: r.nsg ?? 0,
      versionMax: 0,
      versionMin: r.versionMin ?? 0,
      isid: r.isid ?? 0x400000000001,
      tsih: r.tsih ?? 0,
      itt: 1,
      cid: r.cid ?? 0,
      cmdSN: 10,
      expStatSN: 100,
    },
    data.length,
  );
  return { bhs, ahs: null, data: data.length ? data : null, dataDigestError: false };
}

function view(step: LoginStep) {
  const h = decodeLoginResponse(step.header);
  return {
    kind: step.kind,
    h,
    keys: Object.fromEntries(parseTextPairs(step.data).map((p) => [p.key, p.value])),
  };
}

const identity = { InitiatorName: INITIATOR, TargetName: TARGET };

describe('login state machine', () => {
  it('goes from security to full feature phase in two round trips, with TPGT first and our MaxRecvDataSegmentLength declared', () => {
    const admitted: LoginResult[] = [];
    const m = new LoginStateMachine(env({}, admitted));
    const a = view(
      m.handle(pdu({ csg: 0, nsg: 1, transit: true, keys: { ...identity, AuthMethod: 'None' } })),
    );
    expect(a.kind).toBe('continue');
    expect(a.h.status).toBe(0);
    expect(a.h.transit).toBe(true);
    expect(a.h.nsg).toBe(1);
    expect(a.h.statSN).toBe(100);
    expect(a.keys).toEqual({ AuthMethod: 'None', TargetPortalGroupTag: '7' });
    const step = m.handle(
      pdu({
        csg: 1,
        nsg: 3,
        transit: true,
        keys: { MaxRecvDataSegmentLength: '65536', InitialR2T: 'No', MaxBurstLength: '1048576' },
      }),
    );
    const b = view(step);
    expect(b.kind).toBe('complete');
    expect(b.h.transit).toBe(true);
    expect(b.h.nsg).toBe(3);
    expect(b.h.tsih).toBe(0x55);
    expect(b.h.statSN).toBe(101);
    expect(b.h.maxCmdSN).toBe(41);
    expect(b.keys).toEqual({
      InitialR2T: 'No',
      MaxBurstLength: '1048576',
      MaxRecvDataSegmentLength: '262144',
    });
    expect(admitted[0].params.initiatorMaxRecvDataSegmentLength).toBe(65536);
    // Full feature phase goes on after the final response's StatSN.
    expect(step.kind === 'complete' && step.result.statSN).toBe(102);
    expect(admitted[0].cmdSN).toBe(10);
  });

  it('goes straight to full feature phase in one round trip when the initiator skips security', () => {
    const m = new LoginStateMachine(env());
    const r = view(
      m.handle(pdu({ csg: 1, nsg: 3, transit: true, keys: { ...identity, HeaderDigest: 'CRC32C,None' } })),
    );
    expect(r.kind).toBe('complete');
    expect(r.keys).toEqual({
      HeaderDigest: 'CRC32C',
      TargetPortalGroupTag: '7',
      MaxRecvDataSegmentLength: '262144',
    });
  });

  it('stays in the stage (T=0) when the initiator does not ask to transit, then transits', () => {
    const m = new LoginStateMachine(env());
    const a = view(m.handle(pdu({ csg: 1, keys: { ...identity } })));
    expect(a.h.transit).toBe(false);
    const b = view(m.handle(pdu({ csg: 1, nsg: 3, transit: true })));
    expect(b.kind).toBe('complete');
  });

  it('accepts text continued over several PDUs (C bit) and answers each with an empty response', () => {
    const m = new LoginStateMachine(env());
    const text = serializeTextPairs([
      { key: 'InitiatorName', value: INITIATOR },
      { key: 'TargetName', value: TARGET },
      { key: 'MaxBurstLength', value: '65536' },
    ]);
    const a = m.handle(pdu({ csg: 1, cont: true, raw: text.subarray(0, 20) }));
    expect(a.kind).toBe('continue');
    expect(a.data.length).toBe(0);
    const b = view(m.handle(pdu({ csg: 1, nsg: 3, transit: true, raw: text.subarray(20) })));
    expect(b.kind).toBe('complete');
    expect(b.keys.MaxBurstLength).toBe('65536');
  });

  it.each([
    ['InitiatorName missing', { csg: 1, keys: { TargetName: TARGET } }, LoginStatus.MISSING_PARAMETER],
    [
      'TargetName missing on a normal session',
      { csg: 1, keys: { InitiatorName: INITIATOR } },
      LoginStatus.MISSING_PARAMETER,
    ],
    [
      'unknown target',
      { csg: 1, keys: { InitiatorName: INITIATOR, TargetName: 'iqn.2024-01.org.example:nope' } },
      LoginStatus.NOT_FOUND,
    ],
    [
      'initiator not in the ACL',
      { csg: 1, keys: { InitiatorName: INITIATOR, TargetName: 'iqn.2024-01.org.example:acl' } },
      LoginStatus.AUTHORIZATION_FAILURE,
    ],
    [
      'unknown session type',
      { csg: 1, keys: { ...identity, SessionType: 'Bogus' } },
      LoginStatus.SESSION_TYPE_NOT_SUPPORTED,
    ],
    ['Version-min above 0', { csg: 1, keys: identity, versionMin: 1 }, LoginStatus.UNSUPPORTED_VERSION],
    [
      'T and C both set',
      { csg: 1, nsg: 3, transit: true, cont: true, keys: identity },
      LoginStatus.INVALID_DURING_LOGIN,
    ],
    [
      'transit backwards',
      { csg: 1, nsg: 0, transit: true, keys: identity },
      LoginStatus.INVALID_DURING_LOGIN,
    ],
    ['CSG 3', { csg: 3, keys: identity }, LoginStatus.INVALID_DURING_LOGIN],
    [
      'security stage skipped while CHAP is required',
      {
        csg: 1,
        nsg: 3,
        transit: true,
        keys: { InitiatorName: INITIATOR, TargetName: 'iqn.2024-01.org.example:chap' },
      },
      LoginStatus.AUTHENTICATION_FAILURE,
    ],
    ['malformed text', { csg: 1, raw: Buffer.from('InitiatorName\0') }, LoginStatus.INITIATOR_ERROR],
    [
      'security key in the operational stage',
      { csg: 1, keys: { ...identity, AuthMethod: 'None' } },
      LoginStatus.INITIATOR_ERROR,
    ],
  ] as [string, Req, number][])('rejects: %s', (_name, req, status) => {
    const m = new LoginStateMachine(env());
    const r = m.handle(pdu(req));
    expect(r.kind).toBe('failed');
    expect(decodeLoginResponse(r.header).status).toBe(status);
  });

  it('rejects a non-login PDU during login with 0x020B', () => {
    const m = new LoginStateMachine(env());
    const bhs = encodeNopOut({ immediate: true, lun: 0, itt: 1, ttt: 0xffffffff, cmdSN: 0, expStatSN: 0 }, 0);
    const r = m.handle({ bhs, ahs: null, data: null, dataDigestError: false });
    expect(r.kind).toBe('failed');
    expect(decodeLoginResponse(r.header).status).toBe(LoginStatus.INVALID_DURING_LOGIN);
    expect(r.header[0] & 0x3f).toBe(Opcode.LOGIN_RESPONSE);
  });

  it('rejects a changed ISID or a key negotiated twice', () => {
    const m = new LoginStateMachine(env());
    m.handle(pdu({ csg: 1, keys: { ...identity, MaxBurstLength: '65536' } }));
    expect(
      decodeLoginResponse(m.handle(pdu({ csg: 1, keys: { MaxBurstLength: '65536' } })).header).status,
    ).toBe(LoginStatus.INITIATOR_ERROR);
    const n = new LoginStateMachine(env());
    n.handle(pdu({ csg: 1, keys: identity }));
    expect(decodeLoginResponse(n.handle(pdu({ csg: 1, isid: 5 })).header).status).toBe(
      LoginStatus.INVALID_DURING_LOGIN,
    );
  });

  it('runs CHAP in the security stage and refuses transit until it succeeds', () => {
    const m = new LoginStateMachine(env());
    const t = 'iqn.2024-01.org.example:chap';
    const a = view(
      m.handle(
        pdu({
          csg: 0,
          nsg: 1,
          transit: true,
          keys: { InitiatorName: INITIATOR, TargetName: t, AuthMethod: 'CHAP,None' },
        }),
      ),
    );
    expect(a.keys.AuthMethod).toBe('CHAP');
    expect(a.h.transit).toBe(false);
    const b = view(m.handle(pdu({ csg: 0, nsg: 1, keys: { CHAP_A: '5' } })));
    expect(b.keys.CHAP_A).toBe('5');
    const r = chapResponse(
      CHAP_ALGORITHMS[0],
      Number(b.keys.CHAP_I),
      'secret-1234',
      decodeBinary(b.keys.CHAP_C)!,
    );
    const c = view(
      m.handle(
        pdu({ csg: 0, nsg: 1, transit: true, keys: { CHAP_N: 'u', CHAP_R: '0x' + r.toString('hex') } }),
      ),
    );
    expect(c.h.status).toBe(0);
    expect(c.h.transit).toBe(true);
    expect(view(m.handle(pdu({ csg: 1, nsg: 3, transit: true }))).kind).toBe('complete');
  });

  it('fails with 0x0201 on a wrong CHAP response', () => {
    const m = new LoginStateMachine(env());
    m.handle(
      pdu({
        csg: 0,
        keys: { InitiatorName: INITIATOR, TargetName: 'iqn.2024-01.org.example:chap', AuthMethod: 'CHAP' },
      }),
    );
    m.handle(pdu({ csg: 0, keys: { CHAP_A: '5' } }));
    const r = m.handle(
      pdu({ csg: 0, nsg: 1, transit: true, keys: { CHAP_N: 'u', CHAP_R: '0x' + '00'.repeat(16) } }),
    );
    expect(r.kind).toBe('failed');
    expect(decodeLoginResponse(r.header).status).toBe(LoginStatus.AUTHENTICATION_FAILURE);
  });

  it('admits a discovery session without TargetName and without TPGT', () => {
    const admitted: LoginResult[] = [];
    const m = new LoginStateMachine(env({}, admitted));
    const r = view(
      m.handle(
        pdu({
          csg: 1,
          nsg: 3,
          transit: true,
          keys: { InitiatorName: INITIATOR, SessionType: 'Discovery', MaxBurstLength: '512' },
        }),
      ),
    );
    expect(r.kind).toBe('complete');
    expect(r.keys).toEqual({ MaxBurstLength: 'Irrelevant', MaxRecvDataSegmentLength: '262144' });
    expect(admitted[0].target).toBeNull();
    expect(admitted[0].params.sessionType).toBe('Discovery');
  });

  it('passes an admission failure (e.g. session does not exist) to the initiator', () => {
    const m = new LoginStateMachine(
      env({
        admit: () => ({ ok: false, status: LoginStatus.SESSION_DOES_NOT_EXIST, reason: 'no such TSIH' }),
      }),
    );
    const r = m.handle(pdu({ csg: 1, nsg: 3, transit: true, tsih: 9, keys: identity }));
    expect(r.kind).toBe('failed');
    expect(decodeLoginResponse(r.header).status).toBe(LoginStatus.SESSION_DOES_NOT_EXIST);
  });

  it('answers arbitrary login PDUs with a Login Response and never throws (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.uint8Array({ minLength: 48, maxLength: 48 }), fc.uint8Array({ maxLength: 300 })),
          { minLength: 1, maxLength: 4 },
        ),
        (pdus) => {
          const m = new LoginStateMachine(env());
          for (const [header, data] of pdus) {
            const bhs = Buffer.from(header);
            bhs[0] = 0x43;
            const step = m.handle({
              bhs,
              ahs: null,
              data: data.length ? Buffer.from(data) : null,
              dataDigestError: false,
            });
            expect(step.header[0]).toBe(0x23);
            if (step.kind === 'failed') break;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
