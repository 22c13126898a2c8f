// What the training-page tests share: the hooks' types, a few steps of
// training through the page's own buttons, and the CLI run in a child
// process (dist/ is built by npm's pretest).
import { execFileSync } from 'node:child_process';
import { expect, type Page } from '@playwright/test';

/** The hooks demos/train/training-page.ts puts on window.__demo. */
export interface TrainingHooks {
  start(): Promise<void>;
  pause(): Promise<void>;
  running(): boolean;
  steps(): number;
  trainMore(n: number): Promise<void>;
  losses(): Record<string, number> | null;
  chartPoints(): Record<string, number>;
  gridPixels(): number[];
  gridDraws(): number;
  status(): string;
  loadCheckpoint(bytes: string, name?: string): Promise<void>;
  checkpointBase64(): Promise<string>;
}

export function hooks(page: Page) {
  return {
    call: <K extends keyof TrainingHooks>(name: K, ...args: unknown[]) =>
      page.evaluate(
        ([n, a]) => (window.__demo![n as string] as (...x: unknown[]) => unknown)(...(a as unknown[])),
        [name, args] as const,
      ) as Promise<Awaited<ReturnType<TrainingHooks[K]>>>,
  };
}

/** Presses Start and waits until the page stopped by itself at `steps` (the URL's ?steps=). */
export async function trainThroughButtons(page: Page, steps: number): Promise<void> {
  await page.getByTestId('start').click();
  await page.waitForFunction(
    (n) => {
      const demo = window.__demo as unknown as TrainingHooks;
      return demo.steps() >= n && !demo.running();
    },
    steps,
    { timeout: 240_000, polling: 250 },
  );
  const status = await hooks(page).call('status');
  expect(status).toMatch(/Stopped at step/);
}

/** Runs `node bin/wgrad.js ...args`; returns stdout. Fails the test with stderr on a non-zero exit. */
export function wgrad(args: string[]): string {
  try {
    return execFileSync('node', ['bin/wgrad.js', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`wgrad ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** The largest difference between two RGBA pictures, which must have the same size. */
export function maxPixelDifference(a: { width: number; height: number; rgba: Uint8Array }, b: { width: number; height: number; rgba: Uint8Array }): number {
  expect(`${a.width}×${a.height}`).toBe(`${b.width}×${b.height}`);
  let worst = 0;
  for (let i = 0; i < a.rgba.length; i++) worst = Math.max(worst, Math.abs(a.rgba[i] - b.rgba[i]));
  return worst;
}
