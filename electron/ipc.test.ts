import { describe, expect, test } from 'vitest';
import type { EngineEvent } from '../shared/contract';
import { isTrustedSender, setupEvents, type EventReceiver } from './ipc';

describe('isTrustedSender', () => {
  const app = 'file:///opt/virt-snaptree/resources/app.asar/.vite/renderer/main_window/index.html';
  test.each([
    [app, app, true],
    [`${app}#details`, app, true],
    ['file:///tmp/evil.html', app, false],
    ['https://example.com/', app, false],
    [undefined, app, false],
    ['http://localhost:5173/index.html', 'http://localhost:5173/', true],
    ['http://localhost:5174/', 'http://localhost:5173/', false],
  ])('%s from app %s is trusted: %s', (frame, appUrl, trusted) => {
    expect(isTrustedSender(frame, appUrl)).toBe(trusted);
  });
});

describe('setupEvents', () => {
  const app = 'file:///opt/app/index.html';

  /** A fake ipcMain and page: what the main process sends, and the engine's listeners. */
  function rig() {
    let control: ((event: { sender: EventReceiver; senderFrame: { url: string } | null }, action: unknown) => void) | undefined;
    const listeners = new Set<(e: EngineEvent) => void>();
    const engine = {
      subscribe(listener: (e: EngineEvent) => void) {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    };
    setupEvents({ on: (_channel, listener) => (control = listener) }, engine, () => app);
    const page = (url: string) => {
      const sent: EngineEvent[] = [];
      let destroyed: (() => void) | undefined;
      const contents: EventReceiver & { url: string } = {
        id: Math.random(),
        url,
        isDestroyed: () => false,
        getURL: () => contents.url,
        send: (_channel, payload) => void sent.push(payload),
        once: (_event, listener) => (destroyed = listener),
      };
      return { contents, sent, destroy: () => destroyed?.(), ask: (action: string) => control?.({ sender: contents, senderFrame: { url: contents.url } }, action) };
    };
    return { listeners, page };
  }

  const finished: EngineEvent = { type: 'finished', operationId: 'x' };

  test('the app page gets events after it subscribes, until it unsubscribes or is gone; one subscription per page', () => {
    const { listeners, page } = rig();
    const p = page(app);
    p.ask('subscribe');
    p.ask('subscribe');
    expect(listeners.size).toBe(1);
    for (const l of listeners) l(finished);
    expect(p.sent).toEqual([finished]);
    p.ask('unsubscribe');
    expect(listeners.size).toBe(0);
    p.ask('subscribe');
    p.destroy();
    expect(listeners.size).toBe(0);
  });

  test('another frame cannot subscribe, and a page that navigated away hears nothing', () => {
    const { listeners, page } = rig();
    page('https://example.com/').ask('subscribe');
    expect(listeners.size).toBe(0);
    const p = page(app);
    p.ask('subscribe');
    p.contents.url = 'https://example.com/';
    for (const l of listeners) l(finished);
    expect(p.sent).toEqual([]);
  });
});
