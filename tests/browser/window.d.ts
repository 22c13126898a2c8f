// What tests/browser/main.ts publishes on the page for gpu-checks.spec.ts.
import type { CaseResult } from '../cases/types';

declare global {
  interface Window {
    __wgradResults?: CaseResult[];
    __wgradDone?: boolean;
    __wgradError?: string;
  }
}
