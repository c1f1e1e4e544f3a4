/**
 * The login state machine of one connection (RFC 7143 6.3, 11.12, 11.13): stages, T and C bits,
 * identity checks, the security stage (chap.ts) and operational negotiation (negotiation.ts).
 * It consumes Login Request PDUs and produces Login Responses; binding the login to a session
 * (TSIH, reinstatement) is left to the environment's `admit`.
 */
import type { Pdu } from '../transport/types.js';
import { opcodeOf } from '../pdu/bhs.js';
import { LOGIN_STATUS_NAMES, LoginStatus, Opcode, Stage } from '../pdu/constants.js';
import { decodeLoginRequest, encodeLoginResponse, type LoginRequest } from '../pdu/login.js';
import { TextFormatError, parseTextPairs, serializeTextPairs, type TextPair } from '../pdu/text-pairs.js';
import { Authenticator, type ChapCredentials } from './chap.js';
import { NegotiationError, Negotiator } from './negotiation.js';
import { defaultParams, finalizeParams, type SessionParams, type TargetOffer } from './params.js';

/** What the login needs to know about a configured target. */
export interface LoginTarget {
  readonly name: string;
  readonly alias?: string;
  readonly chap?: ChapCredentials;
  /** IQN access list; absent means every initiator may log in. */
  readonly allowedInitiators?: readonly string[];
}

/** The outcome of a successful login, handed to the environment to bind a session. */
export interface LoginResult {
  readonly params: SessionParams;
  readonly isid: number;
  /** 0 for a new session (leading login), else the session being joined. */
  readonly tsih: number;
  readonly cid: number;
  /** CmdSN of the final Login Request: the session's ExpCmdSN for a leading login. */
  readonly cmdSN: number;
  /** StatSN the connection continues with in full feature phase (set on the final step). */
  readonly statSN: number;
  readonly target: LoginTarget | null;
}

export type Admission =
  | { readonly ok: true; readonly tsih: number; readonly expCmdSN: number; readonly maxCmdSN: number }
  | { readonly ok: false; readonly status: LoginStatus; readonly reason: string };

export interface LoginEnvironment {
  readonly offer: TargetOffer;
  readonly portalGroupTag: number;
  /** Commands the initiator may have outstanding: MaxCmdSN - ExpCmdSN + 1. */
  readonly commandWindow: number;
  findTarget(name: string): LoginTarget | undefined;
  /** CHAP for discovery sessions; null means discovery needs no authentication. */
  readonly discoveryChap: ChapCredentials | null;
  admit(result: LoginResult): Admission;
  readonly random?: (n: number) => Buffer;
}

export type LoginStep =
  | { readonly kind: 'continue'; readonly header: Buffer; readonly data: Buffer }
  | {
      readonly kind: 'complete';
      readonly header: Buffer;
      readonly data: Buffer;
      readonly result: LoginResult;
    }
  | {
      readonly kind: 'failed';
      readonly header: Buffer;
      readonly data: Buffer;
      readonly status: LoginStatus;
      readonly reason: string;
    };

class LoginFailure extends NegotiationError {}

const fail = (status: LoginStatus, reason: string): never => {
  throw new LoginFailure(status, reason);
};

interface Identity {
  isid: number;
  tsih: number;
  cid: number;
}

export class LoginStateMachine {
  /** The current stage; null before the first PDU. */
  private stage: number | null = null;
  private identity: Identity | null = null;
  private statSN = 0;
  private readonly pending: Buffer[] = [];
  private negotiator: Negotiator | null = null;
  private authenticator: Authenticator | null = null;
  private target: LoginTarget | null = null;
  private declaredSegmentLength = false;
  private sentPortalGroupTag = false;
  readonly params: SessionParams;

  constructor(private readonly env: LoginEnvironment) {
    this.params = defaultParams(env.offer);
  }

  /** The initiator name, once the first PDU declared it (for logs). */
  get initiatorName(): string {
    return this.params.initiatorName;
  }

  handle(pdu: Pdu): LoginStep {
    let req: LoginRequest | null = null;
    try {
      // RFC 7143 6.3: only Login Requests until full feature phase.
      if (opcodeOf(pdu.bhs) !== Opcode.LOGIN_REQUEST) {
        fail(LoginStatus.INVALID_DURING_LOGIN, `opcode 0x${opcodeOf(pdu.bhs).toString(16)} during login`);
      }
      req = decodeLoginRequest(pdu.bhs);
      return this.step(req, pdu.data);
    } catch (err) {
      if (!(err instanceof NegotiationError)) throw err;
      return this.failure(req, err.status, err.message);
    }
  }

