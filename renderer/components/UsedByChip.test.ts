/** The used-by chip's words: a clone's name cut to the node's room beside its source's, several clones counted. */
import { describe, expect, test } from 'vitest';
import { cloneNameCut, usedByWords } from './UsedByChip';

describe('cloneNameCut', () => {
  test('a name that fits stays whole', () => {
    expect(cloneNameCut('web01-test', 'web01', 20)).toBe('web01-test');
  });
  test('the source name and its separator go first, marked', () => {
    expect(cloneNameCut('web01-test', 'web01', 6)).toBe('…test');
    expect(cloneNameCut('lab-447-alpha-clone', 'lab-447-alpha', 7)).toBe('…clone');
  });
  test('a shared start up to a separator goes when the clone does not start with the whole source name', () => {
    expect(cloneNameCut('lab-447-oth', 'lab-447-alpha', 5)).toBe('…oth');
  });
  test('a rest still too long is cut, and always says letters are left out', () => {
    expect(cloneNameCut('lab-447-alpha-clone', 'lab-447-alpha', 5)).toBe('…lone');
    expect(cloneNameCut('lab-447-alpha-verylongname', 'lab-447-alpha', 6)).toContain('…');
    expect(cloneNameCut('other', 'lab', 3)).toBe('o…r');
  });
});

test('usedByWords names one clone and counts several', () => {
  expect(usedByWords(['a'])).toBe('clone: a');
  expect(usedByWords(['a', 'b'])).toBe('used by 2 clones');
});
