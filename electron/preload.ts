/**
 * The preload: exposes exactly two functions to the sandboxed renderer. `window.snaptree.invoke` forwards a
 * method name and its input to the main process, where it is validated. `window.snaptree.onEvent` hands the
 * renderer the engine's events: only those of an event's shape pass, and the main process sends them only while
 * some listener is registered here.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { BRIDGE_KEY, isEngineEvent, type Bridge } from '../shared/bridge';
import type { EngineEvent } from '../shared/contract';
import { EVENTS_CHANNEL, EVENTS_CONTROL_CHANNEL, IPC_CHANNEL } from './ipc-channel';

const listeners = new Set<(event: EngineEvent) => void>();

function deliver(_event: IpcRendererEvent, payload: unknown): void {
  if (!isEngineEvent(payload)) return;
  for (const listener of [...listeners]) listener(payload);
}

const bridge: Bridge = {
  invoke: (method, input) => ipcRenderer.invoke(IPC_CHANNEL, method, input),
  onEvent(listener) {
    // Each registration gets a function of its own, so the same callback registered twice stops once per call.
    const own = (event: EngineEvent): void => listener(event);
    listeners.add(own);
    if (listeners.size === 1) {
      ipcRenderer.on(EVENTS_CHANNEL, deliver);
      ipcRenderer.send(EVENTS_CONTROL_CHANNEL, 'subscribe');
    }
    return () => {
      if (!listeners.delete(own) || listeners.size > 0) return;
      ipcRenderer.removeListener(EVENTS_CHANNEL, deliver);
      ipcRenderer.send(EVENTS_CONTROL_CHANNEL, 'unsubscribe');
    };
  },
};

contextBridge.exposeInMainWorld(BRIDGE_KEY, bridge);
