import { describe, expect, test } from 'vitest';
import { absolutePathSchema, existingNameSchema, freeTextSchema, nameSchema, newNameSchema, uriSchema } from './validate';

/** Every character a line editor may read as a key: C0 but tab and line feed, carriage return, DEL, C1. */
const KEYS = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).filter((c) => c !== '\t' && c !== '\n'),
  '\u007f',
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(0x80 + i)),
];
const hex = (c: string) => `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

describe('nameSchema', () => {
  test.each(['snap1', 'snap1.1', 'before upgrade', "it's ünïcødé", '$(rm -rf x)', 'a-b_c', '😀 中文', 'a\u00a0b'])('accepts %j', (name) => {
    expect(nameSchema.safeParse(name).success).toBe(true);
  });

  test.each([
    ['', 'empty'],
    ['a/b', 'slash'],
    ['-rf', 'leading dash'],
    ['line\nbreak', 'control character'],
    ['tab\there', 'control character'],
    ['x\u0015undefine OTHER ;#', 'control character'],
    ['next\u0085line', 'control character'],
    ['csi\u009bA', 'control character'],
    ['del\u007f', 'control character'],
    ['half\ud800', 'surrogate'],
    [' padded', 'leading space'],
    ['x'.repeat(201), 'too long'],
  ])('refuses %j (%s)', (name) => {
    const parsed = nameSchema.safeParse(name);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/name/i);
  });

  test('refuses every C0 and C1 control character and DEL', () => {
    for (const c of [...KEYS, '\t', '\n']) expect(nameSchema.safeParse(`a${c}b`).success, hex(c)).toBe(false);
  });
});

describe('freeTextSchema', () => {
  test.each([
    'one line',
    'first line\nsecond line\n\tindented with a tab',
    `quotes ' " \` ; # $(touch pwned) \${HOME} !! \\ -- --current`,
    'ünïcødé 中文 😀 \u2028 \u00a0',
    '',
  ])('accepts %j', (text) => {
    expect(freeTextSchema.safeParse(text).success).toBe(true);
  });

  test('refuses every control character but line feed and tab, and says why', () => {
    for (const c of KEYS) {
      const parsed = freeTextSchema.safeParse(`before${c}after`);
      expect(parsed.success, hex(c)).toBe(false);
      expect(parsed.error?.issues[0]?.message, hex(c)).toMatch(/control characters|carriage returns/);
    }
  });

  test.each([
    ['x\u0015undefine OTHER ;#', 'Ctrl-U then a command'],
    ['a\r\nb', 'a Windows line break'],
    ['\u001b[A', 'an escape sequence'],
    ['half\udc00', 'a lone surrogate'],
    ['x'.repeat(4001), 'too long'],
  ])('refuses %j (%s)', (text) => {
    expect(freeTextSchema.safeParse(text).success).toBe(false);
  });
});

describe('absolutePathSchema', () => {
  test.each(['/var/lib/libvirt/images/a b.qcow2', '/tmp/ü😀'])('accepts %j', (path) => {
    expect(absolutePathSchema.safeParse(path).success).toBe(true);
  });
  test.each(['relative/a.qcow2', '/tmp/a\u0015b', '/tmp/a\u0085b', '/tmp/a\u007fb', '/tmp/a\nb', '/tmp/\ud800'])('refuses %j', (path) => {
    expect(absolutePathSchema.safeParse(path).success).toBe(false);
  });
});

describe('uriSchema', () => {
  test.each(['qemu:///system', 'qemu:///session', 'qemu+ssh://root@host/system'])('accepts %s', (uri) => {
    expect(uriSchema.safeParse(uri).success).toBe(true);
  });
  test.each(['-c qemu:///system', 'system', 'qemu:///system extra', '', 'qemu:///system\u0015', 'qemu:///sys\u009btem', 'qemu:///sys\u007ftem'])('refuses %j', (uri) => {
    expect(uriSchema.safeParse(uri).success).toBe(false);
  });
});

describe('existingNameSchema and newNameSchema', () => {
  test.each([' lead space', 'trail ', '-dash', '--ddash', 'a/b', 'x'.repeat(500)])('an existing object may be named %j verbatim, but not created so', (name) => {
    expect(existingNameSchema.safeParse(name).success).toBe(true);
    expect(newNameSchema.safeParse(name).success).toBe(false);
  });

  test('neither takes a control character or half a surrogate pair', () => {
    for (const c of [...KEYS, '\t', '\n', '\ud800']) {
      expect(existingNameSchema.safeParse(`a${c}b`).success, hex(c)).toBe(false);
      expect(newNameSchema.safeParse(`a${c}b`).success, hex(c)).toBe(false);
    }
    expect(existingNameSchema.safeParse('').success).toBe(false);
  });
});
