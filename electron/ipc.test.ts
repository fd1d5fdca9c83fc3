import { describe, expect, test } from 'vitest';
import { isTrustedSender } from './ipc';

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
