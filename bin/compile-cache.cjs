// V8's compiled code for the CLI's bundles, kept between runs, so that a command does not compile the engine's
// modules again every time it starts: Node 22's module.enableCompileCache where there is one, and the same done
// by hand before it (Node 20). The cache sits beside the bundles (.vite/compile-cache), in a folder only its owner can write, and is
// used only when this process's user owns it: compiled code read from it runs as this process, so it must be no
// easier to change than the bundles themselves. An entry is named by the hash of its source, so a new build never
// meets an old entry; V8 rejects one made by another version, and it is then made again.
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

/** The cache folder, made if missing; null when it is not this user's alone (then nothing is cached). */
function cacheDir(buildDir) {
  const dir = path.join(buildDir, '..', 'compile-cache');
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (error.code !== 'EEXIST') return null;
  }
  try {
    const info = fs.lstatSync(dir);
    const mine = typeof process.getuid === 'function' && info.uid === process.getuid();
    return info.isDirectory() && mine && (info.mode & 0o022) === 0 ? dir : null;
  } catch {
    return null;
  }
}

/** Compiles the bundles in `buildDir` with code cached in `dir`, and caches what a run compiled when it exits. */
function cacheByHand(buildDir, dir) {
  const compile = Module.prototype._compile;
  const made = [];
  Module.prototype._compile = function compileCached(content, filename) {
    if (path.dirname(filename) !== buildDir) return compile.call(this, content, filename);
    const entry = path.join(dir, `${createHash('sha256').update(content).digest('hex')}.bin`);
    let cachedData;
    try {
      cachedData = fs.readFileSync(entry);
    } catch {
      cachedData = undefined;
    }
    const script = new vm.Script(Module.wrap(content), { filename, cachedData });
    if (cachedData === undefined || script.cachedDataRejected) made.push({ entry, script });
    const require = (id) => this.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
    require.main = process.mainModule;
    require.cache = Module._cache;
    return script.runInThisContext().call(this.exports, this.exports, require, this, filename, path.dirname(filename));
  };
  // At exit the scripts hold the functions this run compiled too: the next run needs compile none of them.
  process.once('exit', () => {
    for (const { entry, script } of made) {
      try {
        fs.writeFileSync(`${entry}.${process.pid}`, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(`${entry}.${process.pid}`, entry);
      } catch {
        // A cache that cannot be written is only slower.
      }
    }
  });
}

/** Turns the cache on for the bundles in `buildDir`. */
function enableCompileCache(buildDir) {
  const dir = cacheDir(buildDir);
  if (dir === null) return;
  if (typeof Module.enableCompileCache === 'function') Module.enableCompileCache(dir);
  else cacheByHand(buildDir, dir);
}

module.exports = { enableCompileCache };
