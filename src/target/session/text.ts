/**
 * Text requests in full feature phase (RFC 7143 11.10, 11.11, Appendix C): SendTargets, with
 * C-bit continuation both ways (a long request reassembled, a long answer split at the
 * initiator's MaxRecvDataSegmentLength and fetched with the Target Transfer Tag).
 */
import type { Pdu } from '../transport/types.js';
import { RESERVED_TAG, RejectReason } from '../pdu/constants.js';
import { decodeTextRequest, encodeTextResponse, type TextRequest } from '../pdu/login.js';
import { TextFormatError, parseTextPairs, serializeTextPairs, type TextPair } from '../pdu/text-pairs.js';
import { Answer, KEY_TABLE } from '../login/keys.js';
import type { Session } from './session.js';

/** One Text exchange in progress: either still receiving the request or sending the answer. */
export interface TextExchange {
  readonly itt: number;
  ttt: number;
  phase: 'receiving' | 'sending';
  parts: Buffer[];
  remaining: Buffer;
}

/** RFC 7143 Appendix C plus the rule for keys: unknown → NotUnderstood, login-only → Reject. */
function answer(session: Session, pairs: readonly TextPair[]): TextPair[] {
  const out: TextPair[] = [];
  for (const p of pairs) {
    if (p.key === 'SendTargets')
      out.push(...session.host.sendTargets(session, p.value, session.conn.localAddress));
    else out.push({ key: p.key, value: KEY_TABLE.has(p.key) ? Answer.REJECT : Answer.NOT_UNDERSTOOD });
  }
  return out;
}

export function handleText(session: Session, pdu: Pdu): void {
  const req = decodeTextRequest(pdu.bhs);
  const conn = session.conn;
  let ex = session.textExchange;
  if (req.ttt !== RESERVED_TAG) {
    // RFC 7143 11.10.4: a TTT must be one we handed out for this ITT.
    if (!ex || ex.itt !== req.itt || ex.ttt !== req.ttt) {
      session.textExchange = null;
      return conn.reject(
        RejectReason.INVALID_PDU_FIELD,
        pdu.bhs,
        `Text Request with unknown TTT 0x${req.ttt.toString(16)}`,
      );
    }
  } else if (ex && ex.itt !== req.itt) {
    // A new exchange replaces an unfinished one (RFC 7143 11.10.4: the old one is reset).
    ex = null;
  } else if (ex?.phase === 'sending') {
    ex = null;
  }
  if (!ex) {
    ex = { itt: req.itt, ttt: RESERVED_TAG, phase: 'receiving', parts: [], remaining: Buffer.alloc(0) };
    session.textExchange = ex;
  }
  if (ex.phase === 'receiving') {
    if (pdu.data) ex.parts.push(pdu.data);
    if (req.continue) {
      ex.ttt = conn.allocateTag();
      return send(session, req, ex, Buffer.alloc(0), false);
    }
    let pairs: TextPair[];
    try {
      pairs = parseTextPairs(Buffer.concat(ex.parts));
    } catch (err) {
      if (!(err instanceof TextFormatError)) throw err;
      session.textExchange = null;
      return conn.reject(RejectReason.PROTOCOL_ERROR, pdu.bhs, err.message);
    }
    ex.phase = 'sending';
    ex.parts = [];
    ex.remaining = serializeTextPairs(answer(session, pairs));
  }
  const chunk = ex.remaining.subarray(0, conn.maxSendSegment);
  ex.remaining = ex.remaining.subarray(chunk.length);
  const more = ex.remaining.length > 0;
  if (more) ex.ttt = conn.allocateTag();
  else session.textExchange = null;
  send(session, req, ex, chunk, more);
}

function send(session: Session, req: TextRequest, ex: TextExchange, data: Buffer, more: boolean): void {
  const conn = session.conn;
  const final = ex.phase === 'sending' && !more;
  const header = encodeTextResponse(
    {
      final,
      continue: more,
      lun: req.lun,
      itt: req.itt,
      ttt: final ? RESERVED_TAG : ex.ttt,
      statSN: conn.nextStatSN(),
      expCmdSN: session.expCmdSN,
      maxCmdSN: session.maxCmdSN,
    },
    data.length,
  );
  conn.send(header, data.length > 0 ? data : null);
}
