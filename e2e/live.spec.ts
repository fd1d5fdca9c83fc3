/**
 * The live picture in the browser: a snapshot made with plain virsh, outside the app, appears without a reload;
 * the selected node stays selected, the viewport stays where it was, and the "updated" time moves on. When the
 * selected node is removed outside the app, the selection clears with a note.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from './fixtures';

const run = promisify(execFile);
const URI = 'qemu:///system';
const SNAPSHOT = `live-${process.pid}`;

test('a snapshot taken with plain virsh appears within seconds, selection and view kept; one removed clears the selection with a note', async ({ page, demo, shot }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto(demo.url);
  const domainName = (await page.getByTestId('current-domain').textContent()) ?? '';
  expect(domainName).toMatch(/^snaptree-demo(-\d+)?$/);
  await expect(page.getByTestId('node-snap3')).toBeVisible();
  await expect(page.getByTestId('live-status')).toContainText('Live');

  await page.getByTestId('node-snap2').click();
  await expect(page.getByTestId('node-snap2')).toHaveClass(/is-selected/);
  // Let the view settle (a panel opening resizes the canvas), and a second pass so the clock label can change.
  await page.waitForTimeout(1100);
  const updated = page.getByTestId('live-updated');
  const before = await updated.textContent();
  const viewport = page.locator('.react-flow__viewport');
  const transform = await viewport.getAttribute('style');

  const started = Date.now();
  await run('virsh', ['-q', '-c', URI, 'snapshot-create-as', '--domain', domainName, '--name', SNAPSHOT, '--disk-only', '--atomic']);
  await expect(page.getByTestId(`node-${SNAPSHOT}`)).toBeVisible({ timeout: 5000 });
  console.log(`virsh snapshot-create-as → node on the page: ${Date.now() - started} ms (virsh included)`);

  await expect(page.getByTestId('node-snap2')).toHaveClass(/is-selected/);
  await expect(page.getByTestId('details-panel').getByTestId('details-title')).toHaveText('snap2');
  await expect(updated).toHaveText(/^Refreshed \d\d:\d\d:\d\d$/);
  expect(await updated.textContent()).not.toBe(before);
  expect(await viewport.getAttribute('style')).toBe(transform);
  await shot(page, 'live-snapshot-appeared');

  // The selected node removed outside the app: the selection clears, with a note saying why.
  await page.getByTestId(`node-${SNAPSHOT}`).click();
  await expect(page.getByTestId('details-panel').getByTestId('details-title')).toHaveText(SNAPSHOT);
  await run('virsh', ['-q', '-c', URI, 'snapshot-delete', '--domain', domainName, '--snapshotname', SNAPSHOT, '--metadata']);
  await expect(page.getByTestId(`node-${SNAPSHOT}`)).toHaveCount(0, { timeout: 5000 });
  await expect(page.getByTestId('live-note')).toContainText('selected node is gone');
  await expect(page.getByTestId('current-domain')).toHaveText(domainName);
  await shot(page, 'live-selection-cleared');
  expect(errors).toEqual([]);
});
