#!/usr/bin/env node
// Entry of the `virt-snaptree` command: runs the bundled CLI that `npm run build` produces.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', '.vite', 'build', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('virt-snaptree: the app is not built yet. Run "npm run build" (or "npm run setup") first.\n');
  process.exit(1);
}
require(cli);
