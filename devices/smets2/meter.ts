/**
 * An emulated SMETS2+ meter (ESME single or twin element, or GSME) that checks GBCS security itself.
 *
 * Every Command goes through, in order:
 *   1. decoding: a frame that is not a General-Ciphering Command addressed to this meter is logged and dropped
 *      (there is nobody to answer, or it is not for us);
 *   2. (a) the ACB's MAC, recomputed with this meter's KA private key and the ACB cell's KA public key;
 *   3. the message code: a use case this meter runs;
 *   4. authorisation: the originator EUI must be the EUI of a trust anchor cell whose role may send the use
 *      case (Supplier for everything that changes state);
 *   5. (b) for Critical Commands, the ECDSA signature against that cell's DS public key;
 *   6. (c) the originator counter, strictly above the highest accepted from that remote party;
 *   7. the content, parsed strictly (byte-identical to what its parameters describe);
 *   then the counter is recorded and (d) the command executes.
 *
 * [model] A failure at steps 2-7 changes nothing but the Security Log (codes 8F1E integrity/format, 8F30 no
 * authority, 8F53 authentication, 8F60 replay) and is answered, since there is an originator to answer, with
 * an error response signed by this meter: ESME data-access-result 3 read-write-denied (12 type-unmatched for
 * unreadable content, 4 object-undefined for an unknown message code), GSME Default Response 0x7E
 * NOT_AUTHORIZED (0x80, 0x81). No alert is raised for these: GBCS logs them in the Security Log.
 *
 * Responses to Critical Commands and error responses are General-Signing APDUs signed with this meter's DS key;
 * responses to non-critical commands are General-Ciphering APDUs MACed with its KA key and the originator
 * cell's KA key, as in RTDS.
 */
import {
  decodeGeneralCiphering,
  decodeGeneralSigning,
  encodeGeneralCiphering,
  encodeGeneralSigning,
  GBCS_SECURITY_CONTROL,
  type GeneralCiphering,
  type GeneralSigning,
  GENERAL_CIPHERING_TAG,
  GENERAL_SIGNING_TAG,
} from '../../protocol/gbcs/apdu.ts';
import { hex4 } from '../../protocol/gbcs/bytes.ts';
import { encodeDlmsExecution } from '../../protocol/gbcs/datetime.ts';
import { type CosemDescriptor, readAccessRequest } from '../../protocol/gbcs/dlms.ts';
import { decodeResult } from '../../protocol/gbcs/errors.ts';
import { computeMac, macKey, signApdu, verifyApdu, verifyCommandMac } from '../../protocol/gbcs/security.ts';
import { ByteReader } from '../../protocol/gbcs/bytes.ts';
import { buildFutureDatedAlert } from '../../protocol/gbcs/usecases/alerts.ts';
import { codecByName } from '../../protocol/gbcs/usecases/catalogue.ts';
import { type Component, isTimed, readComponents } from '../../protocol/gbcs/usecases/gbz-components.ts';
import { buildResponse } from '../../protocol/gbcs/usecases/responses.ts';
import { type DeviceFamily } from '../../protocol/gbcs/message-codes.ts';
import { type MeterOperation } from '../../protocol/s1sp/operations.ts';
import { deriveKeyPair, type KeyPair } from '../../protocol/smki/keys.ts';
import { type CommandContext, Meter, type MeterOptions, type OperationOutcome, type PendingChange, type SecurityCode } from '../meter.ts';
import { SimClock } from '../clock.ts';
import { type Json } from '../snapshot.ts';
import { type DeviceKeys, type DeviceKeySource } from './keys.ts';
import { esmeRejection, esmeResponse, gsmeRejection, gsmeResponse, type Rejection } from './responses.ts';
import { type AnchorRole, restoreTrustAnchors, saveTrustAnchors, type TrustAnchors } from './trust-anchors.ts';
import { smets2UseCase } from './use-cases.ts';

/**
 * Seeded defects: each switches one of the meter's own checks off, for negative-control runs that must turn the
 * MP134B PIT pack red. Never set outside such runs.
 */
export const METER_DEFECTS = {
  'meter-skips-signature-check': 'the meter executes critical commands whatever their signature',
  'meter-skips-counter-check': 'the meter executes replayed commands (originator counter not checked)',
  'meter-skips-mac-check': "the meter executes commands whose ACB MAC does not verify",
  'meter-signs-with-uncertified-key': 'the meter signs its answers with a key its SMKI Device certificate does not hold',
  'meter-macs-with-uncertified-key': 'the meter MACs its answers with a Key Agreement key its SMKI Device certificate does not hold',
} as const;
export type MeterDefect = keyof typeof METER_DEFECTS;
const NO_DEFECTS: ReadonlySet<MeterDefect> = Object.freeze(new Set<MeterDefect>());
/** The key pair the "uncertified key" defects authenticate answers with: no certificate holds it. */
let uncertified: KeyPair | undefined;
const uncertifiedKey = (): KeyPair => (uncertified ??= deriveKeyPair('smets-hil/seeded-defects', 'uncertified'));

