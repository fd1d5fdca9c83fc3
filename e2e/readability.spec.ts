/**
 * Readability and layout: at every window size from 1024×700 up, in both themes, no text of a node on screen is
 * under 12 px once the graph (or the file view) is framed; the side panels collapse and stay so after a reload; the minimap covers
 * little of the canvas; at 800×700 the panels are out of the way and nothing overflows the window.
 */
import type { Page } from '@playwright/test';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leakCluster } from '../electron/test-support/damage';
import { expect, startServe, stop, test } from './fixtures';

const SIZES = [
  { width: 1440, height: 900 },
  { width: 1280, height: 720 },
  { width: 1024, height: 700 },
] as const;

interface Smallest {
  px: number;
  text: string;
  count: number;
  zoom: number;
}

/** The smallest rendered size of any visible text in a node on the canvas: CSS px times the canvas's zoom. */
async function smallestNodeText(page: Page): Promise<Smallest> {
  return page.evaluate(() => {
    const viewport = document.querySelector('.react-flow__viewport');
    const canvas = document.querySelector('.react-flow')?.getBoundingClientRect();
    if (viewport === null || canvas === undefined) throw new Error('no canvas');
    const zoom = new DOMMatrix(getComputedStyle(viewport).transform).a;
    let smallest = { px: Infinity, text: '', count: 0, zoom };
    for (const element of Array.from(document.querySelectorAll<HTMLElement>('.react-flow__node *'))) {
      const own = Array.from(element.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim() !== '');
      if (!own) continue;
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      const onScreen = box.width > 0 && box.height > 0 && box.right > canvas.left && box.left < canvas.right && box.bottom > canvas.top && box.top < canvas.bottom;
      if (!onScreen || style.visibility === 'hidden' || style.display === 'none' || Number(style.opacity) === 0) continue;
      const px = parseFloat(style.fontSize) * zoom;
      smallest = { ...smallest, count: smallest.count + 1 };
      if (px < smallest.px) smallest = { ...smallest, px, text: (element.textContent ?? '').trim() };
    }
    return smallest;
  });
}

/** Opens the demo domain in `theme` and waits until its graph is framed (the viewport stops moving). */
async function openDemo(page: Page, url: string, theme: 'light' | 'dark') {
  await page.addInitScript((t) => {
    if (localStorage.getItem('snaptree-theme') === null) localStorage.setItem('snaptree-theme', t);
  }, theme);
  await page.goto(url);
  await expect(page.getByTestId('current-domain')).toHaveAttribute('data-name', /^snaptree-demo(-\d+)?$/);
  await expect(page.getByTestId('you-are-here')).toBeVisible();
  await settle(page);
}

/** Waits until the canvas's transform is the same over two frames a while apart. */
async function settle(page: Page) {
  const viewport = page.locator('.react-flow__viewport');
  let last = '';
  await expect
    .poll(async () => {
      const now = (await viewport.getAttribute('style')) ?? '';
      const same = now === last;
      last = now;
      return same;
    }, { intervals: [300, 300, 300, 500] })
    .toBe(true);
}

for (const theme of ['light', 'dark'] as const) {
  for (const size of SIZES) {
    test(`at ${size.width}×${size.height} in the ${theme} theme no node text is under 12 px and the minimap covers little`, async ({ page, demo, shot }) => {
      await page.setViewportSize(size);
      await openDemo(page, demo.url, theme);
      await expect(page.locator('html')).toHaveAttribute('data-theme', theme);
      await shot(page, `readability-${size.width}-${theme}`);
      const smallest = await smallestNodeText(page);
      expect(smallest.count, 'some node text is on screen').toBeGreaterThan(5);
      expect(smallest.px, `"${smallest.text}" at zoom ${smallest.zoom}`).toBeGreaterThanOrEqual(12);
      // You are here is on screen, whole.
      const here = await page.getByTestId('node-main').boundingBox();
      const canvas = await page.getByTestId('graph-canvas').boundingBox();
      expect(here && canvas).toBeTruthy();
      if (here !== null && canvas !== null) {
        expect(here.x).toBeGreaterThanOrEqual(canvas.x);
        expect(here.x + here.width).toBeLessThanOrEqual(canvas.x + canvas.width);
        const map = await page.getByTestId('minimap').boundingBox();
        if (map !== null) expect((map.width * map.height) / (canvas.width * canvas.height)).toBeLessThanOrEqual(0.1);
      }
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      // The file view too: its boxes hold more lines, at the same smallest size.
      await page.getByTestId('view-files').click();
      await expect(page.getByTestId('file-canvas')).toBeVisible();
      await settle(page);
      await shot(page, `readability-${size.width}-${theme}-files`);
      const files = await smallestNodeText(page);
      expect(files.count, 'some file text is on screen').toBeGreaterThan(5);
      expect(files.px, `"${files.text}" at zoom ${files.zoom}`).toBeGreaterThanOrEqual(12);
    });
  }
}

