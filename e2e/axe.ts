/**
 * axe-core on the page under test: what it finds that is serious or critical fails the test, each violation with
 * the selectors of its nodes. The page's Content Security Policy blocks injected script tags, so axe's source is
 * evaluated in the page as a string (page.evaluate), never loaded by a tag.
 */
import { readFileSync } from 'node:fs';
import { expect, type Page } from '@playwright/test';

let source: string | null = null;

/** axe.min.js, read once. */
function axeSource(): string {
  source ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  return source;
}

/** One violation as axe reports it, cut to what a failure message needs. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** Runs axe on the page (or on `include`, a selector) and returns its serious and critical violations. */
export async function axeViolations(page: Page, include?: string): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => 'axe' in window);
  if (!loaded) await page.evaluate(axeSource());
  return page.evaluate(async (context) => {
    type Result = { violations: Array<{ id: string; impact?: string | null; help: string; nodes: Array<{ target: unknown[]; any: Array<{ message: string }> }> }> };
    const axe = Reflect.get(window, 'axe') as { run: (context: unknown, options: unknown) => Promise<Result> };
    const result = await axe.run(context ?? document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n) => `${n.target.map(String).join(' ')} (${n.any[0]?.message ?? ''})`) }));
  }, include ?? null);
}

/** Fails the test (at its end) when axe finds a serious or critical violation on the page (`what` names the screen in the message). */
export async function expectNoSeriousViolations(page: Page, what: string, include?: string): Promise<void> {
  const found = await axeViolations(page, include);
  const words = found.map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 8).join('\n    ')}`).join('\n  ');
  // Soft: one run lists every screen's violations; the test still fails at its end.
  expect.soft(found, `axe on ${what}:\n  ${words}`).toEqual([]);
}
