/**
 * Registers the API on IPC. Calls from any frame other than the app's own page are dropped; every input is
 * validated against the contract by the shared handler.
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import { toErrorData, AppError } from '../shared/errors';
import { handleApiCall } from './api-handler';
import type { Engine } from './engine';
import { IPC_CHANNEL } from './ipc-channel';

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
}
