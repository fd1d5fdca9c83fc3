/**
 * What the renderer's web contents may do, whatever page ends up in them: no permission (camera, notifications,
 * clipboard, geolocation, …) is ever granted, no navigation or redirect leaves the app, no webview is attached,
 * and no new window opens (https links go to the user's browser). Applied to every web contents the app creates.
 */
import type { Session, WebContents } from 'electron';

/** Links the app may hand to the user's browser. */
export function isExternalLink(url: string): boolean {
  return url.startsWith('https://');
}

/** Denies every permission request and check of a session. */
export function hardenSession(session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/** Keeps a web contents on the app's own page: `openExternal` receives the https links a user clicks. */
export function hardenContents(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>, openExternal: (url: string) => void): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalLink(url)) openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}
