import { describe, expect, it } from 'vitest';
import {
  Authenticator,
  CHAP_ALGORITHMS,
  chapResponse,
  decodeBinary,
} from '../../../src/target/login/chap.js';
import { NegotiationError } from '../../../src/target/login/negotiation.js';
import { LoginStatus } from '../../../src/target/pdu/constants.js';

const creds = {
  user: 'alice',
  secret: 'alice-secret-1',
  mutual: { user: 'target', secret: 'target-secret-2' },
};
const fixedRandom = (n: number): Buffer => Buffer.alloc(n, 0x42);
const md5 = CHAP_ALGORITHMS[0];

function start(c = creds as typeof creds | { user: string; secret: string }, alg = '5') {
  const a = new Authenticator(c, fixedRandom);
  expect(a.step([{ key: 'AuthMethod', value: 'CHAP,None' }])).toEqual([{ key: 'AuthMethod', value: 'CHAP' }]);
  const answers = Object.fromEntries(a.step([{ key: 'CHAP_A', value: alg }]).map((p) => [p.key, p.value]));
  return {
    a,
    id: Number(answers.CHAP_I),
    challenge: decodeBinary(answers.CHAP_C)!,
    alg: Number(answers.CHAP_A),
  };
}

/** Runs `fn` and checks it failed the login with 0x0201 (authentication failure). */
function authFails(fn: () => unknown): void {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NegotiationError);
  expect((err as NegotiationError).status).toBe(LoginStatus.AUTHENTICATION_FAILURE);
}

