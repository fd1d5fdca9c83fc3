/**
 * The seed scenario (SPEC.md, S1–S3) by keyboard only, against real libvirt, with the element that has the keyboard
 * checked at every step: open the domain from the sidebar, revert snap1 with a new branch, switch back to main,
 * delete snap2. Dialogs take the keyboard when they open (never on a destructive Confirm), keep Tab inside, close
 * on Esc without confirming, and after an operation the canvas has the keys with the landing node selected.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { seedLab } from './seed-lab';

const lab = seedLab('kbd');

/** What has the keyboard: its test id, tag, text, and whether it is inside the plan dialog. */
function focused(page: Page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    return {
      testid: el?.getAttribute('data-testid') ?? null,
      tag: el?.tagName.toLowerCase() ?? null,
      text: (el?.textContent ?? '').trim().slice(0, 40),
      inDialog: el?.closest('[data-testid="plan-dialog"]') !== null && el?.closest('[data-testid="plan-dialog"]') !== undefined,
    };
  });
}

/** Presses `key` and checks the canvas still has the keyboard and the details show `title`. */
async function step(page: Page, key: string, title: string): Promise<void> {
  await page.keyboard.press(key);
  await expect(page.getByTestId('details-title')).toHaveText(title);
  expect((await focused(page)).testid).toBe('graph-canvas');
}

test('the seed by keyboard only: revert with a new branch, switch back, delete snap2, the keyboard never lost', async ({ page, shot }) => {
  const domain = lab.buildSeed('seed');
  await page.goto(lab.url);
  await expect(page.getByTestId(`domain-${domain}`)).toBeVisible();

  // Tab to the domain list in the sidebar (one tab stop), the arrows to the domain, Enter opens it; Tab on to the graph.
  for (let i = 0; i < 60 && !((await focused(page)).testid ?? '').startsWith('domain-'); i++) await page.keyboard.press('Tab');
  for (let i = 0; i < 500 && (await focused(page)).testid !== `domain-${domain}`; i++) await page.keyboard.press('ArrowDown');
  expect((await focused(page)).testid).toBe(`domain-${domain}`);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('current-domain')).toHaveText(domain);
  expect((await focused(page)).testid).toBe(`domain-${domain}`);
  for (let i = 0; i < 60 && (await focused(page)).testid !== 'graph-canvas'; i++) await page.keyboard.press('Tab');
  expect((await focused(page)).testid).toBe('graph-canvas');

  // End: You are here; left along the chain to snap1.
  await step(page, 'End', 'main');
  await step(page, 'ArrowLeft', 'snap3');
  await step(page, 'ArrowLeft', 'snap2');
  await step(page, 'ArrowLeft', 'snap1');

  // Enter opens the menu with the keyboard in it; b opens the preview with the keyboard on the name.
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-menu')).toBeVisible();
  expect(await page.evaluate(() => document.activeElement?.closest('[data-testid="node-menu"]') !== null)).toBe(true);
  await page.keyboard.press('b');
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog).toBeVisible();
  expect(await focused(page)).toMatchObject({ tag: 'input', inDialog: true });
  await page.keyboard.type('snap1.1');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  await expect(dialog.getByTestId('plan-summary')).toHaveText('You will be at snap1 on a new branch snap1.1; your current state stays as branch main.');
  // You are here moves in the preview: the new branch says You will be here, the You are here of now is dimmed;
  // the view has panned so both are in sight beside the dialog.
  await expect(page.getByTestId('ghost-snap1.1').getByTestId('you-will-be-here')).toBeVisible();
  await expect(page.getByTestId('node-main').getByTestId('you-are-here')).toHaveClass(/is-before/);

  // Tab and Shift+Tab stay in the dialog, round and round.
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    expect((await focused(page)).inDialog).toBe(true);
  }
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Shift+Tab');
    expect((await focused(page)).inDialog).toBe(true);
  }
  await shot(page, 'keyboard-seed-1-preview');

  // Esc cancels (nothing runs) and gives the keyboard back to the graph, on snap1.
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  expect((await focused(page)).testid).toBe('graph-canvas');
  await expect(page.getByTestId('details-title')).toHaveText('snap1');
  await expect(page.getByTestId('node-snap1.1')).toHaveCount(0);

  // The letter on the selected node opens it again; Enter in the name field confirms the ready plan.
  await page.keyboard.press('b');
  await expect(dialog).toBeVisible();
  expect(await focused(page)).toMatchObject({ tag: 'input', inDialog: true });
  await page.keyboard.type('snap1.1');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-snap1.1')).toHaveAttribute('data-current', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText(`Revert ${domain} to snap1 on a new branch snap1.1: done.`);
  // The keyboard is on the graph, on the node the revert landed on.
  await expect(page.getByTestId('details-title')).toHaveText('snap1.1');
  await expect.poll(async () => (await focused(page)).testid).toBe('graph-canvas');
  await shot(page, 'keyboard-seed-2-forked');

  // Back to main: left to snap1, right to a child, down or up to snap2, End to the tip of its branch.
  await step(page, 'ArrowLeft', 'snap1');
  await page.keyboard.press('ArrowRight');
  for (const key of ['ArrowDown', 'ArrowUp']) {
    if ((await page.getByTestId('details-title').textContent()) === 'snap2') break;
    await page.keyboard.press(key);
  }
  await expect(page.getByTestId('details-title')).toHaveText('snap2');
  await step(page, 'End', 'main');
  // w: switch. Not destructive: the keyboard goes to Confirm once the plan is ready.
  await page.keyboard.press('w');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  await expect.poll(async () => (await focused(page)).text).toBe('Confirm');
  await expect(dialog.getByTestId('plan-summary')).toHaveText('You will be on branch main; your current state stays as branch snap1.1.');
  // main will be You are here; the You are here of now (snap1.1) is dimmed.
  await expect(page.getByTestId('node-main').getByTestId('you-will-be-here')).toBeVisible();
  await expect(page.getByTestId('node-snap1.1').getByTestId('you-are-here')).toHaveClass(/is-before/);
  await shot(page, 'keyboard-seed-2b-switch-preview');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-main')).toHaveAttribute('data-current', 'true', { timeout: 60_000 });
  await expect(page.getByTestId('details-title')).toHaveText('main');
  await expect.poll(async () => (await focused(page)).testid).toBe('graph-canvas');

  // d: delete snap2. Destructive: the keyboard starts on Cancel, never on Confirm; Tab reaches Confirm.
  await step(page, 'ArrowLeft', 'snap3');
  await step(page, 'ArrowLeft', 'snap2');
  await page.keyboard.press('d');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  expect(await focused(page)).toMatchObject({ text: 'Cancel', inDialog: true });
  await expect(dialog.getByTestId('plan-summary')).toContainText(`Snapshot snap2 of ${domain} is deleted`);
  await shot(page, 'keyboard-seed-3-delete-preview');
  await page.keyboard.press('Tab');
  expect(await focused(page)).toMatchObject({ text: 'Confirm', inDialog: true });
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-snap2')).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId('ops-outcome')).toContainText(`Delete snapshot snap2 of ${domain}: done.`);
  // snap2 is gone: the selection goes to You are here, and the graph keeps the keyboard.
  await expect(page.getByTestId('details-title')).toHaveText('main');
  await expect.poll(async () => (await focused(page)).testid).toBe('graph-canvas');
  await step(page, 'ArrowLeft', 'snap3');
  await shot(page, 'keyboard-seed-4-deleted');
});
