import { describe, expect, test } from 'vitest';
import { extentBytes, intersectExtents, mergeExtents } from './inspect';

describe('extents', () => {
  test('merge joins touching and overlapping regions, in order', () => {
    expect(mergeExtents([[10, 5], [0, 4], [4, 2], [12, 10]])).toEqual([[0, 6], [10, 12]]);
  });

  test('intersection is what both sides wrote', () => {
    expect(intersectExtents([[0, 10], [20, 10]], [[5, 20], [29, 5]])).toEqual([[5, 5], [20, 5], [29, 1]]);
    expect(intersectExtents([[0, 10]], [[10, 5]])).toEqual([]);
    expect(extentBytes([[5, 5], [20, 5]])).toBe(10);
  });
});
