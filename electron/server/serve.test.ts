import { request } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../engine';
import { startServer, TOKEN_HEADER, type RunningServer } from './serve';

let dir: string;
let server: RunningServer;
let engine: Engine;

/** A raw request, so the Host header and the path go out exactly as written. */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-serve-'));
  await mkdir(join(dir, 'renderer', 'assets'), { recursive: true });
  await writeFile(join(dir, 'renderer', 'index.html'), '<!doctype html><title>app</title>');
  await writeFile(join(dir, 'renderer', 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'secret');
  engine = new Engine({ host: 'serve', sources: [{ id: 'f', label: 'f', source: { kind: 'folder', path: dir }, demo: false }] });
  server = await startServer({ engine, rendererDir: join(dir, 'renderer'), token: 'a'.repeat(48) });
});

afterAll(async () => {
  await server.close();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('serve', () => {
  test('binds 127.0.0.1 and prints a URL with the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${'a'.repeat(48)}`);
  });

  test('the page and its assets hold no data and are served without the token; no cookie ever carries it', async () => {
    const page = await raw('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['set-cookie']).toBeUndefined();
    const withToken = await raw(`/?token=${'a'.repeat(48)}`);
    expect(withToken.headers['set-cookie']).toBeUndefined();
    expect((await raw('/assets/app.js')).status).toBe(200);
  });

  test('API calls need the token in a header; a cookie or a query token is not enough', async () => {
    const cookie = `snaptree_token=${'a'.repeat(48)}`;
    expect((await raw('/api/listSources', { cookie }, 'POST', '{}')).status).toBe(401);
    expect((await raw(`/api/listSources?token=${'a'.repeat(48)}`, {}, 'POST', '{}')).status).toBe(401);
    const ok = await raw('/api/listSources', { [TOKEN_HEADER]: 'a'.repeat(48) }, 'POST', '{}');
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, value: [{ id: 'f' }] });
  });

  test('the app opened with a token that is not this server\'s gets a page saying how to get a valid URL; the API answers JSON', async () => {
    const page = await raw(`/?token=${'b'.repeat(48)}`, { accept: 'text/html' });
    expect(page.status).toBe(401);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('virt-snaptree serve');
    expect(page.body).toContain('--token-file');
    expect(page.body).not.toContain('a'.repeat(48));
    const api = await raw('/api/listSources', { [TOKEN_HEADER]: 'b'.repeat(48) }, 'POST', '{}');
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body)).toMatchObject({ ok: false, error: { code: 'E_UNAUTHORIZED', message: expect.stringContaining('--token-file') } });
  });

  test('a path that is not valid percent-encoding is not found, never a server error', async () => {
    const api = await raw('/api/%E0%A4%A', { [TOKEN_HEADER]: 'a'.repeat(48) }, 'POST', '{}');
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body).error.code).toBe('E_NOT_FOUND');
    expect((await raw('/%')).status).toBe(404);
  });

  test('a foreign Host header is refused (DNS rebinding)', async () => {
    expect((await raw(`/?token=${'a'.repeat(48)}`, { host: 'evil.example:80' })).status).toBe(403);
  });

  test('paths cannot leave the renderer folder', async () => {
    const res = await raw(`/..%2fsecret.txt?token=${'a'.repeat(48)}`);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('secret');
  });

  test('malformed JSON and bad input get clear errors', async () => {
    const headers = { [TOKEN_HEADER]: 'a'.repeat(48) };
    const broken = await raw('/api/scan', headers, 'POST', '{');
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body).error.code).toBe('E_BAD_INPUT');
    const bad = JSON.parse((await raw('/api/addSource', headers, 'POST', JSON.stringify({ source: { kind: 'folder', path: 'relative' } }))).body);
    expect(bad.error).toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringContaining('absolute') });
    const extra = JSON.parse((await raw('/api/listSources', headers, 'POST', JSON.stringify({ sneaky: 1 }))).body);
    expect(extra.error.code).toBe('E_BAD_INPUT');
  });

  test('a real folder scan answers through the API', async () => {
    const res = JSON.parse((await raw('/api/scan', { [TOKEN_HEADER]: 'a'.repeat(48) }, 'POST', JSON.stringify({ sourceId: 'f' }))).body);
    expect(res).toMatchObject({ ok: true, value: { source: { kind: 'folder' }, domains: [] } });
  });
});
