/**
 * The security stage: AuthMethod selection and CHAP (RFC 1994 as applied by RFC 7143 12.1.3),
 * one-way and mutual, with MD5 (CHAP_A=5, mandatory), SHA-256 (7) and SHA3-256 (8) as numbered
 * by IANA's PPP registry and used by Linux. Binary values are hex (0x) or base64 (0b).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LoginStatus } from '../pdu/constants.js';
import type { TextPair } from '../pdu/text-pairs.js';
import { NegotiationError } from './negotiation.js';

export interface ChapCredentials {
  /** What the initiator must send as CHAP_N, and the secret it proves. */
  readonly user: string;
  readonly secret: string;
  /** Mutual CHAP: the name and secret the target answers with when challenged. */
  readonly mutual?: { readonly user: string; readonly secret: string };
}

export interface ChapAlgorithm {
  readonly id: number;
  readonly name: string;
  readonly hash: string;
  readonly digestLength: number;
}

/** CHAP_A values: IANA "PPP Authentication Algorithms", as numbered by Linux (not tgt's 7=SHA-1). */
export const CHAP_ALGORITHMS: readonly ChapAlgorithm[] = [
  { id: 5, name: 'MD5', hash: 'md5', digestLength: 16 },
  { id: 7, name: 'SHA-256', hash: 'sha256', digestLength: 32 },
  { id: 8, name: 'SHA3-256', hash: 'sha3-256', digestLength: 32 },
];

/** RFC 7143 12.1.3: challenges are at most 1024 bytes; a longer value is an authentication failure. */
export const MAX_CHALLENGE_LENGTH = 1024;

/** Decodes an RFC 7143 6.1 binary value (0x hex or 0b base64); null when malformed. */
export function decodeBinary(value: string): Buffer | null {
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) {
    const hex = value.slice(2);
    return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');
  }
  if (/^0[bB][A-Za-z0-9+/]+={0,2}$/.test(value)) {
    const b64 = value.slice(2);
    if (b64.length % 4 !== 0) return null;
    return Buffer.from(b64, 'base64');
  }
  return null;
}

export const encodeHex = (b: Buffer): string => '0x' + b.toString('hex');

/** CHAP response: H(identifier || secret || challenge) (RFC 1994 4.1). */
export function chapResponse(alg: ChapAlgorithm, id: number, secret: string, challenge: Buffer): Buffer {
  return createHash(alg.hash).update(Buffer.of(id)).update(secret, 'utf8').update(challenge).digest();
}

class AuthFailure extends NegotiationError {
  constructor(message: string) {
    super(LoginStatus.AUTHENTICATION_FAILURE, message);
  }
}

type AuthState = 'start' | 'await-algorithm' | 'await-response' | 'done';

/**
 * One login's security stage. `credentials` null means the target requires no
 * authentication (AuthMethod=None); otherwise CHAP is required.
 */
export class Authenticator {
  private state: AuthState = 'start';
  private algorithm: ChapAlgorithm | null = null;
  private identifier = 0;
  private challenge: Buffer = Buffer.alloc(0);
  /** Set when the initiator authenticated the target too. */
  mutual = false;

