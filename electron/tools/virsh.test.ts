import { describe, expect, test } from 'vitest';
import { TEST_URI } from '../test-support/lab';
import { openVirsh, quoteVirshArg } from './virsh';

describe('quoteVirshArg', () => {
  test.each([
    ['plain-name_1.2', 'plain-name_1.2'],
    ['two words', "'two words'"],
    ["it's", "'it'\\''s'"],
    ['$(x); y', "'$(x); y'"],
    ['', "''"],
  ])('%j becomes %s', (arg, quoted) => {
    expect(quoteVirshArg(arg)).toBe(quoted);
  });
});

describe('VirshSession', () => {
  test('runs many commands on one process and reports each failure against its own command', async () => {
    const virsh = openVirsh(TEST_URI);
    try {
      const results = await Promise.allSettled([
        virsh.run(['version']),
        virsh.run(['dominfo', '--domain', 'snaptree-no-such-domain-x']),
        virsh.run(['echo', "it's", 'two words']),
      ]);
      expect(results[0]).toMatchObject({ status: 'fulfilled', value: expect.stringContaining('libvirt') });
      expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'E_TOOL' } });
      expect(results[2]).toMatchObject({ status: 'fulfilled', value: expect.stringMatching(/^it's two words\n?$/) });
    } finally {
      await virsh.close();
    }
  });
});
