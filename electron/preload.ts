/**
 * The preload: exposes exactly one function to the sandboxed renderer, `window.snaptree.invoke`, which
 * forwards a method name and its input to the main process. Validation happens there, not here.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { BRIDGE_KEY, type Bridge } from '../shared/bridge';
import { IPC_CHANNEL } from './ipc-channel';

const bridge: Bridge = {
  invoke: (method, input) => ipcRenderer.invoke(IPC_CHANNEL, method, input),
};

contextBridge.exposeInMainWorld(BRIDGE_KEY, bridge);