export interface Smets2MeterOptions extends MeterOptions {
  /** Where this meter's own DS and KA keys come from (seed-derived for fleets). */
  keys: DeviceKeySource;
  trustAnchors: TrustAnchors;
  /** Negative controls only (shared by the fleet, like the rest of the environment). */
  defects?: ReadonlySet<MeterDefect>;
}

/** What fires at the execution time of a future-dated command: ESME activation attributes or GSME commands. */
type AlertTargets = { attributes: CosemDescriptor[] } | { commands: Pick<Component, 'clusterId' | 'frameControl' | 'commandId'>[] };

interface Accepted {
  apdu: GeneralSigning;
  role: AnchorRole;
}

/** What meters of a fleet share: one object however many meters use it. */
interface Smets2Environment {
  clock: SimClock;
  keys: DeviceKeySource;
  anchors: TrustAnchors;
  defects: ReadonlySet<MeterDefect>;
}

const ENVIRONMENTS = new WeakMap<SimClock, WeakMap<DeviceKeySource, WeakMap<TrustAnchors, WeakMap<ReadonlySet<MeterDefect>, Smets2Environment>>>>();

function environment(clock: SimClock, keys: DeviceKeySource, anchors: TrustAnchors, defects: ReadonlySet<MeterDefect> = NO_DEFECTS): Smets2Environment {
  let byKeys = ENVIRONMENTS.get(clock);
  if (!byKeys) ENVIRONMENTS.set(clock, (byKeys = new WeakMap()));
  let byAnchors = byKeys.get(keys);
  if (!byAnchors) byKeys.set(keys, (byAnchors = new WeakMap()));
  let byDefects = byAnchors.get(anchors);
  if (!byDefects) byAnchors.set(anchors, (byDefects = new WeakMap()));
  let env = byDefects.get(defects);
  if (!env) byDefects.set(defects, (env = Object.freeze({ clock, keys, anchors, defects })));
  return env;
}

export class Smets2Meter extends Meter {
  private env: Smets2Environment;

  constructor(o: Smets2MeterOptions) {
    super(o);
    this.env = environment(o.clock ?? new SimClock(), o.keys, o.trustAnchors, o.defects);
  }

  protected get clock(): SimClock {
    return this.env.clock;
  }

  private get anchors(): TrustAnchors {
    return this.env.anchors;
  }

  get generation(): 'smets2' {
    return 'smets2';
  }

  get family(): DeviceFamily {
    return this.variant === 'gsme' ? 'gsme' : 'esme';
  }

  get trustAnchors(): TrustAnchors {
    return this.anchors;
  }

  /** Replaces the trust anchors (what an update of security credentials would do; not a GBCS use case here). */
  setTrustAnchors(anchors: TrustAnchors): void {
    this.env = environment(this.env.clock, this.env.keys, anchors, this.env.defects);
  }

  private get keys(): DeviceKeys {
    return this.env.keys.keysFor(this.eui);
  }

  handleFrame(frame: Uint8Array): void {
    const response = this.process(frame);
    if (response) this.output?.(response);
  }

