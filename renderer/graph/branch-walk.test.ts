import { describe, expect, test } from 'vitest';
import { along, PAGE, rootOf, tipOf } from './branch-walk';
import type { TreeLinks } from './to-flow';

/** c0 → c1 … c29 → main (You are here); c5 forks to side0 → side1 → tip-side; c5 is also the base of old. */
function tree(): TreeLinks {
  const parentOf: Record<string, string | null> = { c0: null };
  const childrenOf: Record<string, string[]> = {};
  const link = (child: string, parent: string) => {
    parentOf[child] = parent;
    (childrenOf[parent] ??= []).push(child);
  };
  for (let i = 1; i < 30; i++) link(`c${i}`, `c${i - 1}`);
  link('main', 'c29');
  link('side0', 'c5');
  link('side1', 'side0');
  link('tip-side', 'side1');
  // c5's first child is the side chain: End from c5 still goes towards You are here.
  childrenOf['c5'] = ['side0', 'c6'];
  return { parentOf, childrenOf };
}

describe('moving along a branch', () => {
  const t = tree();
  test('End goes to the tip: towards You are here when it lies ahead, else along the first child', () => {
    expect(tipOf(t, 'c0', 'main')).toBe('main');
    expect(tipOf(t, 'c5', 'main')).toBe('main');
    expect(tipOf(t, 'side0', 'main')).toBe('tip-side');
    expect(tipOf(t, 'c5', null)).toBe('tip-side');
  });

  test('Home goes to the root', () => {
    expect(rootOf(t, 'tip-side')).toBe('c0');
    expect(rootOf(t, 'c0')).toBe('c0');
  });

  test('PageUp and PageDown move a page along the branch and stop at its ends', () => {
    expect(PAGE).toBe(10);
    expect(along(t, 'c0', 'main', PAGE)).toBe('c10');
    expect(along(t, 'c25', 'main', -PAGE)).toBe('c15');
    expect(along(t, 'c25', 'main', PAGE)).toBe('main');
    expect(along(t, 'c3', 'main', -PAGE)).toBe('c0');
  });
});
