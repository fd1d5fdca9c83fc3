import { describe, expect, test } from 'vitest';
import { hardenContents, hardenSession } from './hardening';

type Listener = (event: { preventDefault(): void }) => void;

/** Records what the app registers on a web contents, as Electron would receive it. */
function fakeContents() {
  const listeners = new Map<string, Listener>();
  let openHandler: ((details: { url: string }) => { action: string }) | null = null;
  const contents = {
    on: (name: string, listener: Listener) => {
      listeners.set(name, listener);
      return contents;
    },
    setWindowOpenHandler: (handler: (details: { url: string }) => { action: string }) => {
      openHandler = handler;
    },
  };
  const fire = (name: string): boolean => {
    let prevented = false;
    listeners.get(name)?.({ preventDefault: () => (prevented = true) });
    return prevented;
  };
  return { contents, fire, open: (url: string) => openHandler?.({ url }) };
}

describe('Electron hardening', () => {
  test('navigation, redirects and webviews are stopped; new windows are denied, https links go to the browser', () => {
    const fake = fakeContents();
    const opened: string[] = [];
    hardenContents(fake.contents as never, (url) => opened.push(url));
    expect(fake.fire('will-navigate')).toBe(true);
    expect(fake.fire('will-redirect')).toBe(true);
    expect(fake.fire('will-attach-webview')).toBe(true);
    expect(fake.open('https://libvirt.org/')).toEqual({ action: 'deny' });
    expect(fake.open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(fake.open('javascript:alert(1)')).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://libvirt.org/']);
  });

  test('every permission request and check is denied', () => {
    const handlers: { request?: (c: unknown, p: string, cb: (granted: boolean) => void) => void; check?: (...args: unknown[]) => boolean } = {};
    hardenSession({
      setPermissionRequestHandler: (handler: never) => (handlers.request = handler),
      setPermissionCheckHandler: (handler: never) => (handlers.check = handler),
    } as never);
    for (const permission of ['media', 'notifications', 'clipboard-read', 'geolocation', 'openExternal']) {
      let granted: boolean | null = null;
      handlers.request?.(null, permission, (g) => (granted = g));
      expect(granted).toBe(false);
      expect(handlers.check?.(null, permission, 'file://', {})).toBe(false);
    }
  });
});
