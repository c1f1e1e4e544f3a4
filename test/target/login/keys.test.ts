import { describe, expect, it } from 'vitest';
import { Answer, KEYS, KEY_TABLE, parseNumber } from '../../../src/target/login/keys.js';
import { NegotiationError, Negotiator } from '../../../src/target/login/negotiation.js';
import {
  DEFAULT_TARGET_OFFER,
  defaultParams,
  finalizeParams,
  type TargetOffer,
} from '../../../src/target/login/params.js';
import { LoginStatus } from '../../../src/target/pdu/constants.js';

function negotiate(
  pairs: [string, string][],
  options: {
    offer?: Partial<TargetOffer>;
    leading?: boolean;
    discovery?: boolean;
    stage?: 'security' | 'operational';
  } = {},
) {
  const offer = { ...DEFAULT_TARGET_OFFER, ...options.offer };
  const params = defaultParams(offer);
  if (options.discovery) params.sessionType = 'Discovery';
  const n = new Negotiator({ offer, params }, options.leading ?? true);
  const auth: string[] = [];
  const answers = n.negotiate(
    pairs.map(([key, value]) => ({ key, value })),
    options.stage ?? 'operational',
    (p) => auth.push(p.key),
  );
  return { answers: Object.fromEntries(answers.map((a) => [a.key, a.value])), params, auth, n };
}

const answerOf = (key: string, value: string, options = {}): string | undefined =>
  negotiate([[key, value]], options).answers[key];

describe('key table', () => {
  it('lists every RFC 7143 12-13 key plus the RFC 7144/7145 ones, once', () => {
    const names = KEYS.map((k) => k.name);
    expect(new Set(names).size).toBe(names.length);
    for (const k of [
      'AuthMethod',
      'CHAP_A',
      'CHAP_I',
      'CHAP_C',
      'CHAP_N',
      'CHAP_R',
      'HeaderDigest',
      'DataDigest',
      'MaxConnections',
      'SendTargets',
      'TargetName',
      'InitiatorName',
      'TargetAlias',
      'InitiatorAlias',
      'TargetAddress',
      'TargetPortalGroupTag',
      'InitialR2T',
      'ImmediateData',
      'MaxRecvDataSegmentLength',
      'MaxBurstLength',
      'FirstBurstLength',
      'DefaultTime2Wait',
      'DefaultTime2Retain',
      'MaxOutstandingR2T',
      'DataPDUInOrder',
      'DataSequenceInOrder',
      'ErrorRecoveryLevel',
      'SessionType',
      'TaskReporting',
      'iSCSIProtocolLevel',
      'IFMarker',
      'OFMarker',
      'IFMarkInt',
      'OFMarkInt',
      'RDMAExtensions',
      'TargetRecvDataSegmentLength',
      'InitiatorRecvDataSegmentLength',
      'MaxOutstandingUnexpectedPDUs',
    ]) {
      expect(KEY_TABLE.has(k), k).toBe(true);
    }
  });

  it('gives each key the RFC result function', () => {
    const kind = (k: string): string => KEY_TABLE.get(k)!.kind;
    expect(kind('InitialR2T')).toBe('boolean-or');
    expect(kind('DataPDUInOrder')).toBe('boolean-or');
    expect(kind('DataSequenceInOrder')).toBe('boolean-or');
    expect(kind('ImmediateData')).toBe('boolean-and');
    expect(kind('DefaultTime2Wait')).toBe('numerical-max');
    expect(kind('DefaultTime2Retain')).toBe('numerical-min');
    expect(kind('MaxBurstLength')).toBe('numerical-min');
    expect(kind('MaxRecvDataSegmentLength')).toBe('declarative');
    expect(kind('HeaderDigest')).toBe('list');
  });

  it('parses decimal and hexadecimal numbers only', () => {
    expect(parseNumber('8192')).toBe(8192);
    expect(parseNumber('0x2000')).toBe(8192);
    expect(parseNumber('-1')).toBeNull();
    expect(parseNumber('12a')).toBeNull();
    expect(parseNumber('')).toBeNull();
  });
});

