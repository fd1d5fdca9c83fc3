import { describe, expect, test } from 'vitest';
import type { EngineEvent } from '../../shared/contract';
import { httpEventFeed, parseSseBlock, type FeedStatus } from './event-feed';

const finished: EngineEvent = { type: 'finished', operationId: 'op-1' };
const changed: EngineEvent = { type: 'source-changed', sourceId: 's', domain: 'vm', at: '2026-11-29T08:00:00.000Z' };

describe('parseSseBlock', () => {
  test('takes the data lines of an event of the engine shape, and drops comments, other shapes and bad JSON', () => {
    expect(parseSseBlock(`event: finished\ndata: ${JSON.stringify(finished)}`)).toEqual([finished]);
    expect(parseSseBlock(': keep-alive')).toEqual([]);
    expect(parseSseBlock('data: {"type":"source-changed","sourceId":"s","at":"x"}')).toEqual([]);
    expect(parseSseBlock('data: {oops')).toEqual([]);
  });
});

/** A response whose body delivers these chunks, then ends. */
function streamOf(chunks: string[]): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

describe('httpEventFeed', () => {
  test('sends the token, joins events split across chunks, and opens the stream again when it ends', async () => {
    const requests: Array<Record<string, string>> = [];
    const answers = [
      streamOf([': hello\n\n', `event: finished\ndata: ${JSON.stringify(finished).slice(0, 10)}`, `${JSON.stringify(finished).slice(10)}\n\n`]),
      new Response('{"ok":false}', { status: 401 }),
      streamOf([`data: ${JSON.stringify(changed)}\r\n\r\n`]),
    ];
    const fakeFetch = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      requests.push(init?.headers as Record<string, string>);
      const next = answers.shift();
      if (next === undefined) return new Promise<Response>(() => undefined);
      return next;
    };
    const events: EngineEvent[] = [];
    const statuses: FeedStatus[] = [];
    const stop = httpEventFeed('tok', { fetch: fakeFetch, retryMs: 5 })(
      (e) => events.push(e),
      (s) => statuses.push(s),
    );
    const end = Date.now() + 2000;
    while (events.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    stop();
    expect(events).toEqual([finished, changed]);
    expect(requests[0]).toEqual({ 'x-snaptree-token': 'tok' });
    // A stream that ends is down; a 401 says the token is refused (the engine restarted with another one).
    expect(statuses.slice(0, 6)).toEqual(['connecting', 'live', 'down', 'connecting', 'refused', 'connecting']);
  });
});
