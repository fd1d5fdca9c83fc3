import { expect, test } from './fixtures';

test.describe('the demo graph in the browser', () => {
  test('draws every demo node, marks You are here, and shows snap1 in the details panel', async ({ page, demo, shot }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });

    await page.goto(demo.url);
    // The libvirt demo domain opens first: its snapshots and both branches are drawn.
    // snaptree-demo, or snaptree-demo-N when another demo on this daemon already has that name.
    await expect(page.getByTestId('current-domain')).toHaveText(/^snaptree-demo(-\d+)?$/);
    for (const name of ['snap1', 'snap2', 'snap3', 'main', 'experiment']) {
      await expect(page.getByTestId(`node-${name}`)).toBeVisible();
    }
    const here = page.getByTestId('you-are-here');
    await expect(here).toHaveCount(1);
    await expect(page.getByTestId('node-main')).toHaveAttribute('data-current', 'true');
    await expect(page.getByTestId('node-experiment')).toHaveAttribute('data-current', 'false');
    // Edges: snap1 → snap2, snap1 → experiment, snap2 → snap3, snap3 → main.
    await expect(page.locator('.react-flow__edge')).toHaveCount(4);
    await shot(page, 'demo-graph');

    await page.getByTestId('node-snap1').click();
    const panel = page.getByTestId('details-panel');
    await expect(panel.getByTestId('details-title')).toHaveText('snap1');
    await expect(panel).toContainText('Saved state');
    await expect(panel).toContainText('base.qcow2');
    await expect(panel).toContainText('Changes made after this snapshot');
    await expect(panel).toContainText('base.snap1');
    await expect(page.getByTestId('node-snap1')).toHaveClass(/is-selected/);
    await shot(page, 'demo-snap1-details');

    // Keyboard: right goes to a child, left comes back to the parent.
    await page.keyboard.press('ArrowRight');
    await expect(panel.getByTestId('details-title')).not.toHaveText('snap1');
    await page.keyboard.press('ArrowLeft');
    await expect(panel.getByTestId('details-title')).toHaveText('snap1');
    // End: to the tip of snap1's branch that leads to You are here; Home: back to the root.
    await page.keyboard.press('End');
    await expect(panel.getByTestId('details-title')).toHaveText('main');
    await expect(panel).toContainText('You are here');
    await page.keyboard.press('Home');
    await expect(panel.getByTestId('details-title')).toHaveText('snap1');

    expect(errors).toEqual([]);
  });

  test('the image folder view of the same lab draws the files', async ({ page, demo, shot }) => {
    await page.goto(demo.url);
    await page.getByTestId('domain-base.qcow2').click();
    for (const name of ['base.qcow2', 'base.snap1', 'base.snap2', 'base.snap3', 'base.experiment']) {
      await expect(page.getByTestId(`node-${name}`)).toBeVisible();
    }
    await page.getByTestId('node-base.qcow2').click();
    await expect(page.getByTestId('details-panel')).toContainText('must never be written again');
    await shot(page, 'demo-folder');
  });

  test('dark theme', async ({ page, demo, shot }) => {
    await page.goto(demo.url);
    await expect(page.getByTestId('node-snap1')).toBeVisible();
    await page.getByRole('button', { name: 'Toggle light and dark theme' }).click();
    await expect(page.locator('html')).toHaveAttribute('data-theme', /dark|light/);
    await page.getByTestId('node-main').click();
    await shot(page, 'demo-theme-toggled');
  });
});

test.describe('serve security', () => {
  test('refuses API requests without the token', async ({ request, demo }) => {
    const api = await request.post(`${demo.origin}/api/listSources`, { data: {} });
    expect(api.status()).toBe(401);
    expect((await api.json()).error.code).toBe('E_UNAUTHORIZED');
    const wrong = await request.post(`${demo.origin}/api/listSources`, { data: {}, headers: { 'x-snaptree-token': 'x'.repeat(48) } });
    expect(wrong.status()).toBe(401);
  });

  test('accepts the token and validates API input', async ({ request, demo }) => {
    const headers = { 'x-snaptree-token': demo.token };
    const ok = await request.post(`${demo.origin}/api/listSources`, { data: {}, headers });
    expect((await ok.json()).ok).toBe(true);
    // Calls name a configured source by id; a client cannot hand the engine a connection of its own.
    const bad = await request.post(`${demo.origin}/api/scan`, { data: { source: { kind: 'libvirt', uri: 'qemu:///system' } }, headers });
    expect((await bad.json()).error.code).toBe('E_BAD_INPUT');
    const unconfigured = await request.post(`${demo.origin}/api/scan`, { data: { sourceId: 'libvirt:qemu:///session' }, headers });
    expect((await unconfigured.json()).error.code).toBe('E_NOT_FOUND');
    const ext = await request.post(`${demo.origin}/api/addSource`, { data: { source: { kind: 'libvirt', uri: 'qemu+ext:///system?command=/bin/true' } }, headers });
    expect((await ext.json()).error).toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringMatching(/Only qemu/) });
    const unknown = await request.post(`${demo.origin}/api/deleteEverything`, { data: {}, headers });
    expect((await unknown.json()).error.code).toBe('E_NOT_FOUND');
  });

  test('the page takes the token from its URL once: it leaves the address bar, no cookie carries it, a reload keeps working', async ({ page, context, demo }) => {
    await page.goto(demo.url);
    await expect(page.getByTestId('node-snap1')).toBeVisible();
    expect(page.url()).not.toContain(demo.token);
    expect(page.url()).not.toContain('token=');
    expect(await context.cookies()).toEqual([]);
    await page.reload();
    await expect(page.getByTestId('node-snap1')).toBeVisible();
    expect(page.url()).not.toContain('token=');
  });

  test('a page opened without the token says how to open it', async ({ browser, demo, shot }) => {
    // A fresh context: no session storage from the tests before.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${demo.origin}/`);
    await expect(page.getByText(/Run "virt-snaptree serve" and open the URL it prints, with its token; start it with --token-file FILE/)).toBeVisible();
    await shot(page, 'serve-without-token');
    await context.close();
  });

  test('a connection that would start a program is refused as it is typed, with the reason', async ({ page, demo, shot }) => {
    await page.goto(demo.url);
    const field = page.getByPlaceholder('qemu+ssh://root@host/system or /var/lib/images');
    await field.fill('qemu+ssh://root@host/system?command=/tmp/x');
    await expect(page.getByText('The connection parameter "command" is not accepted', { exact: false })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Connect' })).toBeDisabled();
    await shot(page, 'add-source-refused');
    await field.fill('qemu+ssh://root@host/system?keyfile=/root/.ssh/id_ed25519');
    await expect(page.getByRole('button', { name: 'Connect' })).toBeEnabled();
  });
});
