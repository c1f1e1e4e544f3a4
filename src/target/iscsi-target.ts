/**
 * The iSCSI target (RFC 7143, ErrorRecoveryLevel 0): listens on portals through a Transport,
 * runs logins, keeps the session registry (TSIH, reinstatement), the I_T nexuses and the task
 * set of every logical unit. It knows nothing of tapes: devices are LogicalUnits.
 */
import { VtlError } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { LogicalUnit, TargetContext } from './scsi/types.js';
import { UnsupportedLun } from './scsi/unsupported-lun.js';
import type { Connection, Listener, Portal, Transport } from './transport/types.js';
import { LoginStatus } from './pdu/constants.js';
import type { TextPair } from './pdu/text-pairs.js';
import type { ChapCredentials } from './login/chap.js';
import type { Admission, LoginEnvironment, LoginResult } from './login/login.js';
import {
  DEFAULT_TARGET_OFFER,
  MAX_SEGMENT_LENGTH,
  MIN_SEGMENT_LENGTH,
  type TargetOffer,
} from './login/params.js';
import { IscsiConnection, type ConnectionOwner, type ConnectionTimers } from './session/connection.js';
import { LuQueue } from './session/lu-queue.js';
import { buildNexus, isidHex } from './session/nexus.js';
import { Session } from './session/session.js';
import type { SessionHost, SessionLimits, TargetConfig } from './session/types.js';

export type { TargetConfig } from './session/types.js';

export interface IscsiTargetOptions {
  readonly targets: readonly TargetConfig[];
  readonly transport: Transport;
  /** Default: 127.0.0.1:3260. */
  readonly portals?: readonly Portal[];
  /** Target portal group tag of all portals (RFC 7143 13.9). Default 1. */
  readonly portalGroupTag?: number;
  /** Our MaxRecvDataSegmentLength, 512 to 16 MiB-1. Default 262144. */
  readonly maxRecvDataSegmentLength?: number;
  readonly maxBurstLength?: number;
  readonly firstBurstLength?: number;
  /** 1 to 65535; default 4. */
  readonly maxOutstandingR2T?: number;
  /** Default false: unsolicited Data-Out allowed. */
  readonly initialR2T?: boolean;
  /** Default true. */
  readonly immediateData?: boolean;
  /** Commands an initiator may have outstanding per session (MaxCmdSN window). Default 32. */
  readonly commandWindow?: number;
  /** Largest write accepted per command (Expected Data Transfer Length). Default 16 MiB. */
  readonly maxTransferLength?: number;
  /** Idle time before a NOP-In ping, ms (0 = never). Default 5000. */
  readonly nopInterval?: number;
  /** How long a ping may stay unanswered before the connection is dropped, ms. Default 10000. */
  readonly nopTimeout?: number;
  /**
   * TCP connections served at once, logins in progress included (memory per connection is
   * bounded, so this bounds the whole). Further connections are closed at once. Default 64.
   */
  readonly maxConnections?: number;
  /** Time allowed for a login, ms. Default 15000. */
  readonly loginTimeout?: number;
  /** CHAP for discovery sessions; default none. */
  readonly discoveryChap?: ChapCredentials;
  readonly logger?: Logger;
}

const NAME_PATTERN =
  /^(iqn\.\d{4}-\d{2}\.[^\s,]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16}([0-9A-Fa-f]{16})?)$/;

