/**
 * The login sequence of the test initiator: security stage (AuthMethod None, or CHAP one-way or
 * mutual) then operational negotiation, repeating empty requests while the target answers T=0.
 */
import type { TextPair } from '../../src/target/pdu/text-pairs.js';
import type { Initiator } from './initiator.js';
import { ENCODE, chapHash, decodeBinary } from './initiator-types.js';

export async function login(s: Initiator): Promise<void> {
  const o = s.options;
  const identity: TextPair[] = [
    { key: 'InitiatorName', value: o.initiatorName ?? 'iqn.2024-01.test:initiator' },
  ];
  if (o.targetName) identity.push({ key: 'TargetName', value: o.targetName });
  identity.push({ key: 'SessionType', value: o.targetName ? 'Normal' : 'Discovery' });
  const loginItt = s.nextItt();
  if (o.chap) {
    let r = await s.loginStep(loginItt, 0, 1, false, [...identity, { key: 'AuthMethod', value: 'CHAP' }]);
    r = await s.loginStep(loginItt, 0, 1, false, [
      { key: 'CHAP_A', value: (o.chap.algorithms ?? [5]).join(',') },
    ]);
    const get = (k: string): string => r.pairs.find((p) => p.key === k)?.value ?? '';
    const alg = Number(get('CHAP_A'));
    const id = Number(get('CHAP_I'));
    const challenge = decodeBinary(get('CHAP_C'));
    const enc = ENCODE[o.chap.encoding ?? 'hex'];
    const hash = (ident: number, secret: string, c: Buffer): Buffer => chapHash(alg, ident, secret, c);
    const answer: TextPair[] = [
      { key: 'CHAP_N', value: o.chap.user },
      { key: 'CHAP_R', value: enc(hash(id, o.chap.secret, challenge)) },
    ];
    const mutual = o.chap.mutual;
    const myChallenge = mutual?.challenge ?? Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    if (mutual) answer.push({ key: 'CHAP_I', value: '77' }, { key: 'CHAP_C', value: enc(myChallenge) });
    r = await s.loginStep(loginItt, 0, 1, true, answer);
    if (mutual) {
      const name = r.pairs.find((p) => p.key === 'CHAP_N')?.value;
      const resp = r.pairs.find((p) => p.key === 'CHAP_R')?.value;
      if (name !== mutual.user || !resp || !decodeBinary(resp).equals(hash(77, mutual.secret, myChallenge))) {
        throw new Error('target failed mutual authentication');
      }
    }
    await operational(s, loginItt, []);
  } else {
    await s.loginStep(loginItt, 0, 1, true, [...identity, { key: 'AuthMethod', value: 'None' }]);
    await operational(s, loginItt, []);
  }
}

async function operational(s: Initiator, itt: number, first: TextPair[]): Promise<void> {
  const o = s.options;
  const keys: TextPair[] = [
    ...first,
    { key: 'HeaderDigest', value: o.headerDigest ? 'CRC32C' : 'None' },
    { key: 'DataDigest', value: o.dataDigest ? 'CRC32C' : 'None' },
    { key: 'MaxRecvDataSegmentLength', value: String(o.maxRecvDataSegmentLength ?? 262144) },
    { key: 'DefaultTime2Wait', value: '2' },
    { key: 'DefaultTime2Retain', value: '0' },
    { key: 'ErrorRecoveryLevel', value: '0' },
  ];
  if (o.targetName) {
    keys.push(
      { key: 'InitialR2T', value: o.initialR2T === false ? 'No' : o.initialR2T === true ? 'Yes' : 'No' },
      { key: 'ImmediateData', value: o.immediateData === false ? 'No' : 'Yes' },
      { key: 'FirstBurstLength', value: String(o.firstBurstLength ?? 262144) },
      { key: 'MaxBurstLength', value: String(o.maxBurstLength ?? 16776192) },
      { key: 'MaxOutstandingR2T', value: String(o.maxOutstandingR2T ?? 1) },
      { key: 'MaxConnections', value: '1' },
      { key: 'DataPDUInOrder', value: 'Yes' },
      { key: 'DataSequenceInOrder', value: 'Yes' },
    );
  }
  keys.push(...(o.extraKeys ?? []));
  let r = await s.loginStep(itt, 1, 3, true, keys);
  for (let i = 0; i < 4 && !r.transit; i++) r = await s.loginStep(itt, 1, 3, true, []);
  const get = (k: string): string | undefined => s.negotiated.get(k);
  s.enableDigests(get('HeaderDigest') === 'CRC32C', get('DataDigest') === 'CRC32C');
  s.targetMaxRecv = Number(get('MaxRecvDataSegmentLength') ?? 8192);
  s.firstBurstLength = Number(get('FirstBurstLength') ?? 65536);
  s.maxBurstLength = Number(get('MaxBurstLength') ?? 262144);
  s.immediateData = (get('ImmediateData') ?? 'Yes') === 'Yes';
  s.initialR2T = (get('InitialR2T') ?? 'Yes') === 'Yes';
}
