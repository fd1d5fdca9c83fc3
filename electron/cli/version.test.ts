import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { VERSION } from '../engine';

const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');

test('the CLI prints the engine version', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  expect(stdout.trim()).toBe(VERSION);
});
