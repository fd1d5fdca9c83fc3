/**
 * Big graphs in the browser: an image folder with a chain of 300 images and a fork of 50 branches, built with
 * qemu-img, then searched, folded and walked by keyboard; Ctrl+click compares at once; and on the demo, the nodes
 * an operation leaves alone stay where they were on screen.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, startServe, stop, test } from './fixtures';

const PREFIX = `snaptree-e2e-nav-${process.pid}`;
const CHAIN = 300;
const FORKS = 50;
let dir: string;
let server: ChildProcess;
let url: string;

const img = (...args: string[]) => execFileSync('qemu-img', args);
const chainName = (i: number) => (i === 0 ? 'chain-base.qcow2' : `chain-${String(i).padStart(3, '0')}.qcow2`);

/** base → chain-001 → … → chain-299, each built on the one before; and fork-base → fork-hub → 50 tips. */
function buildFolder(folder: string): void {
  img('create', '-q', '-f', 'qcow2', join(folder, chainName(0)), '16M');
  // `-u` with a size: the backing file is named, not opened.
  for (let i = 1; i < CHAIN; i++) img('create', '-q', '-f', 'qcow2', '-u', '-b', join(folder, chainName(i - 1)), '-F', 'qcow2', join(folder, chainName(i)), '16M');
  img('create', '-q', '-f', 'qcow2', join(folder, 'fork-base.qcow2'), '16M');
  img('create', '-q', '-f', 'qcow2', '-u', '-b', join(folder, 'fork-base.qcow2'), '-F', 'qcow2', join(folder, 'fork-hub.qcow2'), '16M');
  for (let i = 1; i <= FORKS; i++) img('create', '-q', '-f', 'qcow2', '-u', '-b', join(folder, 'fork-hub.qcow2'), '-F', 'qcow2', join(folder, `fork-tip-${String(i).padStart(2, '0')}.qcow2`), '16M');
}

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
  const folder = join(dir, 'images');
  mkdirSync(folder);
  buildFolder(folder);
  ({ child: server, server: { url } } = await startServe(['--folder', folder], { SNAPTREE_DATA_DIR: join(dir, '.data') }));
});

