/**
 * `GET /api/events`: the engine's events as server-sent events, under the same token as every API call, with
 * keep-alive comments, ended cleanly when the server closes. Driven over real HTTP with real images.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EngineEvent } from '../../shared/contract';
import { Engine } from '../engine';
import { qemuImgCreate } from '../tools/qemu-img';
import type { EngineListener } from '../live/event-hub';
import { MAX_STREAM_BACKLOG, MAX_STREAMS, openEventStream, startServer, TOKEN_HEADER, type RunningServer } from './serve';

const token = 'c'.repeat(48);
let dir: string;
let server: RunningServer;
let engine: Engine;

interface Stream {
  res: IncomingMessage;
  text: () => string;
  events: () => EngineEvent[];
  ended: Promise<void>;
}

/** Opens the event stream with these headers and collects what arrives. */
function openStream(headers: Record<string, string>): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: '/api/events', method: 'GET', headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      const ended = new Promise<void>((done) => res.on('close', () => done()));
      const events = () =>
        text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => JSON.parse(l.slice(6)) as EngineEvent);
      resolve({ res, text: () => text, events, ended });
    });
    req.on('error', reject);
    req.end();
  });
}

async function call(method: string, input: unknown): Promise<{ ok: boolean; value?: unknown }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
    body: JSON.stringify(input),
  });
  return (await res.json()) as { ok: boolean; value?: unknown };
}

const until = async (check: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-events-'));
  process.env.SNAPTREE_DATA_DIR = join(dir, 'data');
  await mkdir(join(dir, 'images'));
  await mkdir(join(dir, 'renderer'));
  await writeFile(join(dir, 'renderer', 'index.html'), '<!doctype html>');
  await qemuImgCreate(join(dir, 'images', 'base.qcow2'), { size: 16 * 1024 * 1024 });
  for (const tip of ['main.qcow2', 'side.qcow2']) {
    await qemuImgCreate(join(dir, 'images', tip), { backing: { path: join(dir, 'images', 'base.qcow2'), format: 'qcow2' } });
  }
  engine = new Engine({ host: 'serve', sources: [{ id: 'imgs', label: 'imgs', source: { kind: 'folder', path: join(dir, 'images') }, demo: false }] });
  server = await startServer({ engine, rendererDir: join(dir, 'renderer'), token, keepAliveMs: 50 });
});

afterAll(async () => {
  await server.close();
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the event stream', () => {
  test('is refused without the token, or with another, and takes only GET', async () => {
    const none = await openStream({});
    expect(none.res.statusCode).toBe(401);
    const wrong = await openStream({ [TOKEN_HEADER]: 'd'.repeat(48) });
    expect(wrong.res.statusCode).toBe(401);
    const post = await fetch(`http://127.0.0.1:${server.port}/api/events`, { method: 'POST', headers: { [TOKEN_HEADER]: token } });
    expect(post.status).toBe(405);
  });

  test('streams the progress of an apply and its end, with keep-alive comments between', async () => {
    const stream = await openStream({ [TOKEN_HEADER]: token });
    expect(stream.res.statusCode).toBe(200);
    expect(stream.res.headers['content-type']).toMatch(/^text\/event-stream/);
    const planned = (await call('plan', { sourceId: 'imgs', intent: { op: 'delete-branch', domain: 'base.qcow2', branch: 'side.qcow2' } })).value as { plan: { id: string } };
    expect(await call('apply', { planId: planned.plan.id })).toMatchObject({ ok: true, value: { status: 'done' } });
    await until(() => stream.events().some((e) => e.type === 'finished'));
    const events = stream.events().filter((e) => e.type !== 'source-changed');
    expect(events[0]).toMatchObject({ type: 'progress', event: { operationId: planned.plan.id, step: 0 } });
    expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThan(1);
    expect(events.at(-1)).toEqual({ type: 'finished', operationId: planned.plan.id });
    // The folder is watched while the stream is open, but not rescanned while the operation runs in it.
    const all = stream.events();
    const done = all.findIndex((e) => e.type === 'finished');
    expect(all.slice(0, done).filter((e) => e.type === 'source-changed')).toEqual([]);
    await until(() => stream.events().some((e) => e.type === 'source-changed'));
    await until(() => stream.text().includes(': keep-alive'));
    stream.res.destroy();
  });

  test('a client that disconnects stops being listened for; the server ends open streams when it closes', async () => {
    const stream = await openStream({ [TOKEN_HEADER]: token });
    await until(() => stream.text().includes('virt-snaptree events'));
    await server.close();
    await stream.ended;
    expect(stream.res.complete).toBe(true);
    server = await startServer({ engine, rendererDir: join(dir, 'renderer'), token });
  });

  test('takes at most MAX_STREAMS streams at once; one more is refused until one closes', async () => {
    const open = await Promise.all(Array.from({ length: MAX_STREAMS }, () => openStream({ [TOKEN_HEADER]: token })));
    expect(open.map((s) => s.res.statusCode)).toEqual(open.map(() => 200));
    const extra = await openStream({ [TOKEN_HEADER]: token });
    expect(extra.res.statusCode).toBe(429);
    const [first, ...rest] = open;
    first?.res.destroy();
    await first?.ended;
    await new Promise((r) => setTimeout(r, 100));
    const again = await openStream({ [TOKEN_HEADER]: token });
    expect(again.res.statusCode).toBe(200);
    for (const s of [...rest, again]) s.res.destroy();
  });
});

describe('a client that stops reading', () => {
  test('is cut off once its backlog passes MAX_STREAM_BACKLOG, and stops being listened for', async () => {
    const listeners = new Set<EngineListener>();
    const subscribe = (listener: EngineListener): (() => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    };
    let closed = false;
    const http = createServer((req, res) => {
      res.on('close', () => (closed = true));
      openEventStream(req, res, subscribe, 60_000);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as { port: number }).port;
    const socket = connect(port, '127.0.0.1');
    socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    socket.pause();
    socket.on('error', () => undefined);
    await until(() => listeners.size === 1);
    const big: EngineEvent = { type: 'finished', operationId: 'x'.repeat(64 * 1024) };
    // Enough to fill the kernel's buffers on both sides and then the backlog.
    for (let i = 0; i < 1000 && !closed; i += 1) {
      for (const listener of [...listeners]) listener(big);
      await new Promise((r) => setImmediate(r));
    }
    expect(closed).toBe(true);
    expect(listeners.size).toBe(0);
    expect(MAX_STREAM_BACKLOG).toBeLessThan(1000 * 64 * 1024);
    socket.destroy();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
});