  constructor(
    private readonly credentials: ChapCredentials | null,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {}

  get authenticated(): boolean {
    return this.state === 'done';
  }

  /** True once AuthMethod was negotiated (or the stage can be left without it). */
  get started(): boolean {
    return this.state !== 'start';
  }

  /**
   * Handles the authentication keys of one login request; returns the answers. Throws
   * NegotiationError(0x0201) on any failure.
   */
  step(pairs: readonly TextPair[]): TextPair[] {
    if (pairs.length === 0) return [];
    const keys = new Map(pairs.map((p) => [p.key, p.value]));
    const answers: TextPair[] = [];
    const method = keys.get('AuthMethod');
    if (method !== undefined) {
      if (this.state !== 'start') throw new AuthFailure('AuthMethod renegotiated');
      answers.push({ key: 'AuthMethod', value: this.chooseMethod(method) });
    }
    if (keys.has('CHAP_A')) {
      if (this.state !== 'await-algorithm') throw new AuthFailure('CHAP_A out of sequence');
      answers.push(...this.chooseAlgorithm(keys.get('CHAP_A')!));
    }
    if (keys.has('CHAP_N') || keys.has('CHAP_R') || keys.has('CHAP_I') || keys.has('CHAP_C')) {
      if (this.state !== 'await-response') throw new AuthFailure('CHAP response out of sequence');
      answers.push(...this.verify(keys));
    }
    return answers;
  }

  private chooseMethod(offer: string): string {
    const offered = offer.split(',');
    if (this.credentials) {
      if (!offered.includes('CHAP')) throw new AuthFailure(`CHAP required, initiator offered ${offer}`);
      this.state = 'await-algorithm';
      return 'CHAP';
    }
    if (!offered.includes('None')) {
      throw new AuthFailure(`no authentication configured, initiator offered only ${offer}`);
    }
    this.state = 'done';
    return 'None';
  }

  private chooseAlgorithm(offer: string): TextPair[] {
    const ids = offer.split(',').map((v) => Number(v));
    const alg = ids.map((id) => CHAP_ALGORITHMS.find((a) => a.id === id)).find((a) => a !== undefined);
    if (!alg) throw new AuthFailure(`no supported CHAP_A in ${offer}`);
    this.algorithm = alg;
    this.identifier = this.random(1)[0]!;
    this.challenge = this.random(Math.max(16, alg.digestLength));
    this.state = 'await-response';
    return [
      { key: 'CHAP_A', value: String(alg.id) },
      { key: 'CHAP_I', value: String(this.identifier) },
      { key: 'CHAP_C', value: encodeHex(this.challenge) },
    ];
  }

  private verify(keys: Map<string, string>): TextPair[] {
    const creds = this.credentials!;
    const alg = this.algorithm!;
    const name = keys.get('CHAP_N');
    const responseText = keys.get('CHAP_R');
    if (name === undefined || responseText === undefined) throw new AuthFailure('CHAP_N or CHAP_R missing');
    const response = decodeBinary(responseText);
    if (!response || response.length !== alg.digestLength)
      throw new AuthFailure('CHAP_R malformed or of the wrong length');
    if (name !== creds.user) throw new AuthFailure(`CHAP_N ${JSON.stringify(name.slice(0, 64))} unknown`);
    const expected = chapResponse(alg, this.identifier, creds.secret, this.challenge);
    if (!timingSafeEqual(expected, response)) throw new AuthFailure('CHAP_R does not match');

    const id = keys.get('CHAP_I');
    const challengeText = keys.get('CHAP_C');
    if (id === undefined && challengeText === undefined) {
      this.state = 'done';
      return [];
    }
    // Mutual CHAP (RFC 7143 12.1.3): the initiator challenges the target in the same PDU.
    if (id === undefined || challengeText === undefined)
      throw new AuthFailure('CHAP_I and CHAP_C must come together');
    if (!creds.mutual) throw new AuthFailure('mutual CHAP requested but no target credentials configured');
    if (!/^[0-9]{1,3}$/.test(id) || Number(id) > 255) throw new AuthFailure('CHAP_I malformed');
    const challenge = decodeBinary(challengeText);
    if (!challenge || challenge.length === 0 || challenge.length > MAX_CHALLENGE_LENGTH) {
      throw new AuthFailure('CHAP_C malformed or oversize');
    }
    // RFC 7143 12.1.3: a challenge equal to ours is a reflection attack.
    if (challenge.equals(this.challenge)) throw new AuthFailure('CHAP_C reflects the target challenge');
    if (creds.mutual.secret === creds.secret)
      throw new AuthFailure('identical CHAP secrets in both directions');
    this.mutual = true;
    this.state = 'done';
    return [
      { key: 'CHAP_N', value: creds.mutual.user },
      { key: 'CHAP_R', value: encodeHex(chapResponse(alg, Number(id), creds.mutual.secret, challenge)) },
    ];
  }
}
