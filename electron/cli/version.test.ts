import { expect, test } from 'vitest';
import { VERSION } from '../engine';
import { CLI_VERSION } from './version';

test('the CLI prints the engine version', () => {
  expect(CLI_VERSION).toBe(VERSION);
});
