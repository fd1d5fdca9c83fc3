/**
 * Render benchmark (docs/architecture.md, "Benchmarks"): a snapshot graph of 2,000 nodes, served by the real engine
 * (`serve --folder` over 2,000 real qcow2 images) and drawn by the real renderer in headless Chromium. Measures, from
 * the moment the scan reaches the renderer's store to the first frame painted with the graph: the snapshot view (d3
 * tree layout), and the file view (d3 tree layout per disk); then the frame times while the graph is zoomed and panned.
 * The baseline, measured in the same run on the same page, is a 20-node graph: what drawing costs before the graph's
 * size counts.
 *
 *   npm run bench:render          BENCH_NODES=5000 npm run bench:render
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServe, stop } from '../e2e/serve-process';
import { median, report } from './report';

const NODES = Number(process.env.BENCH_NODES ?? 2000);
const SMALL = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');

/**
 * A tree of `count` images, as snapshot trees grow: mostly one image on the last, and every fifth one forking
 * from an older image. Every image is one node: a saved state when others build on it, else a tip.
 */
async function buildTree(dir: string, count: number): Promise<void> {
  const file = (i: number) => join(dir, i === 0 ? 'base.qcow2' : `img${String(i).padStart(5, '0')}.qcow2`);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', file(0), '64M']);
  const limit = pLimit(2);
  // `-u` with a size: the backing file is named, not opened, so creation order does not matter.
  await Promise.all(
    Array.from({ length: count - 1 }, (_, k) => k + 1).map((i) =>
      limit(() => execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', file(i % 5 === 0 ? Math.floor(i * 0.7) : i - 1), '-F', 'qcow2', file(i), '64M'])),
    ),
  );
}

function serve(folder: string) {
  return startServe(['--folder', folder], { SNAPTREE_DATA_DIR: join(folder, '.data') }, { bin: BIN });
}

/** Milliseconds between two marks the renderer sets (the last of each). */
async function between(page: Page, from: string, to: string): Promise<number> {
  await page.waitForFunction((name) => performance.getEntriesByName(`snaptree:${name}`).length > 0, to, { timeout: 120_000 });
  return page.evaluate(
    ([a, b]) => {
      const last = (n: string) => performance.getEntriesByName(`snaptree:${n}`).at(-1)?.startTime ?? NaN;
      return last(b as string) - last(a as string);
    },
    [from, to],
  );
}

/** Frame intervals while the user zooms and pans: p95 and the share of frames that took longer than one. */
async function panAndZoom(page: Page): Promise<{ p95: number; slow: number }> {
  const box = await page.getByTestId('graph-canvas').boundingBox();
  if (box === null) throw new Error('no graph on screen');
  await page.evaluate(() => {
    const w = window as unknown as { frames_: number[]; stop_: boolean };
    w.frames_ = [];
    w.stop_ = false;
    let last = performance.now();
    const tick = (now: number) => {
      w.frames_.push(now - last);
      last = now;
      if (!w.stop_) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  for (let i = 0; i < 12; i++) {
    await page.mouse.wheel(0, -120);
    await page.waitForTimeout(40);
  }
  await page.mouse.down();
  for (let i = 0; i < 40; i++) await page.mouse.move(cx - i * 12, cy - i * 4, { steps: 2 });
  await page.mouse.up();
  for (let i = 0; i < 12; i++) {
    await page.mouse.wheel(0, 120);
    await page.waitForTimeout(40);
  }
  const frames = await page.evaluate(() => {
    const w = window as unknown as { frames_: number[]; stop_: boolean };
    w.stop_ = true;
    return w.frames_.slice(1);
  });
  const sorted = [...frames].sort((a, b) => a - b);
  const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? NaN;
  return { p95, slow: frames.filter((f) => f > 1000 / 60 + 4).length / Math.max(frames.length, 1) };
}

interface Measure {
  snapshots: number;
  files: number;
  p95: number;
  slow: number;
}

async function measure(browser: Browser, url: string, count: number): Promise<Measure> {
  const runs: Measure[] = [];
  for (let run = 0; run < RUNS; run++) {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(url);
    const snapshots = await between(page, 'scan-ready', 'graph-painted');
    const drawn = await page.locator('.react-flow__node').count();
    if (drawn === 0 || drawn > count) throw new Error(`${drawn} nodes on screen for a graph of ${count}`);
    const { p95, slow } = await panAndZoom(page);
    await page.getByTestId('view-files').click();
    const files = await between(page, 'files-layout-start', 'files-painted');
    runs.push({ snapshots, files, p95, slow });
    await page.close();
  }
  const pick = (key: keyof Measure) => median(runs.map((r) => r[key]));
  return { snapshots: pick('snapshots'), files: pick('files'), p95: pick('p95'), slow: pick('slow') };
}

async function main(): Promise<void> {
  const big = await mkdtemp(join(tmpdir(), 'snaptree-bench-render-'));
  const small = await mkdtemp(join(tmpdir(), 'snaptree-bench-render-small-'));
  const servers: ChildProcess[] = [];
  let browser: Browser | null = null;
  try {
    const built = Date.now();
    await Promise.all([buildTree(big, NODES), buildTree(small, SMALL)]);
    process.stderr.write(`built ${NODES} + ${SMALL} images in ${((Date.now() - built) / 1000).toFixed(1)} s\n`);
    const [a, b] = await Promise.all([serve(big), serve(small)]);
    servers.push(a.child, b.child);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const baseline = await measure(browser, b.server.url, SMALL);
    const result = await measure(browser, a.server.url, NODES);
    report(
      'render',
      { nodes: NODES, baselineNodes: SMALL, runs: RUNS, viewport: '1440x900', chromium: browser.version() },
      [
        { metric: `snapshot view: scan in store → first paint (${NODES} nodes)`, value: result.snapshots, baseline: baseline.snapshots, unit: 'ms', target: '≤ 300 ms', met: result.snapshots <= 300 },
        { metric: 'zoom and pan: frame interval p95', value: result.p95, baseline: baseline.p95, unit: 'ms', target: '≤ 16.7 ms (one frame)', met: result.p95 <= 1000 / 60 + 0.5 },
        { metric: 'zoom and pan: frames longer than one', value: result.slow * 100, baseline: baseline.slow * 100, unit: '%' },
        { metric: `file view: layout → first paint (${NODES} files)`, value: result.files, baseline: baseline.files, unit: 'ms', target: '≤ 500 ms', met: result.files <= 500 },
      ],
    );
  } finally {
    await browser?.close();
    await Promise.all(servers.map(stop));
    await Promise.all([rm(big, { recursive: true, force: true }), rm(small, { recursive: true, force: true })]);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