test.afterAll(async () => {
  if (server) await stop(server);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const title = (page: Page) => page.getByTestId('details-panel').getByTestId('details-title');
const zoomOf = async (page: Page) => Number((await page.locator('.react-flow__viewport').getAttribute('style'))?.match(/scale\(([\d.]+)\)/)?.[1] ?? 0);

async function openFolderDomain(page: Page, name: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId(`domain-${name}`).click();
  await expect(page.getByTestId('current-domain')).toHaveText(name);
}

test('a 300-image chain opens readable with its middle folded; search opens the fold at a match; End and PageUp walk the branch', async ({ page, shot }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await openFolderDomain(page, chainName(0));
  const run = page.getByTestId('run-node');
  await expect(run).toBeVisible();
  await expect(run).toContainText('… 294 images …');
  // Its count is never cut.
  expect(await run.locator('.run-node-count').evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
  await page.waitForTimeout(400);
  expect(await zoomOf(page)).toBeGreaterThanOrEqual(0.86);
  await expect(page.getByTestId(`node-${chainName(1)}`)).toBeInViewport();
  await shot(page, 'nav-chain-300');

  // Ctrl+F finds a snapshot deep inside the fold: the run opens and the match is selected and in view.
  await page.getByTestId('graph-canvas').focus();
  await page.keyboard.press('Control+f');
  await expect(page.getByTestId('graph-search')).toBeFocused();
  await page.keyboard.type('chain-150');
  await expect(page.getByTestId('graph-search-status')).toHaveText('1 match');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('graph-search-status')).toHaveText('1 of 1');
  await expect(title(page)).toHaveText(chainName(150));
  await expect(page.getByTestId(`node-${chainName(150)}`)).toBeInViewport();
  await expect(page.getByTestId(`node-${chainName(150)}`).locator('..')).toHaveAttribute('aria-label', `Snapshot ${chainName(150)}`);
  await expect(run).toHaveCount(0);
  await page.waitForTimeout(400);
  await shot(page, 'nav-search');
  // No match says so; Esc clears the box and gives the keyboard back to the canvas.
  await page.getByTestId('graph-search').fill('no-such-image');
  await expect(page.getByTestId('graph-search-status')).toHaveText('No match');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('graph-search')).toHaveValue('');
  await expect(page.getByTestId('graph-canvas')).toBeFocused();

  // End: to the tip of the branch; PageUp: ten back along it; Home: to the root.
  await page.keyboard.press('End');
  await expect(title(page)).toHaveText(chainName(299));
  await expect(page.getByTestId(`node-${chainName(299)}`)).toBeInViewport();
  await page.waitForTimeout(400);
  await shot(page, 'nav-end');
  await page.keyboard.press('PageUp');
  await expect(title(page)).toHaveText(chainName(289));
  await page.keyboard.press('PageUp');
  await expect(title(page)).toHaveText(chainName(279));
  await page.keyboard.press('PageDown');
  await expect(title(page)).toHaveText(chainName(289));
  await page.keyboard.press('Home');
  await expect(title(page)).toHaveText(chainName(0));
  await expect(page.getByTestId(`node-${chainName(0)}`)).toBeInViewport();
  // The fold stays open for this domain while the app runs.
  await expect(page.getByTestId('run-node')).toHaveCount(0);
  // Dark, after a reload (the page forgets opened folds): the fold and a search that finds nothing read as well.
  await page.getByRole('button', { name: 'Toggle light and dark theme' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await openFolderDomain(page, chainName(0));
  await expect(page.getByTestId('run-node')).toBeVisible();
  await page.getByTestId('graph-search').fill('no-such-image');
  await expect(page.getByTestId('graph-search-status')).toHaveText('No match');
  // The first arrow selects the root; three more to the right reach the fold, which is selected like a node.
  await page.getByTestId('graph-canvas').focus();
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('run-node')).toHaveClass(/is-selected/);
  await page.waitForTimeout(400);
  await shot(page, 'nav-chain-300-dark');
  expect(errors).toEqual([]);
});

test('a 50-branch fork is navigable: readable, searchable, walked by arrows; edges are no Tab stops', async ({ page, shot }) => {
  await openFolderDomain(page, 'fork-base.qcow2');
  await expect(page.getByTestId('node-fork-hub.qcow2')).toBeVisible();
  await page.waitForTimeout(400);
  expect(await zoomOf(page)).toBeGreaterThanOrEqual(0.86);
  await page.getByTestId('graph-canvas').focus();
  await page.keyboard.press('/');
  await page.keyboard.type('tip-37');
  await page.keyboard.press('Enter');
  await expect(title(page)).toHaveText('fork-tip-37.qcow2');
  await expect(page.getByTestId('node-fork-tip-37.qcow2')).toBeInViewport();
  await page.keyboard.press('Escape');
  // Down and up move between the branches of the fork.
  await page.keyboard.press('ArrowDown');
  await expect(title(page)).toHaveText('fork-tip-38.qcow2');
  await expect(page.getByTestId('node-fork-tip-38.qcow2')).toBeInViewport();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await expect(title(page)).toHaveText('fork-tip-36.qcow2');
  await page.keyboard.press('ArrowLeft');
  await expect(title(page)).toHaveText('fork-hub.qcow2');
  await page.waitForTimeout(400);
  await shot(page, 'nav-fork-50');
  // Nothing in the graph is a Tab stop of its own: the canvas is one.
  expect(await page.locator('.react-flow__edge[tabindex], .react-flow__node[tabindex]').count()).toBe(0);
  expect(await page.locator('.react-flow__node[aria-label="Snapshot fork-hub.qcow2"]').count()).toBe(1);
});

test('Ctrl+click on a second node opens the comparison at once', async ({ page }) => {
  await openFolderDomain(page, 'fork-base.qcow2');
  // Found first, so that it is in the middle of the view, clear of the minimap.
  await page.getByTestId('graph-search').fill('tip-01');
  await page.keyboard.press('Enter');
  await page.waitForTimeout(400);
  await page.getByTestId('node-fork-tip-01.qcow2').click();
  await page.getByTestId('node-fork-tip-02.qcow2').click({ modifiers: ['Control'] });
  const panel = page.getByTestId('compare-panel');
  await expect(panel).toBeVisible();
  await expect(panel.getByTestId('verdict')).toBeVisible();
  await expect(page.getByTestId('node-fork-tip-01.qcow2').getByTestId('side-A')).toBeVisible();
  await expect(page.getByTestId('node-fork-tip-02.qcow2').getByTestId('side-B')).toBeVisible();
});

test('on the demo, S on the selected You are here plans a snapshot as its menu item would; after it runs, the nodes it left alone stay put on screen', async ({ page }) => {
  // A demo lab of its own: the snapshot taken here must not show up in the other files' shared demo.
  const { child, server: demo } = await startServe(['--demo']);
  try {
    await takeAndCompare(page, demo.url);
  } finally {
    await stop(child);
  }
});

async function takeAndCompare(page: Page, demoUrl: string): Promise<void> {
  await page.goto(demoUrl);
  await expect(page.getByTestId('node-main')).toBeVisible();
  await page.waitForTimeout(400);
  // Where each node on screen is relative to snap3 (beside You are here): the view may pan to keep the landing node
  // in sight, which moves them all alike; a node panned out of sight is not drawn.
  const boxes = async () => {
    const out: Record<string, string> = {};
    const origin = await page.getByTestId('node-snap3').boundingBox();
    for (const name of ['snap1', 'snap2', 'snap3', 'experiment']) {
      const node = page.getByTestId(`node-${name}`);
      const b = origin === null || (await node.count()) === 0 ? null : await node.boundingBox();
      if (b !== null && origin !== null) out[name] = `${Math.round(b.x - origin.x)},${Math.round(b.y - origin.y)},${Math.round(b.width)}`;
    }
    return out;
  };
  const before = await boxes();
  // The menu's letter on the selected node opens the same plan the menu item would.
  await page.getByTestId('node-main').click();
  await page.keyboard.press('s');
  const take = page.getByRole('dialog', { name: /^Take snapshot/ });
  await expect(take).toBeVisible();
  await take.getByRole('button', { name: 'Preview…' }).click();
  const dialog = page.getByTestId('plan-dialog');
  await expect(dialog.getByRole('button', { name: 'Confirm' })).toBeEnabled();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('ops-outcome')).toContainText('done');
  await page.waitForTimeout(600);
  const after = await boxes();
  expect(Object.keys(after)).toEqual(expect.arrayContaining(['snap2', 'snap3']));
  for (const name of Object.keys(after)) expect([name, after[name]]).toEqual([name, before[name]]);
  // The landing node, You are here one column on, is in sight.
  await expect(page.getByTestId('node-main')).toBeInViewport({ ratio: 0.99 });
}
