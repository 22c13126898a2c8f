// The bench suite, the same in Node (main.ts) and in the browser (the bench
// demo page): every case's builder, the --filter match, and the loop that
// checks, times and disposes each case in turn.
import { kernelCases, type Case } from './cases';
import { dcganStepCase, unetStepCase, vaeStepCase } from './models';
import { measure, type CaseResult, type Variant } from './harness';
import type { Tfjs } from './tfjs';

export interface CaseBuilder {
  name: string;
  kind: Case['kind'] | 'conv2d ×3';
  build(): Case[] | Promise<Case[]>;
}

/** Every case: the kernels at the models' layer shapes, then whole training steps. */
export function benchBuilders(tf: Tfjs, quick: boolean): CaseBuilder[] {
  return [
    ...kernelCases(tf, quick),
    { name: 'DCGAN step', kind: 'training step', build: () => [dcganStepCase(tf, quick)] },
    { name: 'VAE step', kind: 'training step', build: () => [vaeStepCase(tf, quick)] },
    { name: 'U-Net step', kind: 'training step', build: async () => [await unetStepCase(tf, quick)] },
  ];
}

const CONV_KINDS = ['conv2d', 'conv2d dgrad', 'conv2d wgrad'];

export interface SuiteOptions {
  quick: boolean;
  /**
   * matches a case's "kind name", case-insensitive (e.g. 'wgrad', 'U-Net',
   * 'conv2d dgrad DCGAN64'); several terms separated by commas match a case
   * that any of them matches; '' for all
   */
  filter: string;
  rounds: number;
  /** other ways of running wgrad's side, timed against its default (harness.ts) */
  variants?: Variant[];
  /** each result as soon as it is measured */
  onResult?: (r: CaseResult) => void;
  /** a case that could not be built, checked or timed; the suite goes on */
  onFailure?: (what: string, error: Error) => void;
}

/** Runs the matching cases one after the other; returns their results and how many failed. */
export async function runSuite(tf: Tfjs, o: SuiteOptions): Promise<{ results: CaseResult[]; failures: number }> {
  const terms = o.filter.toLowerCase().split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  const matches = (text: string) => terms.length === 0 || terms.some((t) => text.toLowerCase().includes(t));
  const results: CaseResult[] = [];
  let failures = 0;
  for (const builder of benchBuilders(tf, o.quick)) {
    const candidates = builder.kind === 'conv2d ×3' ? CONV_KINDS.map((k) => `${k} ${builder.name}`) : [`${builder.kind} ${builder.name}`];
    if (!candidates.some(matches)) continue;
    let cases: Case[];
    try {
      cases = await builder.build();
    } catch (error) {
      failures++;
      o.onFailure?.(`build ${builder.kind} ${builder.name}`, error as Error);
      continue;
    }
    for (const c of cases) {
      if (!matches(`${c.kind} ${c.name}`)) {
        c.dispose();
        continue;
      }
      try {
        const r = await measure(c, { rounds: o.rounds, warmup: o.quick ? 1 : 3, minRoundMs: o.quick ? 0 : 50, variants: o.variants });
        results.push(r);
        o.onResult?.(r);
      } catch (error) {
        failures++;
        o.onFailure?.(`${c.kind} ${c.name}`, error as Error);
      } finally {
        c.dispose();
      }
    }
  }
  return { results, failures };
}
