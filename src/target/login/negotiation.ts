/**
 * The negotiation engine: walks the key table for each offered pair and collects the answers
 * (RFC 7143 6.2-6.3). It never decides stage transitions; the login state machine does.
 */
import { LoginStatus } from '../pdu/constants.js';
import type { TextPair } from '../pdu/text-pairs.js';
import { Answer, KEY_TABLE, type NegotiationContext } from './keys.js';

/** RFC 7143 6.1: values are at most 255 bytes unless a key allows more (CHAP values do). */
export const MAX_VALUE_LENGTH = 255;

export class NegotiationError extends Error {
  constructor(
    readonly status: LoginStatus,
    message: string,
  ) {
    super(message);
  }
}

/** Keys whose repetition with the same value is tolerated (re-declaration of identity). */
const REDECLARABLE = new Set(['InitiatorName', 'TargetName', 'SessionType', 'InitiatorAlias']);

export class Negotiator {
  /** RFC 7143 6.2: a key may be negotiated once per negotiation sequence (the whole login). */
  private readonly seen = new Map<string, string>();

  constructor(
    readonly ctx: NegotiationContext,
    private readonly leading: boolean,
  ) {}

  /**
   * Answers the pairs of one login request (already reassembled over C-bit continuations).
   * Authentication keys are handed to `onAuth` in order; they may only appear in the
   * security stage. Throws NegotiationError for a login-fatal violation.
   */
  negotiate(
    pairs: readonly TextPair[],
    stage: 'security' | 'operational',
    onAuth: (pair: TextPair) => void,
  ): TextPair[] {
    const answers: TextPair[] = [];
    const discovery = this.ctx.params.sessionType === 'Discovery';
    for (const pair of pairs) {
      const spec = KEY_TABLE.get(pair.key);
      const previous = this.seen.get(pair.key);
      if (previous !== undefined && spec?.kind !== 'authentication') {
        if (REDECLARABLE.has(pair.key) && previous === pair.value) continue;
        throw new NegotiationError(LoginStatus.INITIATOR_ERROR, `key ${pair.key} negotiated twice`);
      }
      this.seen.set(pair.key, pair.value);
      // RFC 7143 6.2: unknown keys, including X- and X# extensions we do not implement.
      if (!spec) {
        answers.push({ key: pair.key, value: Answer.NOT_UNDERSTOOD });
        continue;
      }
      if (spec.kind === 'authentication') {
        if (stage !== 'security') {
          throw new NegotiationError(LoginStatus.INITIATOR_ERROR, `${pair.key} outside the security stage`);
        }
        onAuth(pair);
        continue;
      }
      if (
        spec.use === 'ffp' ||
        (spec.leadingOnly && !this.leading) ||
        (spec.irrelevantInDiscovery && discovery)
      ) {
        answers.push({ key: pair.key, value: Answer.IRRELEVANT });
        continue;
      }
      if (Buffer.byteLength(pair.value) > MAX_VALUE_LENGTH) {
        answers.push({ key: pair.key, value: Answer.REJECT });
        continue;
      }
      const answer = spec.negotiate!(pair.value, this.ctx);
      if (answer !== null) answers.push({ key: pair.key, value: answer });
    }
    return this.irrelevance(answers);
  }

  /** RFC 7143 13.14: FirstBurstLength is irrelevant when InitialR2T=Yes and ImmediateData=No. */
  private irrelevance(answers: TextPair[]): TextPair[] {
    const p = this.ctx.params;
    if (!(p.initialR2T && !p.immediateData)) return answers;
    return answers.map((a) => (a.key === 'FirstBurstLength' ? { key: a.key, value: Answer.IRRELEVANT } : a));
  }

  /** True when the key has been offered in this login (so the target need not declare it). */
  offered(key: string): boolean {
    return this.seen.has(key);
  }
}
