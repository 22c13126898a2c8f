// The contract between the shared GPU check cases (tests/cases/) and the two
// runners that execute them: vitest in Node (Dawn) and Playwright in Chromium
// (tests/browser/).

export interface CaseResult {
  name: string;
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  message?: string;
}

export interface Case {
  name: string;
  run(): Promise<CaseResult>;
}