test('the side panels collapse, and stay collapsed after a reload', async ({ page, demo, shot }) => {
  await openDemo(page, demo.url, 'light');
  await page.getByTestId('collapse-sidebar').click();
  await page.getByTestId('collapse-details').click();
  await expect(page.getByRole('navigation', { name: 'Connections and domains' })).toHaveCount(0);
  await expect(page.getByTestId('details-panel')).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('you-are-here')).toBeVisible();
  await expect(page.getByTestId('expand-sidebar')).toBeVisible();
  await expect(page.getByTestId('expand-details')).toBeVisible();
  await expect(page.getByTestId('details-panel')).toHaveCount(0);
  await settle(page);
  // With the room the panels gave back, the whole demo graph is shown, readable.
  for (const name of ['snap1', 'snap2', 'snap3', 'main', 'experiment']) await expect(page.getByTestId(`node-${name}`)).toBeInViewport();
  expect((await smallestNodeText(page)).px).toBeGreaterThanOrEqual(12);
  await shot(page, 'readability-panels-collapsed');
  await page.getByTestId('expand-details').click();
  await expect(page.getByTestId('details-panel')).toBeVisible();
});

test('at 800×700 the panels are out of the way and the canvas and toolbar fit the window', async ({ page, demo, shot }) => {
  await page.setViewportSize({ width: 800, height: 700 });
  await openDemo(page, demo.url, 'light');
  await expect(page.getByTestId('expand-sidebar')).toBeVisible();
  await expect(page.getByTestId('expand-details')).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  const canvas = await page.getByTestId('graph-canvas').boundingBox();
  expect(canvas?.width ?? 0).toBeGreaterThan(650);
  const bar = await page.getByTestId('action-bar').boundingBox();
  expect((bar?.x ?? 0) + (bar?.width ?? 0)).toBeLessThanOrEqual(800);
  expect((await smallestNodeText(page)).px).toBeGreaterThanOrEqual(12);
  await page.getByTestId('node-main').click();
  await expect(page.getByTestId('node-main')).toHaveClass(/is-selected/);
  await shot(page, 'readability-800');
  // The sidebar opens over nothing but its own column, and its filter finds the demo domain.
  await page.getByTestId('expand-sidebar').click();
  await page.getByTestId('sidebar-filter').fill('snaptree-demo');
  await expect(page.locator('[data-testid^="domain-snaptree-demo"]').first()).toBeVisible();
  await expect(page.getByTestId('domain-base.qcow2')).toHaveCount(0);
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await shot(page, 'readability-800-sidebar');
});

test('the legend tells You are here from libvirt’s current snapshot, and the folder says images', async ({ page, demo, shot }) => {
  await openDemo(page, demo.url, 'light');
  await expect(page.getByTestId('libvirt-current')).toHaveText("libvirt's current");
  await page.getByTestId('legend-toggle').click();
  const legend = page.getByTestId('legend');
  await expect(legend).toContainText('You are here: where the VM runs now');
  await expect(legend).toContainText("libvirt's current snapshot: the snapshot libvirt records as current");
  await shot(page, 'readability-legend');
  await page.keyboard.press('Escape');
  await expect(legend).toHaveCount(0);
  // Groups are named by their connection; the demo is a chip.
  await expect(page.locator('.source-label').first()).toHaveText('qemu:///system');
  await page.getByTestId('domain-base.qcow2').click();
  await expect(page.getByTestId('domain-base.qcow2').locator('.domain-count')).toHaveAttribute('title', 'images');
  await page.getByTestId('legend-toggle').click();
  await expect(legend).toContainText('Image:');
  await expect(legend).not.toContainText('Snapshot:');
  await shot(page, 'readability-folder-legend');
});

/** Boxes of names (nodes, sidebar, top bar) whose text overflows them: a name cut at its end by CSS. */
async function overflowingNames(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('.fit-name, .snap-node-title *, .file-node-what *, .domain-item *, .source-label, .crumbs > *'))
      .filter((e) => e.getClientRects().length > 0 && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
      .map((e) => `${e.className}: ${e.textContent ?? ''}`),
  );
}

test('names are cut once, in the middle, to the room their box has: never at the end', async ({ page, demo, shot }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await openDemo(page, demo.url, 'light');
  expect(await overflowingNames(page)).toEqual([]);
  // A name that fits is shown whole; one that is cut keeps its end.
  for (const name of await page.locator('.react-flow__node .fit-name').all()) {
    const [text, whole] = await Promise.all([name.textContent(), name.getAttribute('data-name')]);
    if (text !== whole) expect(whole?.endsWith(text?.split('…').pop() ?? '')).toBe(true);
  }
  await page.getByTestId('view-files').click();
  await expect(page.getByTestId('file-canvas')).toBeVisible();
  await settle(page);
  expect(await overflowingNames(page)).toEqual([]);
  await shot(page, 'readability-names-files');
});