describe('CHAP', () => {
  it('decodes hex (odd length too) and base64 binary values and refuses anything else', () => {
    expect(decodeBinary('0x0a0b')).toEqual(Buffer.from([10, 11]));
    expect(decodeBinary('0xabc')).toEqual(Buffer.from([0x0a, 0xbc]));
    expect(decodeBinary('0bAQI=')).toEqual(Buffer.from([1, 2]));
    expect(decodeBinary('0bAQI')).toBeNull();
    expect(decodeBinary('1234')).toBeNull();
    expect(decodeBinary('0xZZ')).toBeNull();
  });

  it('accepts the right one-way response, in hex or base64', () => {
    for (const enc of ['hex', 'base64'] as const) {
      const { a, id, challenge } = start({ user: 'alice', secret: 'alice-secret-1' });
      const r = chapResponse(md5, id, 'alice-secret-1', challenge);
      const value = enc === 'hex' ? '0x' + r.toString('hex') : '0b' + r.toString('base64');
      expect(
        a.step([
          { key: 'CHAP_N', value: 'alice' },
          { key: 'CHAP_R', value },
        ]),
      ).toEqual([]);
      expect(a.authenticated).toBe(true);
    }
  });

  it('refuses a wrong secret, an unknown name and a response of the wrong length', () => {
    const wrong = start();
    const bad = chapResponse(md5, wrong.id, 'nope', wrong.challenge);
    authFails(() =>
      wrong.a.step([
        { key: 'CHAP_N', value: 'alice' },
        { key: 'CHAP_R', value: '0x' + bad.toString('hex') },
      ]),
    );
    const name = start();
    const good = chapResponse(md5, name.id, 'alice-secret-1', name.challenge);
    authFails(() =>
      name.a.step([
        { key: 'CHAP_N', value: 'bob' },
        { key: 'CHAP_R', value: '0x' + good.toString('hex') },
      ]),
    );
    const short = start();
    authFails(() =>
      short.a.step([
        { key: 'CHAP_N', value: 'alice' },
        { key: 'CHAP_R', value: '0x00' },
      ]),
    );
    const huge = start();
    authFails(() =>
      huge.a.step([
        { key: 'CHAP_N', value: 'alice' },
        { key: 'CHAP_R', value: '0b' + Buffer.alloc(4096).toString('base64') },
      ]),
    );
  });

  it('answers mutual CHAP with the target name and H(id, target secret, challenge)', () => {
    const { a, id, challenge } = start();
    const r = chapResponse(md5, id, 'alice-secret-1', challenge);
    const mine = Buffer.alloc(16, 7);
    const answers = a.step([
      { key: 'CHAP_N', value: 'alice' },
      { key: 'CHAP_R', value: '0x' + r.toString('hex') },
      { key: 'CHAP_I', value: '9' },
      { key: 'CHAP_C', value: '0x' + mine.toString('hex') },
    ]);
    expect(answers).toEqual([
      { key: 'CHAP_N', value: 'target' },
      { key: 'CHAP_R', value: '0x' + chapResponse(md5, 9, 'target-secret-2', mine).toString('hex') },
    ]);
    expect(a.mutual).toBe(true);
  });

  it('refuses a reflected challenge (the initiator sends back ours)', () => {
    const { a, id, challenge } = start();
    const r = chapResponse(md5, id, 'alice-secret-1', challenge);
    authFails(() =>
      a.step([
        { key: 'CHAP_N', value: 'alice' },
        { key: 'CHAP_R', value: '0x' + r.toString('hex') },
        { key: 'CHAP_I', value: String(id) },
        { key: 'CHAP_C', value: '0x' + challenge.toString('hex') },
      ]),
    );
  });

  it('refuses mutual CHAP with identical secrets, without target credentials, or with an oversize challenge', () => {
    const run = (c: ConstructorParameters<typeof Authenticator>[0], challengeHex: string) => {
      const { a, id, challenge } = start(c as typeof creds);
      const r = chapResponse(md5, id, c!.secret, challenge);
      return () =>
        a.step([
          { key: 'CHAP_N', value: c!.user },
          { key: 'CHAP_R', value: '0x' + r.toString('hex') },
          { key: 'CHAP_I', value: '1' },
          { key: 'CHAP_C', value: challengeHex },
        ]);
    };
    authFails(
      run({ user: 'alice', secret: 's3cret-same', mutual: { user: 't', secret: 's3cret-same' } }, '0x01'),
    );
    authFails(run({ user: 'alice', secret: 'alice-secret-1' }, '0x01'));
    authFails(run(creds, '0x' + 'ab'.repeat(1025)));
  });

  it('negotiates SHA-256 (7) and SHA3-256 (8) when offered first', () => {
    for (const alg of [7, 8]) {
      const s = start(creds, `${alg},5`);
      expect(s.alg).toBe(alg);
      const spec = CHAP_ALGORITHMS.find((x) => x.id === alg)!;
      const r = chapResponse(spec, s.id, 'alice-secret-1', s.challenge);
      expect(r.length).toBe(32);
      s.a.step([
        { key: 'CHAP_N', value: 'alice' },
        { key: 'CHAP_R', value: '0x' + r.toString('hex') },
      ]);
      expect(s.a.authenticated).toBe(true);
    }
  });

  it('fails when no offered algorithm is supported, when CHAP is required but not offered, and out of sequence', () => {
    const a = new Authenticator(creds, fixedRandom);
    a.step([{ key: 'AuthMethod', value: 'CHAP' }]);
    authFails(() => a.step([{ key: 'CHAP_A', value: '6,99' }]));
    authFails(() => new Authenticator(creds).step([{ key: 'AuthMethod', value: 'None' }]));
    authFails(() => new Authenticator(creds).step([{ key: 'CHAP_N', value: 'alice' }]));
    authFails(() => new Authenticator(null).step([{ key: 'AuthMethod', value: 'CHAP' }]));
  });

  it('chooses None when no authentication is configured', () => {
    const a = new Authenticator(null);
    expect(a.step([{ key: 'AuthMethod', value: 'CHAP,None' }])).toEqual([
      { key: 'AuthMethod', value: 'None' },
    ]);
    expect(a.authenticated).toBe(true);
  });
});
