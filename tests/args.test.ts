// The number flags of the `wgrad` commands: what a user types by mistake is
// refused naming the flag and what it takes.
import { describe, it, expect } from 'vitest';
import { checkResumeFlags, fractionFlag, fractionPairFlag, intFlag, parseFlags, positiveFlag, type Flags } from '../src/cli/args';

const FLAGS: Flags = {
  steps: { type: 'string', help: '' },
  lr: { type: 'string', help: '' },
  ema: { type: 'string', help: '' },
  quiet: { type: 'boolean', help: '' },
};

describe('number flags', () => {
  it('a negative value reaches the number check instead of parseArgs\'s "ambiguous"', () => {
    const values = parseFlags('wgrad x', ['--steps', '-5', '--quiet'], FLAGS);
    expect(() => intFlag('wgrad x', values, 'steps')).toThrow(/wgrad x: --steps must be an integer ≥ 1, got '-5'/);
    expect(() => positiveFlag('wgrad x', parseFlags('wgrad x', ['--lr', '-.5'], FLAGS), 'lr')).toThrow(/--lr must be a number > 0, got '-.5'/);
  });

  it('integers are digits: 1e1, 0x4, 2.0 and blanks are refused', () => {
    for (const raw of ['1e1', '0x4', '2.0', ' 7', '', '9007199254740993']) {
      expect(() => intFlag('wgrad x', { steps: raw }, 'steps')).toThrow(new RegExp(`--steps must be an integer ≥ 1, got '${raw}'`));
    }
    expect(intFlag('wgrad x', { steps: '40' }, 'steps')).toBe(40);
  });

  it('decimals take the forms people write, not hex', () => {
    for (const [raw, value] of [['0.001', 0.001], ['1e-3', 1e-3], ['.5', 0.5], ['2', 2]] as const) expect(positiveFlag('wgrad x', { lr: raw }, 'lr')).toBe(value);
    for (const raw of ['0x1', 'Infinity', '1/2']) expect(() => positiveFlag('wgrad x', { lr: raw }, 'lr')).toThrow(/--lr must be a number > 0/);
    expect(fractionFlag('wgrad x', { ema: '0.999' }, 'ema')).toBe(0.999);
    expect(() => fractionFlag('wgrad x', { ema: '1' }, 'ema')).toThrow(/--ema must be a number in \[0, 1\), got '1'/);
    expect(fractionPairFlag('wgrad x', { betas: '0,0.999' }, 'betas')).toEqual([0, 0.999]);
    expect(fractionPairFlag('wgrad x', { betas: '.5, 9e-1' }, 'betas')).toEqual([0.5, 0.9]);
    for (const raw of ['0.5', '0.5,0.9,0.99', '0.5,1', '-0.1,0.9', '0.5,', 'a,b', '0x0,0.9']) {
      expect(() => fractionPairFlag('wgrad x', { betas: raw }, 'betas')).toThrow(`--betas must be two numbers in [0, 1) written a,b (as 0.5,0.999), got '${raw}'`);
    }
  });

  it('resuming: a given flag that agrees passes, one that differs names both values, one not given is not compared', () => {
    const args = ['--lr', '1e-3', '--batch=8'];
    expect(() => checkResumeFlags('wgrad x', args, 'c.safetensors', { lr: [0.001, 0.001], batch: [8, 8], seed: [1, 0] })).not.toThrow();
    expect(() => checkResumeFlags('wgrad x', args, 'c.safetensors', { lr: [0.001, 0.001], batch: [8, 16] }))
      .toThrow(/wgrad x: --batch 8 differs from the checkpoint's 16 \(c\.safetensors\)/);
  });
});
