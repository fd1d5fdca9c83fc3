import { execFileSync } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { TestLab } from '../test-support/lab';
import { scanFolder } from './scan-folder';

let lab: TestLab;

beforeEach(async () => {
  lab = await new TestLab().init();
});

afterEach(async () => {
  await lab.cleanup();
});

const create = (args: string[], cwd: string) => execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', ...args], { cwd });

test('the ambiguous-backing error names the base the graph shows', async () => {
  await mkdir(lab.path('sub'));
  await mkdir(lab.path('other'));
  create(['base.qcow2', '8M'], lab.dir);
  create(['base.qcow2', '8M'], lab.path('sub'));
  create(['base.qcow2', '8M'], lab.path('other'));
  create(['-b', 'base.qcow2', '-F', 'qcow2', 'mid.qcow2'], lab.path('sub'));
  await symlink('sub/mid.qcow2', lab.path('direct-link.qcow2'));
  await symlink('../sub/mid.qcow2', lab.path('other/link.qcow2'));
  create(['-b', 'other/link.qcow2', '-F', 'qcow2', 'top.qcow2'], lab.dir);

  const result = await scanFolder(lab.dir);
  const mid = lab.path('sub/mid.qcow2');
  const domain = result.domains.find((d) => d.layers[mid] !== undefined);
  const shown = domain?.layers[mid]?.backing;
  const problem = [...(domain?.problems ?? []), ...result.problems].find((p) => p.code === 'ambiguous-backing' && p.severity === 'error');
  expect(problem?.message).toContain(`The graph shows ${shown}`);
});
