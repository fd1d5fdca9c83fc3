import { defineConfig } from 'vite';
import { nodeBundle } from './vite.node.shared';

export default defineConfig(nodeBundle('electron/preload.ts', 'preload.js'));
