// @vitest-environment happy-dom
import { describe, expect, test } from 'vitest';
import { createApiClient, takeToken } from './client';

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
    await expect(createApiClient().call('appInfo', {})).rejects.toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringMatching(/printed, with its token/) });
  });
});
