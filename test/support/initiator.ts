/**
 * A small iSCSI initiator over node:net for tests: login (security stage with None or CHAP,
 * one-way or mutual, operational negotiation), CRC32C digests, SCSI commands with immediate,
 * unsolicited and solicited Data-Out, Data-In reassembly, Text/SendTargets, NOP both ways, task
 * management and logout. It also exposes raw PDU sending for malformed-input tests.
 *
 *   const s = await Initiator.connect({ host, port, targetName, initiatorName });
 *   const r = await s.command(1, cdb, { dataOut, expectedLength });
 *   r.status; r.data; r.sense;
 */
import net from 'node:net';
import { crc32c } from '../../src/target/transport/crc32c.js';
import { login } from './initiator-login.js';
import {
  LoginError,
  PduReader,
  RejectedError,
  u32,
  type CommandOptions,
  type CommandResult,
  type InitiatorOptions,
  type RawPdu,
} from './initiator-types.js';
import { ittOf, opcodeOf, padLength, serial } from '../../src/target/pdu/bhs.js';
import { Opcode, RESERVED_TAG } from '../../src/target/pdu/constants.js';
import {
  decodeAsyncMessage,
  decodeLogoutResponse,
  decodeNopIn,
  decodeReject,
  decodeTmfResponse,
  encodeLogoutRequest,
  encodeNopOut,
  encodeTmfRequest,
} from '../../src/target/pdu/control.js';
import { decodeDataIn, decodeR2T, encodeDataOut, type R2T } from '../../src/target/pdu/data.js';
import {
  decodeLoginResponse,
  decodeTextResponse,
  encodeLoginRequest,
  encodeTextRequest,
} from '../../src/target/pdu/login.js';
import { decodeScsiResponse, decodeSenseSegment, encodeScsiCommand } from '../../src/target/pdu/scsi.js';
import { parseTextPairs, serializeTextPairs, type TextPair } from '../../src/target/pdu/text-pairs.js';

interface PendingCommand {
  readonly lun: number;
  readonly dataOut: Buffer | null;
  readonly buffer: Buffer;
  received: number;
  dataInPdus: number;
  readonly r2ts: R2T[];
  resolve(r: CommandResult): void;
  reject(e: Error): void;
}

interface Waiter {
  resolve(p: RawPdu): void;
  reject(e: Error): void;
}

export * from './initiator-types.js';

export class Initiator {
  private readonly socket: net.Socket;
  private readonly reader = new PduReader();
  private itt = 0x1000;
  cmdSN = 1;
  expStatSN = 0;
  maxCmdSN = 1;
  tsih = 0;
  readonly isid: number;
  /** Answers of the target during login, last value per key. */
  readonly negotiated = new Map<string, string>();
  /** Every PDU received, in order (for assertions). */
  readonly received: RawPdu[] = [];
  readonly rejects: { reason: number; header: Buffer }[] = [];
  readonly asyncMessages: ReturnType<typeof decodeAsyncMessage>[] = [];
  pingsAnswered = 0;
  private readonly commands = new Map<number, PendingCommand>();
  private readonly waiters = new Map<number, Waiter>();
  private loginWaiter: Waiter | null = null;
  private windowWaiters: (() => void)[] = [];
  readonly closed: Promise<void>;
  private isClosed = false;
  targetMaxRecv = 8192;
  firstBurstLength = 65536;
  maxBurstLength = 262144;
  immediateData = true;
  initialR2T = true;

  private constructor(
    socket: net.Socket,
    readonly options: InitiatorOptions,
  ) {
    this.socket = socket;
    this.cmdSN = options.cmdSN ?? 1;
    this.isid = options.isid ?? 0x23d000000000 + Math.floor(Math.random() * 0xffff);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        const err = new Error('connection closed');
        for (const c of this.commands.values()) c.reject(err);
        for (const w of this.waiters.values()) w.reject(err);
        this.loginWaiter?.reject(err);
        this.commands.clear();
        this.waiters.clear();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
  }