  private step(req: LoginRequest, data: Buffer | null): LoginStep {
    this.checkHeader(req);
    if (req.continue) {
      // RFC 7143 11.12.2: the text continues in the next PDU; answer with an empty response.
      if (data) this.pending.push(data);
      return {
        kind: 'continue',
        header: this.response(req, false, 0, req.cmdSN, req.cmdSN, LoginStatus.SUCCESS, 0),
        data: Buffer.alloc(0),
      };
    }
    const text = this.pending.length ? Buffer.concat([...this.pending, data ?? Buffer.alloc(0)]) : data;
    this.pending.length = 0;
    let pairs: TextPair[];
    try {
      pairs = parseTextPairs(text);
    } catch (err) {
      if (err instanceof TextFormatError) fail(LoginStatus.INITIATOR_ERROR, err.message);
      throw err;
    }
    if (this.stage === null) this.first(req, pairs);
    const csg = req.csg;
    const authPairs: TextPair[] = [];
    const answers = this.negotiator!.negotiate(
      pairs,
      csg === Stage.SECURITY ? 'security' : 'operational',
      (p) => authPairs.push(p),
    );
    const auth = this.authenticator!;
    const out = [...auth.step(authPairs), ...answers];

    let transit = false;
    if (csg === Stage.SECURITY) {
      if (req.transit && !auth.started) {
        // No AuthMethod offered at all: acceptable only when the target requires none.
        if (this.requiresAuth()) fail(LoginStatus.AUTHENTICATION_FAILURE, 'transit without authentication');
        auth.step([{ key: 'AuthMethod', value: 'None' }]);
      }
      transit = req.transit && auth.authenticated;
    } else {
      transit = req.transit;
    }
    if (!this.sentPortalGroupTag && this.params.sessionType === 'Normal' && this.identity!.tsih === 0) {
      // RFC 7143 13.9: TargetPortalGroupTag in the first Login Response of a leading login.
      out.push({ key: 'TargetPortalGroupTag', value: String(this.env.portalGroupTag) });
      if (this.target?.alias) out.push({ key: 'TargetAlias', value: this.target.alias });
      this.sentPortalGroupTag = true;
    }
    const toFullFeature = transit && req.nsg === Stage.FULL_FEATURE;
    if (!this.declaredSegmentLength && (csg === Stage.OPERATIONAL || toFullFeature)) {
      // RFC 7143 13.12: declare what we receive, or the initiator stays at 8192 bytes.
      out.push({
        key: 'MaxRecvDataSegmentLength',
        value: String(this.params.targetMaxRecvDataSegmentLength),
      });
      this.declaredSegmentLength = true;
    }
    const body = serializeTextPairs(out);
    if (!toFullFeature) {
      if (transit) this.stage = req.nsg;
      return {
        kind: 'continue',
        header: this.response(req, transit, req.nsg, req.cmdSN, req.cmdSN, LoginStatus.SUCCESS, body.length),
        data: body,
      };
    }
    const result: LoginResult = {
      params: finalizeParams(this.params),
      isid: this.identity!.isid,
      tsih: this.identity!.tsih,
      cid: this.identity!.cid,
      cmdSN: req.cmdSN,
      statSN: 0,
      target: this.target,
    };
    const admission = this.env.admit(result);
    if (!admission.ok) return fail(admission.status, admission.reason);
    this.identity!.tsih = admission.tsih;
    const header = this.response(
      req,
      true,
      Stage.FULL_FEATURE,
      admission.expCmdSN,
      admission.maxCmdSN,
      LoginStatus.SUCCESS,
      body.length,
    );
    // Full feature phase continues after the StatSN of this final response.
    return { kind: 'complete', header, data: body, result: { ...result, statSN: (this.statSN + 1) >>> 0 } };
  }

