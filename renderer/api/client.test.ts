// @vitest-environment happy-dom
import { describe, expect, test, vi } from 'vitest';
import { createApiClient, onReach, takeToken, type Reach } from './client';

describe('the access token under serve', () => {
  test('is taken from the URL once and removed from the address bar and history', () => {
    window.history.replaceState(null, '', '/?token=abc123&x=1#top');
    sessionStorage.clear();
    expect(takeToken(window.location, window.history, sessionStorage)).toBe('abc123');
    expect(window.location.href).not.toContain('abc123');
    expect(window.location.search).toBe('?x=1');
    expect(window.location.hash).toBe('#top');
    // A reload in the same tab still has it; the URL no longer does.
    expect(takeToken(window.location, window.history, sessionStorage)).toBe('abc123');
  });

  test('a page opened without it has none, and every call says how to get it', async () => {
    window.history.replaceState(null, '', '/');
    sessionStorage.clear();
    expect(takeToken(window.location, window.history, sessionStorage)).toBe('');
    await expect(createApiClient().call('appInfo', {})).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringMatching(/open the URL it prints, with its token; start it with --token-file/) });
  });
});

describe('an engine that does not answer', () => {
  test('a call that cannot reach it fails in words and is heard as lost; one that gets through as ok', async () => {
    window.history.replaceState(null, '', '/?token=abc123');
    const heard: Reach[] = [];
    const stop = onReach((r) => heard.push(r));
    const fetch = vi.spyOn(globalThis, 'fetch').mockRejectedValueOnce(new TypeError('Failed to fetch'));
    const api = createApiClient();
    await expect(api.call('appInfo', {})).rejects.toMatchObject({ code: 'E_CONNECT', message: expect.stringMatching(/reconnects by itself/) });
    fetch.mockResolvedValueOnce(new Response(JSON.stringify({ ok: true, value: { demo: false } })));
    await api.call('appInfo', {});
    expect(heard).toEqual(['lost', 'ok']);
    stop();
    fetch.mockRestore();
  });
});