  /** Runs one frame through the checks and returns the response to send, if any. */
  process(frame: Uint8Array): Uint8Array | null {
    let apdu: GeneralSigning;
    let ciphering: GeneralCiphering | null = null;
    if (frame[0] === GENERAL_CIPHERING_TAG) {
      const c = decodeGeneralCiphering(frame);
      if (!c.ok) return this.drop(`malformed General-Ciphering frame: ${c.error.toString()}`);
      const inner = decodeGeneralSigning(c.value.payload);
      if (!inner.ok) return this.drop(`malformed General-Signing APDU in the Command: ${inner.error.toString()}`);
      ciphering = c.value;
      apdu = inner.value;
    } else if (frame[0] === GENERAL_SIGNING_TAG) {
      const d = decodeGeneralSigning(frame);
      if (!d.ok) return this.drop(`malformed General-Signing APDU: ${d.error.toString()}`);
      apdu = d.value;
    } else {
      return this.drop(`not a GBCS frame (tag 0x${(frame[0] ?? 0).toString(16)})`);
    }
    if (apdu.cra !== 'command') return this.drop(`received a ${apdu.cra}, not a command`, apdu);
    if (apdu.recipient !== this.eui) return this.drop(`addressed to ${apdu.recipient}`, apdu);

    const reject = (code: SecurityCode, reason: string, why: Rejection = 'not-authorised') => {
      this.logSecurity({ code, reason, source: apdu.originator, counter: apdu.counter, messageCode: apdu.messageCode });
      return this.rejection(apdu, why);
    };
    const acb = this.anchors.cell('accessControlBroker');
    if (!ciphering) return reject('8F1E', 'command not wrapped and MACed by the ACB');
    if (!acb?.ka) return reject('8F1E', 'no ACB key-agreement key in the trust anchors');
    const defects = this.env.defects;
    if (!verifyCommandMac(ciphering, apdu, this.keys.ka, acb.ka) && !defects.has('meter-skips-mac-check')) return reject('8F1E', 'ACB MAC does not verify');

    const useCase = smets2UseCase(apdu.messageCode, this.family);
    if (!useCase) return reject('8F1E', `message code 0x${hex4(apdu.messageCode)} is not a use case this ${this.variant} runs`, 'unknown-use-case');
    const roles = this.anchors.rolesOf(apdu.originator);
    if (roles.length === 0) return reject('8F53', `originator ${apdu.originator} is in no trust anchor cell`);
    const role = useCase.roles.find((r) => roles.includes(r));
    if (!role) return reject('8F30', `${roles.join('/')} may not send ${useCase.codec.name} (allowed: ${useCase.roles.join(', ')})`);
    if (useCase.codec.critical) {
      const ds = this.anchors.cell(role)?.ds;
      if (!apdu.signature) return reject('8F53', `${useCase.codec.name} is critical but carries no signature`);
      if (!ds) return reject('8F53', `no ${role} digital signing key in the trust anchors`);
      if (!verifyApdu(apdu, ds) && !defects.has('meter-skips-signature-check')) return reject('8F53', `signature does not verify with the ${role} trust anchor`);
    }
    const highest = this.highestCounter(apdu.originator);
    if (highest !== undefined && apdu.counter <= highest && !defects.has('meter-skips-counter-check')) return reject('8F60', `counter ${apdu.counter} is not above ${highest}`);
    // No use case this meter runs has a date-time or supplementary remote party fields in its Command header.
    if (apdu.dateTime !== null) return reject('8F1E', `${useCase.codec.name} Command carries a date-time`, 'malformed');
    if (apdu.supplementary.length > 0) return reject('8F1E', `${useCase.codec.name} Command carries ${apdu.supplementary.length} octets after its message code`, 'malformed');
    const parsed = useCase.codec.parse(apdu);
    if (!parsed.ok) return reject('8F1E', `${useCase.codec.name} content: ${parsed.error.toString()}`, 'malformed');
    // A payment-mode payload says which ESME it is built for (a twin's names its second element's register).
    const builtFor = (parsed.value as { variant?: string }).variant;
    if (builtFor !== undefined && builtFor !== this.variant) return reject('8F1E', `${useCase.codec.name} content is built for a ${builtFor} meter, not this ${this.variant}`, 'malformed');

    // The trust anchor cell's EUI string is shared by the fleet; the one decoded from the frame is not.
    const source = this.anchors.cell(role)?.eui ?? apdu.originator;
    this.acceptCounter(source, apdu.counter);
    const op = useCase.operation(parsed.value);
    const ctx: CommandContext = { source, counter: apdu.counter, useCase: useCase.codec.name };
    const outcome = this.perform(op, ctx, this.alertTargets(op, apdu));
    return this.respond({ apdu, role }, useCase.codec.name, useCase.codec.critical, useCase.codec.responseDateTime, outcome);
  }

  private drop(reason: string, apdu?: GeneralSigning): null {
    this.logSecurity({ code: '8F1E', reason, ...(apdu ? { source: apdu.originator, counter: apdu.counter, messageCode: apdu.messageCode } : {}) });
    return null;
  }

  private sign(apdu: GeneralSigning): Uint8Array {
    const key = this.env.defects.has('meter-signs-with-uncertified-key') ? uncertifiedKey().privateKey : this.keys.ds.privateKey;
    return encodeGeneralSigning(signApdu(apdu, key));
  }

  private rejection(command: GeneralSigning, why: Rejection): Uint8Array {
    const content = this.family === 'esme' ? esmeRejection(command.content, command.counter, why) : gsmeRejection(command.content, why);
    const known = smets2UseCase(command.messageCode, this.family);
    const at = !known || known.codec.responseDateTime ? new Date(this.now()) : null;
    return this.sign(buildResponse({ command, device: this.eui, at, content }));
  }