  /** RFC 7143 11.12: version, stage, T/C and identity checks before any key is looked at. */
  private checkHeader(req: LoginRequest): void {
    if (this.identity === null) {
      this.identity = { isid: req.isid, tsih: req.tsih, cid: req.cid };
      this.statSN = (req.expStatSN - 1) >>> 0;
      // RFC 7143 11.12.4: version 0x00 is the only one defined.
      if (req.versionMin > 0) fail(LoginStatus.UNSUPPORTED_VERSION, `Version-min ${req.versionMin}`);
    } else if (
      req.isid !== this.identity.isid ||
      req.tsih !== this.identity.tsih ||
      req.cid !== this.identity.cid
    ) {
      fail(LoginStatus.INVALID_DURING_LOGIN, 'ISID, TSIH or CID changed during login');
    }
    const expected = this.stage ?? req.csg;
    if (req.csg !== expected || (req.csg !== Stage.SECURITY && req.csg !== Stage.OPERATIONAL)) {
      fail(LoginStatus.INVALID_DURING_LOGIN, `CSG ${req.csg} in stage ${this.stage ?? 'start'}`);
    }
    if (req.transit && req.continue) fail(LoginStatus.INVALID_DURING_LOGIN, 'T and C both set');
    if (req.transit && (req.nsg <= req.csg || req.nsg === 2)) {
      fail(LoginStatus.INVALID_DURING_LOGIN, `transit from stage ${req.csg} to ${req.nsg}`);
    }
  }

  /** The first Login Request: names, session type, target lookup and access control. */
  private first(req: LoginRequest, pairs: readonly TextPair[]): void {
    const get = (k: string): string | undefined => pairs.find((p) => p.key === k)?.value;
    const initiatorName = get('InitiatorName');
    if (!initiatorName) fail(LoginStatus.MISSING_PARAMETER, 'InitiatorName missing');
    this.params.initiatorName = initiatorName!;
    const sessionType = get('SessionType') ?? 'Normal';
    if (sessionType !== 'Normal' && sessionType !== 'Discovery') {
      fail(LoginStatus.SESSION_TYPE_NOT_SUPPORTED, `SessionType ${sessionType}`);
    }
    this.params.sessionType = sessionType as 'Normal' | 'Discovery';
    if (sessionType === 'Normal') {
      const targetName = get('TargetName');
      if (!targetName) fail(LoginStatus.MISSING_PARAMETER, 'TargetName missing');
      const target = this.env.findTarget(targetName!);
      if (!target) fail(LoginStatus.NOT_FOUND, `target ${targetName} not found`);
      if (target!.allowedInitiators && !target!.allowedInitiators.includes(initiatorName!)) {
        fail(LoginStatus.AUTHORIZATION_FAILURE, `initiator ${initiatorName} not allowed on ${targetName}`);
      }
      this.target = target!;
    }
    if (req.csg === Stage.OPERATIONAL && this.requiresAuth()) {
      fail(LoginStatus.AUTHENTICATION_FAILURE, 'security stage skipped but authentication is required');
    }
    this.stage = req.csg;
    const credentials = sessionType === 'Discovery' ? this.env.discoveryChap : (this.target?.chap ?? null);
    this.authenticator = new Authenticator(credentials, this.env.random);
    this.negotiator = new Negotiator({ offer: this.env.offer, params: this.params }, req.tsih === 0);
  }

  private requiresAuth(): boolean {
    return this.params.sessionType === 'Discovery'
      ? this.env.discoveryChap !== null
      : this.target?.chap !== undefined;
  }

  private response(
    req: LoginRequest,
    transit: boolean,
    nsg: number,
    expCmdSN: number,
    maxCmdSN: number,
    status: number,
    dataLength: number,
  ): Buffer {
    this.statSN = (this.statSN + 1) >>> 0;
    return encodeLoginResponse(
      {
        transit,
        continue: false,
        csg: req.csg,
        nsg: transit ? nsg : 0,
        versionMax: 0,
        versionActive: 0,
        isid: req.isid,
        tsih: this.identity?.tsih ?? req.tsih,
        itt: req.itt,
        statSN: this.statSN,
        expCmdSN,
        maxCmdSN,
        status,
      },
      dataLength,
    );
  }

  private failure(req: LoginRequest | null, status: LoginStatus, reason: string): LoginStep {
    const r: LoginRequest = req ?? {
      transit: false,
      continue: false,
      csg: 0,
      nsg: 0,
      versionMax: 0,
      versionMin: 0,
      isid: 0,
      tsih: 0,
      itt: 0,
      cid: 0,
      cmdSN: 0,
      expStatSN: 0,
      dataLength: 0,
    };
    const header = this.response({ ...r, csg: r.csg & 1 }, false, 0, r.cmdSN, r.cmdSN, status, 0);
    return {
      kind: 'failed',
      header,
      data: Buffer.alloc(0),
      status,
      reason: `${LOGIN_STATUS_NAMES[status] ?? status}: ${reason}`,
    };
  }
}
