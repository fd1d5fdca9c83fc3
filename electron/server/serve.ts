/**
 * `serve`: the renderer and the API over HTTP on 127.0.0.1, for headless hypervisor hosts (through an SSH
 * tunnel) and for browser tests. Like Jupyter, a random token in the printed URL is required. The page and its
 * assets hold no data and are served to anyone who can reach the port; every API call must carry the token in
 * a header, which another site cannot add. No cookie carries it: cookies are not scoped by port, so every other
 * server on 127.0.0.1 would receive it. The page takes the token from its URL once and removes it from the
 * address bar and history. `GET /api/events` streams the engine's events (server-sent events) under the same
 * token (docs/architecture.md, "Events and the live picture").
 */
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { handleApiCall } from '../api-handler';
import type { Engine } from '../engine';
import { newToken } from './token-file';

export const TOKEN_HEADER = 'x-snaptree-token';
const MAX_BODY = 1024 * 1024;
/** A comment line on every event stream this often, so proxies and tunnels keep an idle stream open. */
const KEEP_ALIVE_MS = 15_000;
/** At most this many event streams at once: a page holds one, so a few tabs and tools fit. */
export const MAX_STREAMS = 16;
/** A stream whose client has not taken this much yet is ended: it reconnects and reads everything again. */
export const MAX_STREAM_BACKLOG = 1024 * 1024;

/** The renderer's Content Security Policy: nothing but this origin, no inline or evaluated script. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export interface ServeOptions {
  engine: Engine;
  /** The built renderer (index.html and assets). */
  rendererDir: string;
  port?: number;
  /** A fixed token (tests); random when omitted. */
  token?: string;
  /** How often an idle event stream gets a keep-alive comment (tests shorten it). */
  keepAliveMs?: number;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** A percent-decoded path part, or '' when it is not valid percent-encoding. */