  private respond(a: Accepted, useCase: string, critical: boolean, dateTime: boolean, outcome: OperationOutcome): Uint8Array {
    const content =
      this.family === 'esme'
        ? esmeResponse(a.apdu.content, outcome)
        : gsmeResponse(useCase, a.apdu.content, outcome, { emergencyCreditLimit: this.prepayment.emergencyCreditLimit, emergencyCreditThreshold: this.prepayment.emergencyCreditThreshold, meterBalance: this.meterBalance });
    const response = buildResponse({ command: a.apdu, device: this.eui, at: dateTime ? new Date(this.now()) : null, content });
    const peerKa = this.anchors.cell(a.role)?.ka;
    if (critical || !peerKa) return this.sign(response);
    // Non-critical: General-Ciphering with a MAC for the originator (signature length 00, as RTDS has it).
    const payload = Buffer.concat([encodeGeneralSigning(response), Uint8Array.of(0)]);
    const header = { securityControl: GBCS_SECURITY_CONTROL, invocationCounter: 0 };
    const ownKa = this.env.defects.has('meter-macs-with-uncertified-key') ? uncertifiedKey() : this.keys.ka;
    const mac = computeMac(header, payload, response, macKey(response, ownKa, peerKa));
    return encodeGeneralCiphering({ ...header, payload, mac });
  }

  /** Which 8F66 alerts a future-dated command raises when it executes. */
  private alertTargets(op: MeterOperation, apdu: GeneralSigning): AlertTargets | undefined {
    if (!('execution' in op) || op.execution.kind !== 'at') return undefined;
    if (this.family === 'esme') {
      // One alert per activation-time attribute, in command order: the SETs whose value is the execution time.
      const when = Buffer.from(encodeDlmsExecution(op.execution));
      const req = decodeResult(() => readAccessRequest(new ByteReader(apdu.content)));
      if (!req.ok) return undefined;
      const attributes = req.value.specs
        .filter((s, i) => {
          const d = req.value.data[i];
          return s.kind === 'set' && d?.type === 'octet-string' && when.equals(d.value);
        })
        .map((s) => s.target);
      return { attributes };
    }
    // One alert per ZCL command that carries its own implementation time.
    const cs = decodeResult(() => readComponents(apdu.content, 'command'));
    if (!cs.ok) return undefined;
    return { commands: cs.value.filter(isTimed).map((c) => ({ clusterId: c.clusterId, frameControl: c.frameControl, commandId: c.commandId })) };
  }

  /** A change's alert carries its use case's message code, and names DLMS attributes (ESME) or ZCL commands (GSME). */
  protected pendingChangeProblem(change: Omit<PendingChange, 'timer'>): string | null {
    if (!codecByName(change.ctx.useCase)) return `${change.ctx.useCase} is not a GBCS use case`;
    const targets = change.alertInfo as AlertTargets | undefined;
    if (targets && 'attributes' in targets !== (this.family === 'esme')) return `its alert names ${'attributes' in targets ? 'DLMS attributes' : 'ZCL commands'}, which a ${this.family.toUpperCase()} does not raise`;
    return null;
  }

  protected futureDatedExecuted(change: PendingChange): void {
    const targets = change.alertInfo as AlertTargets | undefined;
    if (!targets) return;
    const base = { device: this.eui, recipient: change.ctx.source, executedAt: new Date(change.at), messageCode: codecByName(change.ctx.useCase)!.code, counter: change.ctx.counter };
    const alerts =
      'attributes' in targets
        ? targets.attributes.map((attribute) => buildFutureDatedAlert({ ...base, alertCounter: BigInt(this.nextAlertCounter()), attribute }))
        : targets.commands.map((zcl) => buildFutureDatedAlert({ ...base, alertCounter: BigInt(this.nextAlertCounter()), zcl }));
    for (const a of alerts) this.output?.(this.sign(a));
  }

  protected trustSnapshot(): Json {
    return this.anchors.toJSON();
  }

  /** The trust anchors are the meter's to keep: a restart must not hand it other keys (a revoked one replaced, say). */
  protected override environmentState(): Json {
    return { trustAnchors: saveTrustAnchors(this.anchors) };
  }

  protected override readEnvironment(saved: unknown): () => void {
    const anchors = restoreTrustAnchors((saved as { trustAnchors?: unknown } | null)?.trustAnchors);
    return () => this.setTrustAnchors(anchors);
  }
}
