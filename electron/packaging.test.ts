/**
 * The desktop package cannot be built here (Electron's binary cannot be downloaded), so its file set is checked
 * as Electron Packager would copy it: the built main bundle requires nothing outside it but Electron and koffi,
 * and koffi, copied with only what the package keeps, loads its binary and libvirt.so.0 from there.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { leftOutOfPackage } from './packaging';

const ROOT = join(__dirname, '..');
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Copies what the package keeps of `from` (walked as Packager walks it: a folder left out is not entered). */
async function copyKept(from: string, to: string): Promise<number> {
  let copied = 0;
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const path = join(from, entry.name);
    if (leftOutOfPackage(`/${relative(ROOT, path)}`)) continue;
    if (entry.isDirectory()) copied += await copyKept(path, to);
    else {
      await cp(path, join(to, relative(ROOT, path)), { dereference: true });
      copied++;
    }
  }
  return copied;
}

describe('the desktop package', () => {
  test('keeps the bundles and koffi, and leaves out sources, tests and every other dependency', () => {
    for (const kept of ['/.vite', '/.vite/build/main.js', '/node_modules', '/node_modules/koffi', '/node_modules/koffi/index.js', '/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node']) {
      expect(leftOutOfPackage(kept), kept).toBe(false);
    }
    for (const left of ['/electron', '/electron/main.ts', '/node_modules/koffi-other', '/node_modules/react', '/node_modules/.bin', '/package-lock.json', '/.git', '/e2e']) {
      expect(leftOutOfPackage(left), left).toBe(true);
    }
  });

  test('the main bundle requires only Node, Electron and koffi', async () => {
    const main = await readFile(join(ROOT, '.vite', 'build', 'main.js'), 'utf8');
    const required = new Set([...main.matchAll(/require\("([^"./][^"]*)"\)/g)].map((m) => m[1] as string));
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    expect([...required].filter((name) => !builtins.has(name)).sort()).toEqual(['electron', 'koffi']);
  });

  test('koffi copied as the package keeps it loads its binary and libvirt', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'snaptree-package-'));
    dirs.push(dir);
    expect(await copyKept(join(ROOT, 'node_modules'), dir)).toBeGreaterThan(0);
    const script = `const k = require(${JSON.stringify(join(dir, 'node_modules', 'koffi'))}); k.load('libvirt.so.0'); process.stdout.write(k.version);`;
    expect(execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' })).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
