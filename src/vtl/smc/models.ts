/**
 * Medium changer personalities: what INQUIRY says and which optional SMC-3 features the model
 * has. Only identities backup software ships support for (clients.md 3 'Commercial software':
 * the library identities mhvtl and QUADStor emulate and Bacula, PBS, Veeam, NetBackup accept).
 *
 * Default: IBM TS3500 ('IBM 03584L32'). PBS and mtx work with any SMC changer; Bacula's
 * mtx-changer too; Veeam and NetBackup list the TS3500 in their compatibility lists (NetBackup
 * robot type TLD), and the IBM drives this project emulates belong in it. The TS3500 has no
 * EXCHANGE MEDIUM, so the device capabilities page advertises none (mhvtl ChangeLog: software
 * that sees exchange advertised uses it). The STK L700 personality has EXCHANGE MEDIUM.
 */
import { VtlError } from '../../util/errors.js';

export interface ChangerModel {
  /** Personality key: vendor and product, e.g. 'IBM 03584L32'. */
  readonly key: string;
  /** INQUIRY T10 vendor (8 characters). */
  readonly vendor: string;
  /** INQUIRY product (16 characters). */
  readonly product: string;
  /** INQUIRY product revision (4 characters). */
  readonly revision: string;
  /** EXCHANGE MEDIUM (A6h) supported, and advertised in mode page 1Fh. */
  readonly exchangeMedium: boolean;
  /** IEEE company ID for the NAA 5 designator (VPD 83h). */
  readonly oui: number;
}

export const CHANGER_MODELS: readonly ChangerModel[] = [
  {
    key: 'IBM 03584L32',
    vendor: 'IBM',
    product: '03584L32',
    revision: 'C260',
    exchangeMedium: false,
    oui: 0x005076,
  },
  {
    key: 'IBM 03584L22',
    vendor: 'IBM',
    product: '03584L22',
    revision: 'C260',
    exchangeMedium: false,
    oui: 0x005076,
  },
  {
    key: 'IBM 3573-TL',
    vendor: 'IBM',
    product: '3573-TL',
    revision: 'F.11',
    exchangeMedium: false,
    oui: 0x005076,
  },
  { key: 'STK L700', vendor: 'STK', product: 'L700', revision: '0105', exchangeMedium: true, oui: 0x00104f },
];

export const DEFAULT_CHANGER_MODEL = 'IBM 03584L32';

/** The personality for a key (case-insensitive); ERR_CONFIG listing the known ones otherwise. */
export function findChangerModel(key: string = DEFAULT_CHANGER_MODEL): ChangerModel {
  const model = CHANGER_MODELS.find((m) => m.key.toLowerCase() === key.toLowerCase());
  if (!model) {
    throw new VtlError(
      'ERR_CONFIG',
      `unknown changer model ${JSON.stringify(key)}; known: ${CHANGER_MODELS.map((m) => m.key).join(', ')}`,
    );
  }
  return model;
}
