// Flag parsing for the `wgrad` subcommands: node:util's parseArgs, with
// errors that list the valid flags, and number checks that name the flag.
import { parseArgs } from 'node:util';

export interface FlagSpec {
  type: 'string' | 'boolean';
  default?: string | boolean;
  help: string;
}

export type Flags = Record<string, FlagSpec>;
export type FlagValues = Record<string, string | boolean | undefined>;

/**
 * `--steps -5` reads to parseArgs as a flag with no value followed by an
 * option '-5'; joined as `--steps=-5` it reaches the number checks, which
 * say what is wrong with it.
 */
function joinNegativeValues(args: string[], flags: Flags): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : '';
    if (flags[name]?.type === 'string' && i + 1 < args.length && /^-[\d.]/.test(args[i + 1])) {
      out.push(`${args[i]}=${args[++i]}`);
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

export function parseFlags(command: string, given: string[], flags: Flags): FlagValues {
  const args = joinNegativeValues(given, flags);
  const options = Object.fromEntries(Object.entries(flags).map(([name, spec]) => [name, { type: spec.type }]));
  let values: FlagValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true }) as { values: FlagValues; positionals: string[] });
  } catch (error) {
    throw new Error(`${command}: ${(error as Error).message.split('.')[0]}; valid flags: ${Object.keys(flags).map((f) => `--${f}`).join(' ')}`);
  }
  if (positionals.length) throw new Error(`${command}: unexpected argument '${positionals[0]}'; valid flags: ${Object.keys(flags).map((f) => `--${f}`).join(' ')}`);
  for (const [name, spec] of Object.entries(flags)) {
    if (values[name] === undefined && spec.default !== undefined) values[name] = spec.default;
  }
  return values;
}

export function flagHelp(flags: Flags): string {
  const lefts = Object.entries(flags).map(([name, spec]) => `  --${name}${spec.type === 'string' ? ' X' : ''}`);
  const width = Math.max(22, ...lefts.map((l) => l.length + 2));
  return Object.values(flags)
    .map((spec, i) => {
      const fallback = spec.default !== undefined && spec.default !== false ? ` (default ${spec.default})` : '';
      return `${lefts[i].padEnd(width)}${spec.help}${fallback}`;
    })
    .join('\n');
}

/** The flag as an integer ≥ min; an error names the command and the flag. */
export function intFlag(command: string, values: FlagValues, name: string, min = 1): number {
  const raw = values[name];
  const n = Number(raw);
  // digits only: Number() would also take '1e1', '0x4' and ' 7 '
  if (typeof raw !== 'string' || !/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) {
    throw new Error(`${command}: --${name} must be an integer ≥ ${min}, got '${raw}'`);
  }
  return n;
}

/** A decimal number as people write one (0.001, 1e-3, .5), not hex, binary or blanks. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The flag as a finite number > 0. */
export function positiveFlag(command: string, values: FlagValues, name: string): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || !DECIMAL.test(raw) || !Number.isFinite(n) || n <= 0) throw new Error(`${command}: --${name} must be a number > 0, got '${raw}'`);
  return n;
}

/** The flag as a finite number ≥ 0. */
export function nonNegativeFlag(command: string, values: FlagValues, name: string): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || !DECIMAL.test(raw) || !Number.isFinite(n) || n < 0) throw new Error(`${command}: --${name} must be a number ≥ 0, got '${raw}'`);
  return n;
}

/** The flag as a number in [0, 1). */
export function fractionFlag(command: string, values: FlagValues, name: string): number {
  const raw = values[name];
  const n = Number(raw);
  if (typeof raw !== 'string' || !DECIMAL.test(raw) || !(n >= 0 && n < 1)) throw new Error(`${command}: --${name} must be a number in [0, 1), got '${raw}'`);
  return n;
}

/** The flag as two numbers in [0, 1), written "a,b" (Adam's betas). */
export function fractionPairFlag(command: string, values: FlagValues, name: string): [number, number] {
  const raw = values[name];
  const parts = typeof raw === 'string' ? raw.split(',') : [];
  const numbers = parts.map(Number);
  if (parts.length !== 2 || !parts.every((p) => DECIMAL.test(p.trim())) || !numbers.every((n) => n >= 0 && n < 1)) {
    throw new Error(`${command}: --${name} must be two numbers in [0, 1) written a,b (as 0.5,0.999), got '${raw}'`);
  }
  return [numbers[0], numbers[1]];
}

export function stringFlag(command: string, values: FlagValues, name: string): string {
  const raw = values[name];
  if (typeof raw !== 'string' || raw === '') throw new Error(`${command}: --${name} is required`);
  return raw;
}

/** One of `choices`; the error lists them. */
export function choiceFlag<T extends string>(command: string, values: FlagValues, name: string, choices: readonly T[]): T {
  const raw = stringFlag(command, values, name);
  if (!choices.includes(raw as T)) throw new Error(`${command}: unknown --${name} '${raw}'; valid: ${choices.join(', ')}`);
  return raw as T;
}

/** Whether `flag` is on the command line itself (as --flag or --flag=value), not filled in from its default. */
export function flagGiven(args: string[], flag: string): boolean {
  return args.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
}

/**
 * Resuming with the run's own command line: each run flag that is given
 * must agree with the checkpoint. `pairs` maps a flag to the value it asks
 * for and the checkpoint's; the first that differs is refused, naming both.
 */
export function checkResumeFlags(command: string, args: string[], path: string, pairs: Record<string, [asked: unknown, saved: unknown]>): void {
  for (const [flag, [asked, saved]] of Object.entries(pairs)) {
    if (!flagGiven(args, flag) || String(asked) === String(saved)) continue;
    throw new Error(`${command}: --${flag} ${asked} differs from the checkpoint's ${saved} (${path}); ` +
      'drop the flag to go on with the checkpoint\'s, or start a new run with another --out');
  }
}