test('below 1280 px the sidebar folds by itself, below 1100 px the details panel too', async ({ page, demo, shot }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await openDemo(page, demo.url, 'light');
  await expect(page.getByRole('navigation', { name: 'Connections and domains' })).toBeVisible();
  await expect(page.getByTestId('details-panel')).toBeVisible();
  await shot(page, 'readability-panels-1280');
  await page.setViewportSize({ width: 1200, height: 720 });
  await expect(page.getByTestId('expand-sidebar')).toBeVisible();
  await expect(page.getByTestId('details-panel')).toBeVisible();
  await page.setViewportSize({ width: 1024, height: 700 });
  await expect(page.getByTestId('expand-sidebar')).toBeVisible();
  await expect(page.getByTestId('expand-details')).toBeVisible();
  await settle(page);
  expect((await page.getByTestId('graph-canvas').boundingBox())?.width ?? 0).toBeGreaterThan(900);
  await shot(page, 'readability-panels-1024');
});

test('at 800 px the top bar cuts the domain name in the middle, never its state chip', async ({ page, demo, shot }) => {
  await page.setViewportSize({ width: 800, height: 700 });
  await openDemo(page, demo.url, 'light');
  const chip = page.locator('.crumb-state');
  await expect(chip).toHaveText('shut off');
  expect(await chip.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
  const box = await chip.boundingBox();
  expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(800);
  expect(await overflowingNames(page)).toEqual([]);
  await shot(page, 'readability-800-topbar');
});

test('a "Skip to the graph" link is the first tab stop, and the domain list is one tab stop walked with the arrows', async ({ page, demo, shot }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await openDemo(page, demo.url, 'light');
  await page.locator('body').focus();
  await page.keyboard.press('Tab');
  const skip = page.getByTestId('skip-to-graph');
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await shot(page, 'readability-skip-link');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('graph-canvas')).toBeFocused();
  // Without the link: the domains cost one Tab, however many there are (the demo's domain and image tree, and
  // whatever else the shared daemon lists).
  const domains = page.locator('.domain-item');
  expect(await domains.count()).toBeGreaterThanOrEqual(2);
  await expect(page.locator('.domain-item[tabindex="0"]')).toHaveCount(1);
  await page.locator('.domain-item[tabindex="0"]').focus();
  const first = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  await page.keyboard.press('ArrowDown');
  const second = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  expect(second).not.toBe(first);
  expect(second).toMatch(/^domain-/);
  await page.keyboard.press('ArrowUp');
  expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(first);
  let tabs = 0;
  await page.locator('body').focus();
  while (tabs < 30 && !(await page.getByTestId('graph-canvas').evaluate((e) => e === document.activeElement))) {
    await page.keyboard.press('Tab');
    tabs++;
  }
  expect(tabs).toBeLessThanOrEqual(16);
});

for (const theme of ['light', 'dark'] as const) {
  test(`the legend shows the lines and the preview colours beside the nodes, ${theme}`, async ({ page, demo, shot }) => {
    await page.setViewportSize({ width: 1280, height: 720 });
    await openDemo(page, demo.url, theme);
    await page.getByTestId('legend-toggle').click();
    const legend = page.getByTestId('legend');
    for (const words of ['Solid grey line:', 'Purple dashes:', 'Green dashes:', 'Orange ring:', 'Red dashes:']) await expect(legend.getByText(words)).toBeInViewport();
    await shot(page, `readability-legend-lines-${theme}`);
  });
}

test.describe('long names', () => {
  let dir = '';
  let server: ChildProcess | undefined;
  let url = '';
  const LONG = 'webserver-production-php83-installed-before-upgrade';
  test.beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'snaptree-e2e-long-'));
    const p = (name: string) => join(dir, name);
    const img = (...args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });
    img('create', '-q', '-f', 'qcow2', p(`${LONG}.qcow2`), String(16 * 1024 * 1024));
    img('create', '-q', '-f', 'qcow2', '-b', p(`${LONG}.qcow2`), '-F', 'qcow2', p(`${LONG}-mid.qcow2`));
    for (const tip of ['clean', 'tuned', 'tip-01']) img('create', '-q', '-f', 'qcow2', '-b', p(`${LONG}-mid.qcow2`), '-F', 'qcow2', p(`${LONG}-${tip}.qcow2`));
    leakCluster(p(`${LONG}-mid.qcow2`));
    ({ child: server, server: { url } } = await startServe(['--folder', dir], { SNAPTREE_DATA_DIR: join(dir, '.data') }));
  });
  test.afterAll(async () => {
    if (server) await stop(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('long names and a health badge: every name cut once, in the middle, keeping its end', async ({ page, shot }) => {
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(url);
    await page.getByTestId(`domain-${LONG}.qcow2`).click();
    await page.getByRole('button', { name: 'Check health' }).click();
    await expect(page.getByTestId('health-badge').first()).toBeVisible();
    await expect(page.getByTestId('health-summary')).toHaveText('1 file needs attention');
    await settle(page);
    expect(await overflowingNames(page)).toEqual([]);
    for (const tip of ['clean', 'tuned', 'tip-01']) await expect(page.getByTestId(`node-${LONG}-${tip}.qcow2`).locator('.fit-name')).toContainText(new RegExp(`${tip.slice(-3)}\\.qcow2$`));
    await shot(page, 'readability-long-names');
    await page.getByTestId('view-files').click();
    await expect(page.getByTestId('file-canvas')).toBeVisible();
    await settle(page);
    expect(await overflowingNames(page)).toEqual([]);
    await shot(page, 'readability-long-names-files');
  });
});
