/**
 * Registers the API on IPC. Calls from any frame other than the app's own page are dropped; every input is
 * validated against the contract by the shared handler. Engine events go to the app's own page only, and only
 * while it asked for them (docs/architecture.md, "Events and the live picture").
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import type { EngineEvent } from '../shared/contract';
import { toErrorData, AppError } from '../shared/errors';
import { handleApiCall } from './api-handler';
import type { Engine } from './engine';
import { EVENTS_CHANNEL, EVENTS_CONTROL_CHANNEL, IPC_CHANNEL } from './ipc-channel';

/** Whether an IPC call comes from the app's own page (its file:// bundle, or the dev server in development). */
export function isTrustedSender(frameUrl: string | undefined, appUrl: string): boolean {
  if (frameUrl === undefined) return false;
  try {
    const frame = new URL(frameUrl);
    const app = new URL(appUrl);
    if (app.protocol === 'file:') return frame.protocol === 'file:' && frame.pathname === app.pathname;
    return frame.origin === app.origin;
  } catch {
    return false;
  }
}

export function setupIpc(ipcMain: IpcMain, engine: Engine, appUrl: () => string): void {
  ipcMain.handle(IPC_CHANNEL, async (event: IpcMainInvokeEvent, method: unknown, input: unknown) => {
    if (!isTrustedSender(event.senderFrame?.url, appUrl())) {
      return { ok: false, error: toErrorData(new AppError('E_UNAUTHORIZED', 'IPC from an unknown sender was dropped.')) };
    }
    return handleApiCall(engine, typeof method === 'string' ? method : '', input);
  });
  setupEvents(ipcMain, engine, appUrl);
}

/** The page events are sent to: what the main process needs of Electron's WebContents. */
export interface EventReceiver {
  readonly id: number;
  isDestroyed(): boolean;
  getURL(): string;
  send(channel: string, payload: EngineEvent): void;
  once(event: 'destroyed', listener: () => void): unknown;
}

/** What the main process needs of `ipcMain` for the events' control channel. */
export interface EventControl {
  on(channel: string, listener: (event: { sender: EventReceiver; senderFrame: { url: string } | null }, action: unknown) => void): unknown;
}

/**
 * Subscribes a page to the engine's events when it asks (`subscribe` on the control channel) and stops on
 * `unsubscribe` or when the page is gone. Requests from other frames are dropped; each event is sent only while
 * the page still shows the app, so a page that navigated away hears nothing.
 */
export function setupEvents(ipcMain: EventControl, engine: Pick<Engine, 'subscribe'>, appUrl: () => string): void {
  const subscriptions = new Map<number, () => void>();
  const stop = (id: number): void => {
    subscriptions.get(id)?.();
    subscriptions.delete(id);
  };
  ipcMain.on(EVENTS_CONTROL_CHANNEL, (event, action) => {
    if (!isTrustedSender(event.senderFrame?.url, appUrl())) return;
    const contents = event.sender;
    if (action === 'unsubscribe') return stop(contents.id);
    if (action !== 'subscribe' || subscriptions.has(contents.id)) return;
    const unsubscribe = engine.subscribe((engineEvent) => {
      if (contents.isDestroyed()) return stop(contents.id);
      if (isTrustedSender(contents.getURL(), appUrl())) contents.send(EVENTS_CHANNEL, engineEvent);
    });
    subscriptions.set(contents.id, unsubscribe);
    contents.once('destroyed', () => stop(contents.id));
  });
}