describe('result functions', () => {
  it('list: picks the first offered value we support, else Reject', () => {
    expect(answerOf('HeaderDigest', 'CRC32C,None')).toBe('CRC32C');
    expect(answerOf('HeaderDigest', 'None,CRC32C')).toBe('None');
    expect(answerOf('DataDigest', 'CRC32C', { offer: { digests: ['None'] } })).toBe(Answer.REJECT);
    expect(answerOf('TaskReporting', 'FastAbort,RFC3720')).toBe('RFC3720');
    expect(answerOf('TaskReporting', 'ResponseFence')).toBe(Answer.REJECT);
    const r = negotiate([
      ['HeaderDigest', 'CRC32C'],
      ['DataDigest', 'CRC32C'],
    ]);
    expect(r.params.headerDigest && r.params.dataDigest).toBe(true);
  });

  it('numerical min: MaxBurstLength, FirstBurstLength, MaxOutstandingR2T, MaxConnections, ERL, Time2Retain, protocol level', () => {
    expect(answerOf('MaxBurstLength', '1048576')).toBe('1048576');
    expect(answerOf('MaxBurstLength', '16777215')).toBe(String(DEFAULT_TARGET_OFFER.maxBurstLength));
    expect(answerOf('FirstBurstLength', '1048576')).toBe('262144');
    expect(answerOf('MaxOutstandingR2T', '16')).toBe('4');
    expect(answerOf('MaxOutstandingR2T', '2')).toBe('2');
    expect(answerOf('MaxConnections', '8')).toBe('1');
    expect(answerOf('ErrorRecoveryLevel', '2')).toBe('0');
    expect(answerOf('DefaultTime2Retain', '20')).toBe('0');
    expect(answerOf('iSCSIProtocolLevel', '2')).toBe('1');
    expect(negotiate([['MaxBurstLength', '65536']]).params.maxBurstLength).toBe(65536);
  });

  it('numerical max: DefaultTime2Wait takes the longer wait', () => {
    expect(answerOf('DefaultTime2Wait', '0')).toBe('2');
    expect(answerOf('DefaultTime2Wait', '10')).toBe('10');
  });

  it('numerical: out-of-range or malformed values are answered Reject and keep the default', () => {
    expect(answerOf('MaxBurstLength', '511')).toBe(Answer.REJECT);
    expect(answerOf('MaxBurstLength', '16777216')).toBe(Answer.REJECT);
    expect(answerOf('DefaultTime2Wait', '3601')).toBe(Answer.REJECT);
    expect(answerOf('MaxOutstandingR2T', '0')).toBe(Answer.REJECT);
    expect(answerOf('ErrorRecoveryLevel', 'zero')).toBe(Answer.REJECT);
    const r = negotiate([['MaxBurstLength', '1']]);
    expect(r.params.maxBurstLength).toBe(262144);
  });

  it('boolean OR: InitialR2T, DataPDUInOrder, DataSequenceInOrder', () => {
    expect(answerOf('InitialR2T', 'No')).toBe('No');
    expect(answerOf('InitialR2T', 'Yes')).toBe('Yes');
    expect(answerOf('InitialR2T', 'No', { offer: { initialR2T: true } })).toBe('Yes');
    expect(answerOf('DataPDUInOrder', 'No')).toBe('Yes');
    expect(answerOf('DataSequenceInOrder', 'No')).toBe('Yes');
    expect(answerOf('InitialR2T', 'maybe')).toBe(Answer.REJECT);
  });

  it('boolean AND: ImmediateData', () => {
    expect(answerOf('ImmediateData', 'Yes')).toBe('Yes');
    expect(answerOf('ImmediateData', 'No')).toBe('No');
    expect(answerOf('ImmediateData', 'Yes', { offer: { immediateData: false } })).toBe('No');
  });

  it('declarative: MaxRecvDataSegmentLength and names are recorded, not answered', () => {
    const r = negotiate([
      ['MaxRecvDataSegmentLength', '65536'],
      ['InitiatorName', 'iqn.2024-01.x:y'],
      ['InitiatorAlias', 'host'],
      ['TargetName', 'iqn.2024-01.x:t'],
    ]);
    expect(r.answers).toEqual({});
    expect(r.params.initiatorMaxRecvDataSegmentLength).toBe(65536);
    expect(r.params.initiatorName).toBe('iqn.2024-01.x:y');
    expect(r.params.targetName).toBe('iqn.2024-01.x:t');
    expect(answerOf('MaxRecvDataSegmentLength', '100')).toBe(Answer.REJECT);
  });

  it('target-only declarations from the initiator are Irrelevant', () => {
    expect(answerOf('TargetAlias', 'x')).toBe(Answer.IRRELEVANT);
    expect(answerOf('TargetAddress', '1.2.3.4')).toBe(Answer.IRRELEVANT);
    expect(answerOf('TargetPortalGroupTag', '1')).toBe(Answer.IRRELEVANT);
  });

  it('obsolete markers are answered No, their intervals Irrelevant; iSER is refused', () => {
    expect(answerOf('IFMarker', 'Yes')).toBe('No');
    expect(answerOf('OFMarker', 'No')).toBe('No');
    expect(answerOf('IFMarkInt', '2048~8192')).toBe(Answer.IRRELEVANT);
    expect(answerOf('OFMarkInt', '2048')).toBe(Answer.IRRELEVANT);
    expect(answerOf('RDMAExtensions', 'Yes')).toBe('No');
    expect(answerOf('TargetRecvDataSegmentLength', '8192')).toBe(Answer.IRRELEVANT);
    expect(answerOf('MaxOutstandingUnexpectedPDUs', '0')).toBe(Answer.IRRELEVANT);
  });

  it('answers NotUnderstood for unknown keys, including X- and X# extensions', () => {
    const r = negotiate([
      ['Bogus', '1'],
      ['X-com.example.foo', 'bar'],
      ['X#NodeArchitecture', 'x'],
    ]);
    expect(r.answers).toEqual({
      Bogus: 'NotUnderstood',
      'X-com.example.foo': 'NotUnderstood',
      'X#NodeArchitecture': 'NotUnderstood',
    });
  });

  it('answers Irrelevant for FirstBurstLength when InitialR2T=Yes and ImmediateData=No (RFC 7143 13.14)', () => {
    const r = negotiate([
      ['InitialR2T', 'Yes'],
      ['ImmediateData', 'No'],
      ['FirstBurstLength', '65536'],
    ]);
    expect(r.answers.FirstBurstLength).toBe(Answer.IRRELEVANT);
    expect(
      negotiate([
        ['InitialR2T', 'No'],
        ['FirstBurstLength', '65536'],
      ]).answers.FirstBurstLength,
    ).toBe('65536');
  });

  it('answers Irrelevant in a discovery session for keys that do not apply to it', () => {
    const r = negotiate(
      [
        ['MaxBurstLength', '65536'],
        ['InitialR2T', 'No'],
        ['HeaderDigest', 'None'],
        ['MaxConnections', '1'],
      ],
      { discovery: true },
    );
    expect(r.answers).toEqual({
      MaxBurstLength: 'Irrelevant',
      InitialR2T: 'Irrelevant',
      HeaderDigest: 'None',
      MaxConnections: 'Irrelevant',
    });
  });

  it('answers Irrelevant to leading-only keys on a non-leading login', () => {
    expect(answerOf('MaxBurstLength', '65536', { leading: false })).toBe(Answer.IRRELEVANT);
    expect(answerOf('HeaderDigest', 'None', { leading: false })).toBe('None');
  });

  it('answers SendTargets during login with Irrelevant, and values over 255 bytes with Reject', () => {
    expect(answerOf('SendTargets', 'All')).toBe(Answer.IRRELEVANT);
    expect(answerOf('InitialR2T', 'Y'.repeat(256))).toBe(Answer.REJECT);
  });

  it('fails the login (initiator error 0x0200) when a key is negotiated twice', () => {
    const offer = DEFAULT_TARGET_OFFER;
    const n = new Negotiator({ offer, params: defaultParams(offer) }, true);
    n.negotiate([{ key: 'MaxBurstLength', value: '65536' }], 'operational', () => undefined);
    let err: unknown = null;
    try {
      n.negotiate([{ key: 'MaxBurstLength', value: '65536' }], 'operational', () => undefined);
    } catch (e) {
      err = e;
    }
    expect((err as NegotiationError).status).toBe(LoginStatus.INITIATOR_ERROR);
    // Re-declaring the same identity is tolerated.
    n.negotiate([{ key: 'InitiatorName', value: 'iqn.a:b' }], 'security', () => undefined);
    expect(n.negotiate([{ key: 'InitiatorName', value: 'iqn.a:b' }], 'operational', () => undefined)).toEqual(
      [],
    );
  });

  it('hands authentication keys to the security stage and refuses them later', () => {
    expect(negotiate([['AuthMethod', 'None']], { stage: 'security' }).auth).toEqual(['AuthMethod']);
    expect(() => negotiate([['CHAP_A', '5']], { stage: 'operational' })).toThrow(NegotiationError);
  });

  it('keeps FirstBurstLength at or below MaxBurstLength after login', () => {
    const p = defaultParams(DEFAULT_TARGET_OFFER);
    p.maxBurstLength = 65536;
    p.firstBurstLength = 262144;
    expect(finalizeParams(p).firstBurstLength).toBe(65536);
  });
});
