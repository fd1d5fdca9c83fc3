import { describe, expect, test } from 'vitest';
import { nameSchema, uriSchema } from './validate';

describe('nameSchema', () => {
  test.each(['snap1', 'snap1.1', 'before upgrade', "it's ünïcødé", '$(rm -rf x)', 'a-b_c'])('accepts %j', (name) => {
    expect(nameSchema.safeParse(name).success).toBe(true);
  });

  test.each([
    ['', 'empty'],
    ['a/b', 'slash'],
    ['-rf', 'leading dash'],
    ['line\nbreak', 'control character'],
    ['tab\there', 'control character'],
    [' padded', 'leading space'],
    ['x'.repeat(201), 'too long'],
  ])('refuses %j (%s)', (name) => {
    const parsed = nameSchema.safeParse(name);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/name/i);
  });
});

describe('uriSchema', () => {
  test.each(['qemu:///system', 'qemu:///session', 'qemu+ssh://root@host/system'])('accepts %s', (uri) => {
    expect(uriSchema.safeParse(uri).success).toBe(true);
  });
  test.each(['-c qemu:///system', 'system', 'qemu:///system extra', ''])('refuses %j', (uri) => {
    expect(uriSchema.safeParse(uri).success).toBe(false);
  });
});
