/**
 * Test tooling: makes GBCS Commands the way the DCC and a User would (User-signed Pre-Command, ACB-wrapped with
 * its MAC) from a small deterministic test PKI, so device and link tests need neither the mock DCC nor the
 * DCC's reference data. Nothing here is used by the meters themselves.
 */
import { type KeyObject } from 'node:crypto';
import { encodeGeneralCiphering, type GeneralSigning } from '../../protocol/gbcs/apdu.ts';
import { signApdu, wrapCommand, wrapNonCriticalCommand } from '../../protocol/gbcs/security.ts';
import { buildCommandApdu, type UseCaseCodec } from '../../protocol/gbcs/usecases/command-codec.ts';
import { type Eui, parseEui } from '../../protocol/smki/eui.ts';
import { deriveKeyPair, type KeyPair } from '../../protocol/smki/keys.ts';
import { type AnchorRole, TrustAnchors } from '../smets2/trust-anchors.ts';

export interface TestParty {
  eui: Eui;
  ds: KeyPair;
  ka: KeyPair;
}

export interface TestPki {
  supplier: TestParty;
  networkOperator: TestParty;
  /** Only its KA key matters to a meter. */
  acb: TestParty;
  /** A supplier the meters do not trust. */
  otherSupplier: TestParty;
  anchors: TrustAnchors;
}

function party(seed: string, eui: string, name: string): TestParty {
  return { eui: parseEui(eui), ds: deriveKeyPair(seed, `${name}/ds`), ka: deriveKeyPair(seed, `${name}/ka`) };
}

/** Deterministic keys for a supplier, a network operator, the ACB and an untrusted supplier (ZAZ1-like EUIs). */
export function makeTestPki(seed = 'smets-hil test pki'): TestPki {
  const supplier = party(seed, '90B3D51F30010000', 'supplier');
  const networkOperator = party(seed, '90B3D51F30020000', 'networkOperator');
  const acb = party(seed, '90B3D51F30000002', 'acb');
  const otherSupplier = party(seed, '90B3D51F30030000', 'otherSupplier');
  const cell = (p: TestParty) => ({ eui: p.eui, ds: p.ds.publicKey, ka: p.ka.publicKey });
  const anchors = new TrustAnchors({ supplier: cell(supplier), networkOperator: cell(networkOperator), accessControlBroker: { eui: acb.eui, ka: acb.ka.publicKey } });
  return { supplier, networkOperator, acb, otherSupplier, anchors };
}

export interface CommandOptions {
  device: Eui;
  counter: bigint;
  /** Who the command says it is from (default: the supplier). */
  from?: TestParty;
  /** Who signs it (default: `from`); null sends a critical command unsigned. */
  signer?: KeyObject | null;
  /** The ACB KA key that MACs it (default: the test ACB's). */
  acbKa?: KeyObject;
}

export class CommandBuilder {
  constructor(
    readonly pki: TestPki,
    /** The device KA public key the ACB computes the MAC for. */
    private readonly deviceKa: (eui: Eui) => KeyObject,
  ) {}

  /** The unsigned Pre-Command (or unsigned non-critical command) for a use case. */
  preCommand<P>(codec: UseCaseCodec<P>, params: P, o: CommandOptions): GeneralSigning {
    const from = o.from ?? this.pki.supplier;
    return buildCommandApdu(codec, params, { counter: o.counter, originator: from.eui, recipient: o.device });
  }

  /** The Command a device receives: signed when critical, MACed by the ACB. */
  command<P>(codec: UseCaseCodec<P>, params: P, o: CommandOptions): Uint8Array {
    return this.wrap(this.preCommand(codec, params, o), codec.critical, o);
  }

  /** Signs (when asked) and wraps an APDU as the ACB would. */
  wrap(apdu: GeneralSigning, critical: boolean, o: Pick<CommandOptions, 'from' | 'signer' | 'acbKa' | 'device'>): Uint8Array {
    const from = o.from ?? this.pki.supplier;
    const signer = o.signer === undefined ? from.ds.privateKey : o.signer;
    const acbKa = o.acbKa ?? this.pki.acb.ka.privateKey;
    const deviceKa = this.deviceKa(apdu.recipient);
    if (critical && signer) return encodeGeneralCiphering(wrapCommand(signApdu(apdu, signer), acbKa, deviceKa));
    return encodeGeneralCiphering(wrapNonCriticalCommand(apdu, acbKa, deviceKa));
  }
}

export type { AnchorRole };
