/**
 * Task management (RFC 7143 11.5, 11.6; SAM-5 7): ABORT TASK (with RefCmdSN for commands not yet
 * received), ABORT TASK SET, CLEAR TASK SET, LOGICAL UNIT RESET, TARGET WARM RESET and TARGET
 * COLD RESET. Tasks of the requesting session end without a response; tasks of other sessions
 * end with TASK ABORTED status (the TAS=1 behaviour of SPC-4 7.5.8, so no initiator waits for a
 * timeout). Unit attentions are the logical unit's business (`reset`, `tasksCleared`).
 */
import type { Pdu } from '../transport/types.js';
import type { LogicalUnit, ResetKind } from '../scsi/types.js';
import { serial } from '../pdu/bhs.js';
import {
  RejectReason,
  TMF_FUNCTION_NAMES,
  TMF_RESPONSE_NAMES,
  TmfFunction,
  TmfResponse,
} from '../pdu/constants.js';
import { decodeTmfRequest, encodeTmfResponse, type TmfRequest } from '../pdu/control.js';
import type { Session } from './session.js';

type Waits = Promise<void>[];

/** Aborts the tasks on `lun` (every LUN when null) of the given sessions. */
function abortTasks(
  requester: Session,
  sessions: readonly Session[],
  lun: number | null,
  waits: Waits,
): void {
  for (const s of sessions) {
    for (const task of [...s.tasks.values()]) {
      if (lun !== null && task.lun !== lun) continue;
      const wait = s.abortTask(task, s !== requester);
      if (wait) waits.push(wait);
    }
  }
}

function resetTarget(session: Session, kind: ResetKind, waits: Waits): void {
  const target = session.target!;
  abortTasks(session, session.host.sessionsOf(target.name), null, waits);
  for (const lu of target.luns.values()) lu.reset(kind, session.nexus!);
}

type TmfHandler = (session: Session, req: TmfRequest, lu: LogicalUnit | null, waits: Waits) => number;

/** One entry per function code; functions absent here are answered "not supported". */
const TMF_HANDLERS: Readonly<Record<number, TmfHandler>> = {
  [TmfFunction.ABORT_TASK]: (session, req, _lu, waits) => {
    const task = session.tasks.get(req.referencedTaskTag);
    if (task && task.lun === req.lun) {
      const wait = session.abortTask(task, false);
      if (wait) waits.push(wait);
      return TmfResponse.FUNCTION_COMPLETE;
    }
    // RFC 7143 11.5.1: a RefCmdSN inside the window not yet received is aborted on arrival.
    if (!task && serial.inWindow(req.refCmdSN, session.expCmdSN, session.maxCmdSN)) {
      session.abortedCmdSNs.add(req.refCmdSN);
      return TmfResponse.FUNCTION_COMPLETE;
    }
    return TmfResponse.TASK_DOES_NOT_EXIST;
  },
  [TmfFunction.ABORT_TASK_SET]: (session, req, lu, waits) => {
    abortTasks(session, [session], req.lun, waits);
    lu!.tasksCleared?.(session.nexus!, false);
    return TmfResponse.FUNCTION_COMPLETE;
  },
  [TmfFunction.CLEAR_TASK_SET]: (session, req, lu, waits) => {
    abortTasks(session, session.host.sessionsOf(session.target!.name), req.lun, waits);
    lu!.tasksCleared?.(session.nexus!, true);
    return TmfResponse.FUNCTION_COMPLETE;
  },
  [TmfFunction.LOGICAL_UNIT_RESET]: (session, req, lu, waits) => {
    abortTasks(session, session.host.sessionsOf(session.target!.name), req.lun, waits);
    lu!.reset('lun-reset', session.nexus!);
    return TmfResponse.FUNCTION_COMPLETE;
  },
  [TmfFunction.TARGET_WARM_RESET]: (session, _req, _lu, waits) => {
    resetTarget(session, 'target-warm-reset', waits);
    return TmfResponse.FUNCTION_COMPLETE;
  },
  [TmfFunction.TARGET_COLD_RESET]: (session, _req, _lu, waits) => {
    resetTarget(session, 'target-cold-reset', waits);
    return TmfResponse.FUNCTION_COMPLETE;
  },
  // RFC 7143 11.5.1: TASK REASSIGN needs ERL 2.
  [TmfFunction.TASK_REASSIGN]: () => TmfResponse.REASSIGNMENT_NOT_SUPPORTED,
};

/** Functions that name a logical unit: the LUN must exist (RFC 7143 11.6.1 response 2). */
const LUN_FUNCTIONS = new Set<number>([
  TmfFunction.ABORT_TASK,
  TmfFunction.ABORT_TASK_SET,
  TmfFunction.CLEAR_TASK_SET,
  TmfFunction.LOGICAL_UNIT_RESET,
]);

export function handleTmf(session: Session, pdu: Pdu): void {
  const req = decodeTmfRequest(pdu.bhs);
  if (session.isDiscovery) {
    return session.conn.reject(
      RejectReason.PROTOCOL_ERROR,
      pdu.bhs,
      'task management in a discovery session',
    );
  }
  const waits: Waits = [];
  let response: number;
  const handler = TMF_HANDLERS[req.function];
  const lu = session.target!.luns.get(req.lun) ?? null;
  if (!handler) {
    response =
      req.function >= 1 && req.function <= 8
        ? TmfResponse.FUNCTION_NOT_SUPPORTED
        : TmfResponse.FUNCTION_REJECTED;
  } else if (LUN_FUNCTIONS.has(req.function) && !lu) {
    response = TmfResponse.LUN_DOES_NOT_EXIST;
  } else {
    response = handler(session, req, lu, waits);
  }
  session.host.logger.info('task management', {
    function: TMF_FUNCTION_NAMES[req.function] ?? req.function,
    lun: req.lun,
    referencedTaskTag: req.referencedTaskTag,
    response: TMF_RESPONSE_NAMES[response],
    initiator: session.initiatorName,
  });
  const respond = (): void => {
    if (session.closed && req.function !== TmfFunction.TARGET_COLD_RESET) return;
    const conn = session.conn;
    conn.send(
      encodeTmfResponse({
        response,
        itt: req.itt,
        statSN: conn.nextStatSN(),
        expCmdSN: session.expCmdSN,
        maxCmdSN: session.maxCmdSN,
      }),
    );
    if (req.function === TmfFunction.TARGET_COLD_RESET && response === TmfResponse.FUNCTION_COMPLETE) {
      session.host.coldReset(session.target!.name);
    }
  };
  // SAM-5 7.1: the response follows the end of every task it aborted.
  if (waits.length === 0) respond();
  else void Promise.all(waits).then(respond);
}
