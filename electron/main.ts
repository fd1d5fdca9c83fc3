/**
 * The desktop app's main process: one window running the sandboxed renderer, the engine behind IPC. When no
 * libvirt connection answers, the demo lab is built so there is always something to look at.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, ipcMain, session, shell } from 'electron';
import { sourceEntry, type SourceEntry } from '../shared/contract';
import { Engine } from './engine';
import { hardenContents, hardenSession } from './hardening';
import { setupIpc } from './ipc';
import { createDemoLab, type DemoLab } from './lab/demo-lab';
import { exitProcess, hungLibvirtCalls, sizeThreadPool } from './tools/libvirt-native';
import { openVirsh } from './tools/virsh';

declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;

// Reads through libvirt's library share Node's thread pool with file reads (see bin/virt-snaptree.cjs).
sizeThreadPool();

const DEFAULT_URI = 'qemu:///system';
let lab: DemoLab | null = null;
let engine: Engine | null = null;

function appUrl(): string {
  if (typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' && MAIN_WINDOW_VITE_DEV_SERVER_URL !== '') {
    return MAIN_WINDOW_VITE_DEV_SERVER_URL;
  }
  return pathToFileURL(join(__dirname, '..', 'renderer', 'main_window', 'index.html')).href;
}

async function chooseSources(): Promise<{ sources: SourceEntry[]; demo: boolean }> {
  const virsh = openVirsh(DEFAULT_URI);
  const reachable = await virsh.run(['list', '--all', '--name']).then(
    () => true,
    () => false,
  );
  await virsh.close();
  if (reachable) {
    return { sources: [sourceEntry({ kind: 'libvirt', uri: DEFAULT_URI })], demo: false };
  }
  lab = await createDemoLab(null);
  return { sources: lab.sources, demo: true };
}

function createWindow(): void {
  const window = new BrowserWindow({
    width: 1360,
    height: 860,
    title: 'virt-snaptree',
    show: false,
    webPreferences: {
      preload: join(__dirname, 'preload.js'),
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  window.once('ready-to-show', () => window.show());
  void window.loadURL(appUrl());
}

// Every web contents, the window's and any other, stays on the app's page and gets no permission.
app.on('web-contents-created', (_event, contents) => hardenContents(contents, (url) => void shell.openExternal(url)));

app.whenReady().then(async () => {
  hardenSession(session.defaultSession);
  const { sources, demo } = await chooseSources();
  engine = new Engine({ host: 'desktop', sources, demo });
  // Operations a crash interrupted are finished or rolled back before anything else runs.
  await engine.recover().catch(() => []);
  setupIpc(ipcMain, engine, appUrl);
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on('will-quit', (event) => {
  void engine?.close();
  void lab?.dispose();
  // A call hung in libvirt holds a thread the process would wait for on its way out (libvirt-native.ts).
  if (hungLibvirtCalls() > 0) {
    event.preventDefault();
    exitProcess(0);
  }
});
