/**
 * Opt-in hardware job: a real meter on a real coordinator, named by SMETS_HIL_ZIGBEE_PORT (serial path or
 * tcp://) and SMETS_HIL_ZIGBEE_METER (its EUI); optional SMETS_HIL_ZIGBEE_ADAPTER, _DATA, _INSTALL_CODE,
 * _JOIN_SECONDS, _COMMAND_HEX (a GBCS command the meter will accept). Without a port it is reported as not run.
 * The meter must already be able to join this coordinator: see the README (ZigBee, real meters and CBKE).
 */
import test from 'ava';
import { checkOptionsFrom, checkZigbeeMeter } from '../../../../devices/transports/zigbee/check.ts';

const o = checkOptionsFrom([], process.env);

if (!o) {
  test.skip('NOT RUN (needs hardware): real meter over ZigBee; set SMETS_HIL_ZIGBEE_PORT and SMETS_HIL_ZIGBEE_METER to run it', () => undefined);
} else {
  test(`real meter over ZigBee (hardware): ${o.meter} on ${o.port}`, async (t) => {
    t.timeout((o.joinTimeoutMs ?? 120_000) + 120_000);
    const r = await checkZigbeeMeter({ ...o, log: (level, m) => level !== 'debug' && t.log(`[${level}] ${m}`) });
    t.log(JSON.stringify(r, null, 2));
    t.not(r.tunnelId, null, 'the meter accepted a GBCS tunnel');
    if (r.paymentModeError) t.log(`payment mode not readable at the ZigBee level: ${r.paymentModeError}`);
    if (o.command) t.truthy(r.command?.replyOctets, r.command?.error ?? 'no reply');
  });
}
