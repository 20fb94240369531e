import test from 'ava';
import { ECS04a, GCS40a } from '../../protocol/gbcs/usecases/meter-balance.ts';
import { type Eui } from '../../protocol/smki/eui.ts';
import { SimClock } from '../../devices/clock.ts';
import { connectInMemory } from '../../devices/connect.ts';
import { Smets2Meter } from '../../devices/smets2/meter.ts';
import { build, ESME_EUI, eui, GSME_EUI, keys, meter, pki } from './support.ts';

test('a host routes each command to the meter it is addressed to, and answers come back', async (t) => {
  const esme = meter('esme').meter;
  const gsme = meter('gsme').meter;
  const c = await connectInMemory([esme, gsme]);
  await c.transport.request(build.command(ECS04a, { amount: 3 }, { device: ESME_EUI, counter: 1n }));
  await c.transport.request(build.command(GCS40a, { amount: 4 }, { device: GSME_EUI, counter: 1n }));
  t.is(esme.meterBalance, 3);
  t.is(gsme.meterBalance, 4);
  t.is(c.host.stats.delivered, 2);
  await c.close();
});

test('a fleet host creates meters lazily, the first time one is addressed', async (t) => {
  const clock = new SimClock();
  const created: Eui[] = [];
  const c = await connectInMemory([], {
    host: {
      resolve: (e) => {
        if (!e.startsWith('00DB12345678')) return undefined;
        created.push(e);
        return new Smets2Meter({ eui: e, variant: 'esme', keys, trustAnchors: pki.anchors, clock });
      },
    },
  });
  const target = eui('00DB123456780042');
  await c.transport.request(build.command(ECS04a, { amount: 9 }, { device: target, counter: 1n }));
  await c.transport.request(build.command(ECS04a, { amount: 1 }, { device: target, counter: 2n }));
  t.deepEqual(created, [target]);
  t.is(c.host.size, 1);
  await c.transport.sendRaw(build.command(ECS04a, { amount: 1 }, { device: eui('0011223344556677'), counter: 1n }));
  await new Promise((r) => setImmediate(r));
  t.is(c.host.stats.unroutable, 1);
  await c.close();
});

test('a lone meter receives frames too broken to address, and logs them', async (t) => {
  const esme = meter('esme').meter;
  const c = await connectInMemory([esme]);
  await c.transport.sendRaw(Uint8Array.of(0xdd, 0x00, 0x01));
  for (let i = 0; i < 20 && (esme.snapshot().securityLog as unknown[]).length === 0; i++) await new Promise((r) => setImmediate(r));
  t.like((esme.snapshot().securityLog as object[])[0], { code: '8F1E' });
  await c.close();
});

test('a device that throws on a frame is reported and the host serves on: the other meters still answer', async (t) => {
  const esme = meter('esme').meter;
  const faulty = { eui: eui('00DB0000000000FF'), setOutput: () => {}, handleFrame: () => { throw new Error('emulator defect'); } };
  const reported: string[] = [];
  const c = await connectInMemory([esme, faulty], { host: { onDeviceError: (e, error) => reported.push(`${e}: ${error.message}`) } });
  await c.transport.sendRaw(build.command(ECS04a, { amount: 1 }, { device: faulty.eui, counter: 1n }));
  await c.transport.request(build.command(ECS04a, { amount: 3 }, { device: ESME_EUI, counter: 1n }));
  t.deepEqual(reported, ['00DB0000000000FF: emulator defect']);
  t.is(c.host.stats.deviceErrors, 1);
  t.is(esme.meterBalance, 3);
  await c.close();
});

test('a device added under an EUI already hosted replaces the old one, which can no longer send over the link', async (t) => {
  const c = await connectInMemory([]);
  const device = (name: string) => {
    let out: ((f: Uint8Array) => void) | null = null;
    return { eui: eui('00DB000000000042'), name, setOutput: (s: ((f: Uint8Array) => void) | null) => void (out = s), handleFrame: () => {}, emit: () => out?.(Buffer.from(name)) };
  };
  const old = device('old');
  const replacement = device('new');
  c.host.add(old).add(replacement);
  const before = c.host.stats.sent;
  old.emit();
  replacement.emit();
  await new Promise((r) => setTimeout(r, 20));
  t.is(c.host.get(old.eui), replacement);
  t.is(c.host.stats.sent - before, 1, 'only the replacement sends');
  await c.close();
});
