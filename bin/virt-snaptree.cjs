#!/usr/bin/env node
// Entry of the `virt-snaptree` command: runs the bundled CLI that `npm run build` produces.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// Reads through libvirt's library run on Node's thread pool beside file reads; a call libvirt never returns from
// keeps its thread, and a scan's snapshot dumps take all but 8 of them (THREAD_POOL_SIZE in
// electron/tools/libvirt-native.ts, which the app uses). Set before the pool starts, which is on its first use.
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '24';
const cli = join(__dirname, '..', '.vite', 'build', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('virt-snaptree: the app is not built yet. Run "npm run build" (or "npm run setup") first.\n');
  process.exit(1);
}
require('./compile-cache.cjs').enableCompileCache(join(__dirname, '..', '.vite', 'build'));
// A one-shot command ends before V8's optimizing compiler pays off: its background compiles only compete with the
// command and libvirt for the CPU (tree --connect of a 1,000-snapshot host: 0.45 s of CPU without it, 0.30 s
// with). serve runs for hours and keeps it.
if (process.argv[2] !== 'serve') require('node:v8').setFlagsFromString('--no-opt');
require(cli);