function decodedOrEmpty(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return '';
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

/** How to get a URL with a valid token, in words: the 401 answers say it, to a browser and to a script alike. */
export const TOKEN_HELP =
  'Run "virt-snaptree serve" and open the URL it prints, with its token. A URL from an earlier run stops working when serve restarts, ' +
  'unless serve is started with --token-file FILE, which keeps the token (and so the URL) across restarts.';

/** The page a browser gets for the app's address with a token that is not this server's: what to do, in words. */
const UNAUTHORIZED_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>virt-snaptree: this link's token is not valid</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; padding: 48px 24px; color: #1c2330; background: #f5f7fa; }
main { max-width: 620px; margin: 0 auto; padding: 24px 28px; border: 1px solid #dde2ea; border-radius: 12px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 12px; }
code { padding: 1px 5px; border-radius: 4px; background: #eef1f5; font-size: 14px; }
@media (prefers-color-scheme: dark) { body { color: #e6edf3; background: #0d1117; } main { background: #161b22; border-color: #2a323d; } code { background: #21262d; } }
</style></head>
<body><main>
<h1>This link's access token is not valid</h1>
<p>virt-snaptree only answers a page opened with the token of the server that is running now. This link has another one: it is from an earlier run of <code>virt-snaptree serve</code>, or it was mistyped.</p>
<p>To get a valid link:</p>
<ol>
<li>Run <code>virt-snaptree serve</code> on the host (or look at the terminal where it runs).</li>
<li>Open the URL it prints, <code>http://127.0.0.1:PORT/?token=…</code>, as it is.</li>
</ol>
<p>For a URL that survives restarts (a bookmark, an SSH tunnel you keep), start it with <code>virt-snaptree serve --token-file FILE</code>: the token is kept in that file and used again.</p>
</main></body></html>
`;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  // Bytes that are not UTF-8 are refused, not replaced: what is stored is what was sent (SECURITY.md).
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
}

/**
 * Streams the engine's events to one client as server-sent events until either side closes. Each event is one
 * `data:` line of JSON (JSON has no raw line breaks) under `event: TYPE`; comments keep an idle stream alive.
 * A client that stops reading is cut off once `MAX_STREAM_BACKLOG` bytes wait for it, so it cannot make the
 * server buffer without end; its feed opens the stream again and reads its sources anew. Returns the function
 * that ends the stream.
 */
export function openEventStream(req: IncomingMessage, res: ServerResponse, subscribe: Engine['subscribe'], keepAliveMs: number): () => void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
  });
  let ended = false;
  const write = (text: string): void => {
    if (ended) return;
    if (res.writableLength > MAX_STREAM_BACKLOG) return end(true);
    res.write(text);
  };
  const unsubscribe = subscribe((event) => write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), keepAliveMs);
  function end(drop = false): void {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    unsubscribe();
    if (drop) res.destroy();
    else if (!res.writableEnded) res.end();
  }
  write(': virt-snaptree events\n\n');
  req.on('close', () => end());
  res.on('close', () => end());
  return () => end();
}

/** What answering the API needs: the engine, the token, and the open event streams (each by the function that ends it). */
interface ApiContext {
  options: ServeOptions;
  token: string;
  streams: Set<() => void>;
}

/** `GET /api/events`: one more event stream, while fewer than MAX_STREAMS are open. */
function answerEvents(req: IncomingMessage, res: ServerResponse, ctx: ApiContext): void {
  if (req.method !== 'GET') return sendJson(res, 405, { ok: false, error: { code: 'E_BAD_INPUT', message: 'Use GET.' } });
  if (ctx.streams.size >= MAX_STREAMS) {
    return sendJson(res, 429, { ok: false, error: { code: 'E_LOCKED', message: `At most ${MAX_STREAMS} event streams can be open at once.` } });
  }
  const end = openEventStream(req, res, (listener) => ctx.options.engine.subscribe(listener), ctx.options.keepAliveMs ?? KEEP_ALIVE_MS);
  ctx.streams.add(end);
  res.on('close', () => ctx.streams.delete(end));
}

/** `/api/…`: the token first, then the event stream or one API call (POST, a JSON body). */
async function answerApi(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  if (!sameToken(req.headers[TOKEN_HEADER] as string | undefined, ctx.token)) {
    return sendJson(res, 401, { ok: false, error: { code: 'E_UNAUTHORIZED', message: `A valid access token is required. ${TOKEN_HELP}` } });
  }
  if (url.pathname === '/api/events') return answerEvents(req, res, ctx);
  if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: { code: 'E_BAD_INPUT', message: 'Use POST.' } });
  let input: unknown;
  try {
    const body = await readBody(req);
    input = body === '' ? {} : JSON.parse(body);
  } catch (error) {
    const why = error instanceof TypeError ? 'it is not valid UTF-8' : (error as Error).message;
    return sendJson(res, 400, { ok: false, error: { code: 'E_BAD_INPUT', message: `Bad request body: ${why}` } });
  }
  // A name that does not decode is no method: the handler answers E_NOT_FOUND for it.
  const response = await handleApiCall(ctx.options.engine, decodedOrEmpty(url.pathname.slice('/api/'.length)), input);
  return sendJson(res, 200, response);
}

/**
 * The renderer's files, from `root` only; anything else is 404. The app's address with a `token` that is not this
 * server's gets the 401 page instead: the page itself holds no data, but the app would only fail on every call.
 */
async function answerFile(req: IncomingMessage, res: ServerResponse, url: URL, root: string, token: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed.');
  const given = url.searchParams.get('token');
  if (given !== null && !sameToken(given, token)) return send(res, 401, UNAUTHORIZED_PAGE, TYPES['.html']);
  const relative = url.pathname === '/' ? 'index.html' : decodedOrEmpty(url.pathname.slice(1));
  if (relative === '') return send(res, 404, 'Not found.');
  const file = normalize(join(root, relative));
  if (file !== root && !file.startsWith(root + sep)) return send(res, 404, 'Not found.');
  try {
    const body = await readFile(file);
    return send(res, 200, body, TYPES[extname(file)] ?? 'application/octet-stream');
  } catch {
    return send(res, 404, 'Not found.');
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = options.token ?? newToken();
  const root = normalize(options.rendererDir);
  let port = 0;
  const ctx: ApiContext = { options, token, streams: new Set() };
  const streams = ctx.streams;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // DNS rebinding: only requests addressed to this loopback server are answered.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(res, 403, 'Forbidden host.');
    const url = new URL(req.url ?? '/', `http://${host}`);
    return url.pathname.startsWith('/api/') ? answerApi(req, res, url, ctx) : answerFile(req, res, url, root, token);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'E_INTERNAL', message: String(error) } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    token,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const end of [...streams]) end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