  static async connect(options: InitiatorOptions): Promise<Initiator> {
    const socket = await Initiator.open(options.host, options.port);
    const s = new Initiator(socket, options);
    try {
      await login(s);
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  /** A TCP connection with no login, for raw tests. */
  static async raw(options: InitiatorOptions): Promise<Initiator> {
    return new Initiator(await Initiator.open(options.host, options.port), options);
  }

  private static open(host: string, port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => resolve(socket));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  nextItt(): number {
    return this.itt++;
  }

  // ------------------------------------------------------------------------------------------
  // Login

  /** Digests apply to every PDU after the final Login Response. */
  enableDigests(header: boolean, data: boolean): void {
    this.reader.headerDigest = header;
    this.reader.dataDigest = data;
  }

  /** One Login Request/Response round trip; throws LoginError on a non-zero status. */
  async loginStep(itt: number, csg: number, nsg: number, transit: boolean, pairs: readonly TextPair[]) {
    const data = serializeTextPairs(pairs);
    const header = encodeLoginRequest(
      {
        transit,
        continue: false,
        csg,
        nsg,
        versionMax: 0,
        versionMin: 0,
        isid: this.isid,
        tsih: this.options.tsih ?? 0,
        itt,
        cid: this.options.cid ?? 0,
        cmdSN: this.cmdSN,
        expStatSN: this.expStatSN,
      },
      data.length,
    );
    const pdu = await new Promise<RawPdu>((resolve, reject) => {
      this.loginWaiter = { resolve, reject };
      this.sendRaw(header, data);
    });
    const res = decodeLoginResponse(pdu.bhs);
    const answers = parseTextPairs(pdu.data);
    for (const p of answers) this.negotiated.set(p.key, p.value);
    if (res.status !== 0) throw new LoginError(res.status, answers);
    this.expStatSN = (res.statSN + 1) >>> 0;
    this.maxCmdSN = res.maxCmdSN;
    if (res.transit && res.nsg === 3) this.tsih = res.tsih;
    return { response: res, pairs: answers, transit: res.transit };
  }

  // ------------------------------------------------------------------------------------------
  // Framing

  /** Sends one PDU; header digests and data digests as negotiated (one gathered write). */
  sendRaw(header: Buffer, data?: Buffer | null, options: { corruptDataDigest?: boolean } = {}): void {
    const socket = this.socket;
    socket.cork();
    socket.write(header);
    if (this.headerDigest) socket.write(u32(crc32c(header)));
    if (data && data.length > 0) {
      socket.write(data);
      const pad = padLength(data.length);
      if (pad) socket.write(Buffer.alloc(pad));
      if (this.dataDigest) {
        const crc = crc32c(Buffer.alloc(pad), crc32c(data));
        socket.write(u32(options.corruptDataDigest ? crc ^ 1 : crc));
      }
    }
    socket.uncork();
  }

  private onData(chunk: Buffer): void {
    for (const pdu of this.reader.push(chunk)) {
      this.received.push(pdu);
      this.onPdu(pdu);
    }
  }

  private get headerDigest(): boolean {
    return this.reader.headerDigest;
  }

  private get dataDigest(): boolean {
    return this.reader.dataDigest;
  }

  private updateWindow(statSN: number | null, expCmdSN: number, maxCmdSN: number): void {
    if (statSN !== null && serial.le(this.expStatSN, statSN)) this.expStatSN = (statSN + 1) >>> 0;
    if (serial.gt(maxCmdSN, this.maxCmdSN) || serial.le(expCmdSN, (maxCmdSN + 1) >>> 0)) {
      if (serial.gt(maxCmdSN, this.maxCmdSN)) this.maxCmdSN = maxCmdSN;
    }
    const waiting = this.windowWaiters;
    this.windowWaiters = [];
    for (const w of waiting) w();
  }

  private onPdu(pdu: RawPdu): void {
    const op = opcodeOf(pdu.bhs);
    const itt = ittOf(pdu.bhs);
    switch (op) {
      case Opcode.LOGIN_RESPONSE: {
        const w = this.loginWaiter;
        this.loginWaiter = null;
        w?.resolve(pdu);
        return;
      }
      case Opcode.DATA_IN: {
        const h = decodeDataIn(pdu.bhs);
        this.updateWindow(h.hasStatus ? h.statSN : null, h.expCmdSN, h.maxCmdSN);
        const c = this.commands.get(itt);
        if (!c) break;
        if (pdu.data) pdu.data.copy(c.buffer, h.bufferOffset);
        c.received = Math.max(c.received, h.bufferOffset + (pdu.data?.length ?? 0));
        c.dataInPdus++;
        if (h.hasStatus) {
          this.commands.delete(itt);
          c.resolve({
            status: h.status,
            data: c.buffer.subarray(0, c.received),
            sense: null,
            overflow: h.overflow,
            underflow: h.underflow,
            residual: h.residualCount,
            dataInPdus: c.dataInPdus,
            r2ts: c.r2ts,
            collapsed: true,
          });
        }
        return;
      }
      case Opcode.SCSI_RESPONSE: {
        const h = decodeScsiResponse(pdu.bhs);
        this.updateWindow(h.statSN, h.expCmdSN, h.maxCmdSN);
        const c = this.commands.get(itt);
        if (!c) break;
        this.commands.delete(itt);
        c.resolve({
          status: h.status,
          data: c.buffer.subarray(0, c.received),
          sense: decodeSenseSegment(pdu.data),
          overflow: h.overflow,
          underflow: h.underflow,
          residual: h.residualCount,
          dataInPdus: c.dataInPdus,
          r2ts: c.r2ts,
          collapsed: false,
        });
        return;
      }
      case Opcode.R2T: {
        const h = decodeR2T(pdu.bhs);
        this.updateWindow(null, h.expCmdSN, h.maxCmdSN);
        const c = this.commands.get(itt);
        if (!c) break;
        c.r2ts.push(h);
        this.sendData(itt, c.lun, c.dataOut!, h.bufferOffset, h.desiredLength, h.ttt);
        return;
      }
      case Opcode.NOP_IN: {
        const h = decodeNopIn(pdu.bhs);
        this.updateWindow(itt === RESERVED_TAG ? null : h.statSN, h.expCmdSN, h.maxCmdSN);
        if (itt === RESERVED_TAG) {
          if (h.ttt !== RESERVED_TAG && this.options.answerPings !== false) {
            this.pingsAnswered++;
            this.sendRaw(
              encodeNopOut(
                {
                  immediate: true,
                  lun: h.lun,
                  itt: RESERVED_TAG,
                  ttt: h.ttt,
                  cmdSN: this.cmdSN,
                  expStatSN: this.expStatSN,
                },
                0,
              ),
            );
          }
          return;
        }
        break;
      }
      case Opcode.REJECT: {
        const h = decodeReject(pdu.bhs);
        this.updateWindow(h.statSN, h.expCmdSN, h.maxCmdSN);
        const header = pdu.data ?? Buffer.alloc(48);
        this.rejects.push({ reason: h.reason, header });
        const rejectedItt = header.length >= 20 ? header.readUInt32BE(16) : RESERVED_TAG;
        const rejectedOp = header[0] & 0x3f;
        if (rejectedOp !== Opcode.DATA_OUT) {
          const err = new RejectedError(h.reason);
          this.commands.get(rejectedItt)?.reject(err);
          this.commands.delete(rejectedItt);
          const w = this.waiters.get(rejectedItt);
          this.waiters.delete(rejectedItt);
          w?.reject(err);
        }
        return;
      }
      case Opcode.ASYNC_MESSAGE: {
        const h = decodeAsyncMessage(pdu.bhs);
        this.asyncMessages.push(h);
        this.updateWindow(h.statSN, h.expCmdSN, h.maxCmdSN);
        // RFC 7143 11.9.1 event 1: the target asks for a logout.
        if (h.event === 1 && this.options.answerLogoutRequests !== false)
          void this.logout().catch(() => undefined);
        return;
      }
      default: {
        // Text, TMF and Logout responses share the StatSN/ExpCmdSN/MaxCmdSN offsets 24/28/32.
        this.updateWindow(pdu.bhs.readUInt32BE(24), pdu.bhs.readUInt32BE(28), pdu.bhs.readUInt32BE(32));
      }
    }
    const w = this.waiters.get(itt);
    if (w) {
      this.waiters.delete(itt);
      w.resolve(pdu);
    }
  }

  /** Resolves with the next PDU answering `itt`. */
  waitFor(itt: number): Promise<RawPdu> {
    return new Promise((resolve, reject) => this.waiters.set(itt, { resolve, reject }));
  }

  private async windowOpen(): Promise<void> {
    while (serial.gt(this.cmdSN, this.maxCmdSN)) await new Promise<void>((r) => this.windowWaiters.push(r));
  }

  private takeCmdSN(immediate: boolean): number {
    const sn = this.cmdSN;
    if (!immediate) this.cmdSN = (this.cmdSN + 1) >>> 0;
    return sn;
  }

  // ------------------------------------------------------------------------------------------
  // Full feature phase

  /** ITT of the last command sent (task management tests). */
  lastItt = 0;

  async command(lun: number, cdb: Buffer, options: CommandOptions = {}): Promise<CommandResult> {
    const dataOut = options.dataOut ?? null;
    const expectedLength = dataOut ? dataOut.length : (options.expectedLength ?? 0);
    const read = options.read ?? (!dataOut && expectedLength > 0);
    const immediate = options.immediate ?? false;
    if (options.cmdSN === undefined && !immediate) await this.windowOpen();
    const itt = this.nextItt();
    this.lastItt = itt;
    const cmdSN = options.cmdSN ?? this.takeCmdSN(immediate);
    let immediateData: Buffer | null = null;
    let unsolicitedEnd = 0;
    if (dataOut) {
      const firstBurst = Math.min(this.firstBurstLength, dataOut.length);
      if (this.immediateData && options.useImmediateData !== false) {
        immediateData = dataOut.subarray(0, Math.min(firstBurst, this.targetMaxRecv));
      }
      unsolicitedEnd = this.initialR2T ? (immediateData?.length ?? 0) : firstBurst;
    }
    const immediateLength = immediateData?.length ?? 0;
    const final = !dataOut || this.initialR2T || unsolicitedEnd === immediateLength;
    const result = new Promise<CommandResult>((resolve, reject) => {
      this.commands.set(itt, {
        lun,
        dataOut,
        buffer: Buffer.allocUnsafe(read ? expectedLength : 0),
        received: 0,
        dataInPdus: 0,
        r2ts: [],
        resolve,
        reject,
      });
    });
    const header = encodeScsiCommand(
      {
        immediate,
        final,
        read,
        write: !!dataOut,
        attribute: options.attribute ?? 1,
        lun,
        itt,
        expectedLength,
        cmdSN,
        expStatSN: this.expStatSN,
        cdb,
      },
      immediateLength,
    );
    this.sendRaw(header, immediateData);
    if (dataOut && unsolicitedEnd > immediateLength) {
      this.sendData(itt, lun, dataOut, immediateLength, unsolicitedEnd - immediateLength, RESERVED_TAG);
    }
    return result;
  }

  /** Sends Data-Out PDUs for [offset, offset+length) in target-sized segments, F on the last. */
  sendData(itt: number, lun: number, data: Buffer, offset: number, length: number, ttt: number): void {
    let dataSN = 0;
    const lunField = Buffer.alloc(8);
    lunField[1] = lun;
    for (let at = offset; at < offset + length;) {
      const n = Math.min(this.targetMaxRecv, offset + length - at);
      const final = at + n === offset + length;
      this.sendRaw(
        encodeDataOut(
          { final, lun: lunField, itt, ttt, expStatSN: this.expStatSN, dataSN: dataSN++, bufferOffset: at },
          n,
        ),
        data.subarray(at, at + n),
      );
      at += n;
    }
  }

  /** Text request (with C-bit continuation of the answer). */
  async text(pairs: readonly TextPair[]): Promise<TextPair[]> {
    const itt = this.nextItt();
    let ttt = RESERVED_TAG;
    let data: Buffer | null = serializeTextPairs(pairs);
    const parts: Buffer[] = [];
    for (;;) {
      const wait = this.waitFor(itt);
      // Every non-immediate Text Request takes the next CmdSN, continuations included.
      await this.windowOpen();
      const cmdSN = this.takeCmdSN(false);
      this.sendRaw(
        encodeTextRequest(
          {
            immediate: false,
            final: true,
            continue: false,
            lun: Buffer.alloc(8),
            itt,
            ttt,
            cmdSN,
            expStatSN: this.expStatSN,
          },
          data?.length ?? 0,
        ),
        data,
      );
      const pdu = await wait;
      const h = decodeTextResponse(pdu.bhs);
      if (pdu.data) parts.push(pdu.data);
      if (h.final) break;
      ttt = h.ttt;
      data = null;
    }
    return parseTextPairs(Buffer.concat(parts));
  }

  sendTargets(value = 'All'): Promise<TextPair[]> {
    return this.text([{ key: 'SendTargets', value }]);
  }

  /** NOP-Out ping; resolves with the echoed data. */
  async nop(data?: Buffer): Promise<Buffer> {
    const itt = this.nextItt();
    const wait = this.waitFor(itt);
    this.sendRaw(
      encodeNopOut(
        { immediate: true, lun: 0, itt, ttt: RESERVED_TAG, cmdSN: this.cmdSN, expStatSN: this.expStatSN },
        data?.length ?? 0,
      ),
      data,
    );
    const pdu = await wait;
    return pdu.data ?? Buffer.alloc(0);
  }

  async tmf(
    fn: number,
    options: { lun?: number; referencedTaskTag?: number; refCmdSN?: number; immediate?: boolean } = {},
  ): Promise<number> {
    const itt = this.nextItt();
    const immediate = options.immediate ?? true;
    const wait = this.waitFor(itt);
    this.sendRaw(
      encodeTmfRequest({
        immediate,
        function: fn,
        lun: options.lun ?? 0,
        itt,
        referencedTaskTag: options.referencedTaskTag ?? RESERVED_TAG,
        cmdSN: this.takeCmdSN(immediate),
        expStatSN: this.expStatSN,
        refCmdSN: options.refCmdSN ?? 0,
        expDataSN: 0,
      }),
    );
    return decodeTmfResponse((await wait).bhs).response;
  }

  /** Logout; resolves with the response code once the target closed the connection. */
  async logout(reason = 0): Promise<number> {
    const itt = this.nextItt();
    const wait = this.waitFor(itt);
    this.sendRaw(
      encodeLogoutRequest({
        immediate: true,
        reason,
        itt,
        cid: this.options.cid ?? 0,
        cmdSN: this.cmdSN,
        expStatSN: this.expStatSN,
      }),
    );
    const response = decodeLogoutResponse((await wait).bhs).response;
    if (response === 0) await this.closed;
    return response;
  }

  close(): void {
    this.socket.destroy();
  }
}
