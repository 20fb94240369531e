/**
 * The catalogue of seeded defects (negative controls): those of the mock DCC and those of the emulated meters.
 * A run with one seeded must turn the scenarios that rely on the control it removes red.
 */
import { METER_DEFECTS, type MeterDefect } from '../devices/smets2/meter.ts';
import { DEFECTS, type Defect } from '../emulator/service.ts';

export const ALL_DEFECTS: Readonly<Record<Defect | MeterDefect, string>> = { ...DEFECTS, ...METER_DEFECTS };
export type AnyDefect = keyof typeof ALL_DEFECTS;

export function isDefect(name: string): name is AnyDefect {
  return name in ALL_DEFECTS;
}

/** Which defects go to the mock DCC and which to the meters. */
export function splitDefects(names: readonly AnyDefect[]): { dcc: Defect[]; meter: MeterDefect[] } {
  return {
    dcc: names.filter((n): n is Defect => n in DEFECTS),
    meter: names.filter((n): n is MeterDefect => n in METER_DEFECTS),
  };
}
