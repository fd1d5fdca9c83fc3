import { defineConfig } from 'vite';
import { nodeBundle } from './vite.node.shared';

export default defineConfig(nodeBundle('electron/main.ts', 'main.js'));