function configError(message: string): VtlError {
  return new VtlError('ERR_CONFIG', message);
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw configError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

function checkChap(where: string, chap: ChapCredentials | undefined): void {
  if (!chap) return;
  if (!chap.user || !chap.secret) throw configError(`${where}.chap needs user and secret`);
  // RFC 7143 12.1.3: the same secret must not serve both directions.
  if (chap.mutual && chap.mutual.secret === chap.secret)
    throw configError(`${where}.chap.mutual.secret equals chap.secret`);
}

export class IscsiTarget {
  private readonly logger: Logger;
  private readonly targets = new Map<string, TargetConfig>();
  private readonly offer: TargetOffer;
  private readonly limits: SessionLimits;
  private readonly timers: ConnectionTimers;
  private readonly portalGroupTag: number;
  private readonly listeners: Listener[] = [];
  private readonly connections = new Set<IscsiConnection>();
  private readonly sessions = new Map<number, Session>();
  private readonly queues = new Map<LogicalUnit, LuQueue>();
  private readonly contexts = new Map<string, TargetContext>();
  private readonly unsupportedLun = new UnsupportedLun();
  private nextTsih = 1;
  private readonly host: SessionHost;
  private readonly owner: ConnectionOwner;
  private started = false;

  constructor(private readonly options: IscsiTargetOptions) {
    this.logger = (options.logger ?? silentLogger).child({ component: 'iscsi' });
    for (const [i, t] of options.targets.entries()) {
      if (!NAME_PATTERN.test(t.name))
        throw configError(`targets[${i}].name ${JSON.stringify(t.name)} is not an iqn., eui. or naa. name`);
      if (this.targets.has(t.name)) throw configError(`targets[${i}].name ${t.name} is configured twice`);
      for (const lun of t.luns.keys()) checkRange(`targets[${i}].luns key`, lun, 0, 16383);
      checkChap(`targets[${i}]`, t.chap);
      this.targets.set(t.name, t);
    }
    checkChap('discovery', options.discoveryChap);
    const segment = (name: keyof IscsiTargetOptions, fallback: number): number =>
      checkRange(
        name,
        (options[name] as number | undefined) ?? fallback,
        MIN_SEGMENT_LENGTH,
        MAX_SEGMENT_LENGTH,
      );
    const maxBurstLength = segment('maxBurstLength', DEFAULT_TARGET_OFFER.maxBurstLength);
    const firstBurstLength = segment('firstBurstLength', DEFAULT_TARGET_OFFER.firstBurstLength);
    if (firstBurstLength > maxBurstLength)
      throw configError(`firstBurstLength ${firstBurstLength} exceeds maxBurstLength ${maxBurstLength}`);
    this.offer = {
      ...DEFAULT_TARGET_OFFER,
      maxRecvDataSegmentLength: segment(
        'maxRecvDataSegmentLength',
        DEFAULT_TARGET_OFFER.maxRecvDataSegmentLength,
      ),
      maxBurstLength,
      firstBurstLength,
      maxOutstandingR2T: checkRange(
        'maxOutstandingR2T',
        options.maxOutstandingR2T ?? DEFAULT_TARGET_OFFER.maxOutstandingR2T,
        1,
        65535,
      ),
      initialR2T: options.initialR2T ?? DEFAULT_TARGET_OFFER.initialR2T,
      immediateData: options.immediateData ?? DEFAULT_TARGET_OFFER.immediateData,
    };
    this.limits = {
      commandWindow: checkRange('commandWindow', options.commandWindow ?? 32, 1, 65536),
      maxTransferLength: checkRange(
        'maxTransferLength',
        options.maxTransferLength ?? 16 * 1024 * 1024,
        512,
        0xffffffff,
      ),
    };
    this.timers = {
      nopInterval: checkRange('nopInterval', options.nopInterval ?? 5000, 0, 3_600_000),
      nopTimeout: checkRange('nopTimeout', options.nopTimeout ?? 10000, 1, 3_600_000),
      loginTimeout: checkRange('loginTimeout', options.loginTimeout ?? 15000, 1, 3_600_000),
    };
    checkRange('maxConnections', options.maxConnections ?? 64, 1, 65535);
    this.portalGroupTag = checkRange('portalGroupTag', options.portalGroupTag ?? 1, 0, 65535);
    this.host = this.sessionHost();
    this.owner = {
      logger: this.logger,
      timers: this.timers,
      loginEnvironment: (conn) => this.loginEnvironment(conn),
      connectionClosed: (conn) => this.connections.delete(conn),
    };
  }

  /** The bound portals (real ports when 0 was asked for). */
  get portals(): Portal[] {
    return this.listeners.map((l) => ({ host: l.host, port: l.port }));
  }

  /** Open sessions, for inspection. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  async start(): Promise<void> {
    if (this.started) throw new VtlError('ERR_STATE', 'target already started');
    this.started = true;
    for (const portal of this.options.portals ?? [{ host: '127.0.0.1', port: 3260 }]) {
      const listener = await this.options.transport.listen(portal, (conn) => this.accept(conn));
      this.listeners.push(listener);
      this.logger.info('listening', {
        host: listener.host,
        port: listener.port,
        transport: this.options.transport.name,
      });
    }
  }

  /**
   * Stops listening, asks every initiator in full feature phase to log out (Async Message,
   * RFC 7143 11.9.1 event 1), waits up to `logoutWaitMs` for them, then ends the remaining
   * sessions and waits (at most `graceMs`) for the connections to close.
   */
  async stop(options: { logoutWaitMs?: number; graceMs?: number } = {}): Promise<void> {
    const logoutWaitMs = options.logoutWaitMs ?? 1000;
    await Promise.all(this.listeners.splice(0).map((l) => l.close()));
    if (logoutWaitMs > 0 && this.sessions.size > 0) {
      for (const session of this.sessions.values()) session.requestLogout(Math.ceil(logoutWaitMs / 1000));
      await this.waitUntil(() => this.sessions.size === 0, logoutWaitMs);
    }
    for (const session of [...this.sessions.values()]) session.close('target stopped');
    for (const conn of [...this.connections]) conn.end();
    await this.waitUntil(() => this.connections.size === 0, options.graceMs ?? 2000);
    for (const conn of this.connections) conn.destroy();
    this.connections.clear();
  }

  private async waitUntil(done: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  private accept(transport: Connection): void {
    const max = this.options.maxConnections ?? 64;
    if (this.connections.size >= max) {
      this.logger.warn('connection refused: too many connections', {
        remote: `${transport.remoteAddress}:${transport.remotePort}`,
        maxConnections: max,
      });
      transport.setHandler({ onPdus() {}, onError() {}, onClose() {}, onDrain() {} });
      transport.destroy();
      return;
    }
    this.connections.add(new IscsiConnection(transport, this.owner));
  }

  private loginEnvironment(conn: IscsiConnection): LoginEnvironment {
    return {
      offer: this.offer,
      portalGroupTag: this.portalGroupTag,
      commandWindow: this.limits.commandWindow,
      discoveryChap: this.options.discoveryChap ?? null,
      findTarget: (name) => this.targets.get(name),
      admit: (result) => this.admit(conn, result),
    };
  }

  /** Binds a finished login to a session: new, reinstated (same ISID), or rejoined (TSIH). */
  private admit(conn: IscsiConnection, result: LoginResult): Admission {
    const p = result.params;
    if (result.tsih !== 0) {
      const session = this.sessions.get(result.tsih);
      if (!session || session.isid !== result.isid || session.initiatorName !== p.initiatorName) {
        return {
          ok: false,
          status: LoginStatus.SESSION_DOES_NOT_EXIST,
          reason: `no session with TSIH ${result.tsih}`,
        };
      }
      const old = session.conn as IscsiConnection;
      if (old.cid !== result.cid && !old.closed) {
        return { ok: false, status: LoginStatus.TOO_MANY_CONNECTIONS, reason: 'MaxConnections=1' };
      }
      // Connection reinstatement (RFC 7143 6.3.4): at ERL 0 the old connection's tasks end.
      this.logger.info('connection reinstatement', { tsih: session.tsih, initiator: p.initiatorName });
      for (const task of [...session.tasks.values()]) void session.abortTask(task, false);
      session.conn = conn;
      conn.attach(session);
      old.destroy();
      return { ok: true, tsih: session.tsih, expCmdSN: session.expCmdSN, maxCmdSN: session.maxCmdSN };
    }
    const target = result.target;
    if (target) {
      // RFC 7143 6.3.5: a leading login with the ISID of a live session reinstates it.
      for (const old of this.sessions.values()) {
        if (old.target === target && old.isid === result.isid && old.initiatorName === p.initiatorName) {
          this.logger.info('session reinstatement', {
            tsih: old.tsih,
            initiator: p.initiatorName,
            isid: isidHex(old.isid),
          });
          old.close('reinstated');
          (old.conn as IscsiConnection).destroy();
        }
      }
    }
    const tsih = this.allocateTsih();
    if (tsih === 0) return { ok: false, status: LoginStatus.OUT_OF_RESOURCES, reason: 'no TSIH left' };
    const nexus = target ? buildNexus(p.initiatorName, result.isid, target.name, this.portalGroupTag) : null;
    const session = new Session(
      this.host,
      conn,
      tsih,
      result.isid,
      p,
      target as TargetConfig | null,
      nexus,
      result.cmdSN,
    );
    this.sessions.set(tsih, session);
    if (nexus && target) for (const lu of (target as TargetConfig).luns.values()) lu.nexusAdded(nexus);
    conn.attach(session);
    return { ok: true, tsih, expCmdSN: session.expCmdSN, maxCmdSN: session.maxCmdSN };
  }

  private allocateTsih(): number {
    for (let i = 0; i < 0xffff; i++) {
      const tsih = this.nextTsih;
      this.nextTsih = this.nextTsih === 0xffff ? 1 : this.nextTsih + 1;
      if (!this.sessions.has(tsih)) return tsih;
    }
    return 0;
  }

  private visibleTargets(initiatorName: string): TargetConfig[] {
    return [...this.targets.values()].filter(
      (t) => !t.allowedInitiators || t.allowedInitiators.includes(initiatorName),
    );
  }

  /** RFC 7143 Appendix C: TargetName then its TargetAddress lines. */
  private sendTargets(session: Session, value: string, localAddress: string): TextPair[] {
    const visible = this.visibleTargets(session.initiatorName);
    let chosen: TargetConfig[];
    if (value === 'All') chosen = visible;
    else if (value === '') chosen = session.target ? [session.target] : [];
    else chosen = visible.filter((t) => t.name === value);
    const out: TextPair[] = [];
    for (const t of chosen) {
      out.push({ key: 'TargetName', value: t.name });
      for (const l of this.listeners) {
        const host = l.host === '0.0.0.0' || l.host === '::' ? localAddress : l.host;
        const address = host.includes(':') ? `[${host}]` : host;
        out.push({ key: 'TargetAddress', value: `${address}:${l.port},${this.portalGroupTag}` });
      }
    }
    return out;
  }

  private sessionHost(): SessionHost {
    return {
      logger: this.logger,
      limits: this.limits,
      unsupportedLun: this.unsupportedLun,
      queueFor: (lu) => {
        let q = this.queues.get(lu);
        if (!q) this.queues.set(lu, (q = new LuQueue()));
        return q;
      },
      targetContext: (target) => {
        let ctx = this.contexts.get(target.name);
        if (!ctx) {
          const tpgt = this.portalGroupTag;
          ctx = {
            name: target.name,
            portalGroupTag: tpgt,
            luns: () => [...target.luns.keys()].sort((a, b) => a - b),
          };
          this.contexts.set(target.name, ctx);
        }
        return ctx;
      },
      sessionsOf: (name) => [...this.sessions.values()].filter((s) => s.target?.name === name),
      sendTargets: (session, value, localAddress) => this.sendTargets(session, value, localAddress),
      sessionClosed: (session, reason) => {
        if (this.sessions.get(session.tsih) === session) this.sessions.delete(session.tsih);
        if (session.nexus && session.target)
          for (const lu of session.target.luns.values()) lu.nexusRemoved(session.nexus);
        this.logger.info('session closed', { tsih: session.tsih, initiator: session.initiatorName, reason });
      },
      coldReset: (name) => {
        for (const s of this.host.sessionsOf(name)) {
          s.close('target cold reset');
          s.conn.end();
        }
      },
    };
  }
}
