/**
 * The renderer's one subscription to the engine's events (docs/architecture.md, "Events and the live picture"):
 * the preload bridge's `onEvent` in the desktop app, or under `serve` the `GET /api/events` stream read with
 * fetch and a stream reader (EventSource cannot send the token header). A stream that ends or fails is opened
 * again after a growing pause; the status says whether events are flowing.
 */
import { isEngineEvent, type Bridge } from '../../shared/bridge';
import type { EngineEvent } from '../../shared/contract';
import { findBridge, takeToken, TOKEN_HEADER } from './client';

/**
 * Whether events flow: `live` once the stream is open, `down` while the engine does not answer (and polling stands
 * in), `refused` when it answers but no longer takes this page's token (it was restarted with another one).
 */
export type FeedStatus = 'connecting' | 'live' | 'down' | 'refused';

/** Subscribes to the engine's events; returns the function that stops them. */
export type EventFeed = (onEvent: (event: EngineEvent) => void, onStatus: (status: FeedStatus) => void) => () => void;

/** The engine events in one block of a server-sent event stream: its `data:` lines, of an event's shape. */
export function parseSseBlock(block: string): EngineEvent[] {
  const data = block
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart())
    .join('\n');
  if (data === '') return [];
  try {
    const value: unknown = JSON.parse(data);
    return isEngineEvent(value) ? [value] : [];
  } catch {
    return [];
  }
}

/** Reads one open stream to its end, handing on each event. */
async function readStream(body: ReadableStream<Uint8Array>, onEvent: (event: EngineEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    const blocks = buffered.split('\n\n');
    buffered = blocks.pop() ?? '';
    for (const block of blocks) for (const event of parseSseBlock(block)) onEvent(event);
  }
}

export interface HttpFeedOptions {
  fetch?: typeof fetch;
  /** First pause before opening the stream again; doubles up to `maxRetryMs`, and starts over once a stream opened. */
  retryMs?: number;
  /** The longest pause between two tries (5 s unless given). */
  maxRetryMs?: number;
}

/** The `serve` feed: the event stream under the access token, opened again whenever it ends. */
export function httpEventFeed(token: string, options: HttpFeedOptions = {}): EventFeed {
  return (onEvent, onStatus) => {
    const controller = new AbortController();
    const doFetch = options.fetch ?? fetch.bind(globalThis);
    const first = options.retryMs ?? 1000;
    const most = options.maxRetryMs ?? 5000;
    let pause = first;
    const loop = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        onStatus('connecting');
        let refused = false;
        try {
          const res = await doFetch('api/events', { headers: { [TOKEN_HEADER]: token }, signal: controller.signal, cache: 'no-store' });
          refused = res.status === 401;
          if (res.ok && res.body !== null) {
            onStatus('live');
            pause = first;
            await readStream(res.body, onEvent);
          }
        } catch {
          // Dropped, refused or stopped: polling stands in until the stream is back.
        }
        if (controller.signal.aborted) return;
        onStatus(refused ? 'refused' : 'down');
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, most);
      }
    };
    void loop();
    return () => controller.abort();
  };
}

/** The desktop feed: the preload bridge's events, flowing as long as the window lives. */
export function bridgeEventFeed(bridge: Bridge): EventFeed {
  return (onEvent, onStatus) => {
    const stop = bridge.onEvent(onEvent);
    onStatus('live');
    return stop;
  };
}

/** Picks the feed this page runs on, as `createApiClient` picks the transport. */
export function createEventFeed(): EventFeed {
  const bridge = findBridge();
  if (bridge !== undefined) return bridgeEventFeed(bridge);
  const token = takeToken(window.location, window.history, window.sessionStorage);
  // A page opened with no token at all says so itself (the client's E_UNAUTHORIZED): no stream to open, no banner.
  if (token === '') return () => () => undefined;
  return httpEventFeed(token);
}
