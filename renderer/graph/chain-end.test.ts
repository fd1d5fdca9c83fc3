import { describe, expect, it } from 'vitest';
import { chainEnd } from './use-file-canvas';

// base <- mid <- top-a, mid <- top-b <- top-b2 (the domain runs on top-b2)
const edges = [
  { source: 'base', target: 'mid' },
  { source: 'mid', target: 'top-a' },
  { source: 'mid', target: 'top-b' },
  { source: 'top-b', target: 'top-b2' },
];

describe('chainEnd: Home and End in the file view', () => {
  it('goes down to the base of the chain', () => {
    expect(chainEnd(edges, 'top-b2', 'down')).toBe('base');
    expect(chainEnd(edges, 'base', 'down')).toBe('base');
  });

  it('goes up through a fork along the branch that leads to the file the domain runs on', () => {
    expect(chainEnd(edges, 'base', 'up', 'top-b2')).toBe('top-b2');
    expect(chainEnd(edges, 'base', 'up', 'top-a')).toBe('top-a');
  });

  it('takes the first branch when none leads there, and stops on a loop', () => {
    expect(chainEnd(edges, 'base', 'up')).toBe('top-a');
    expect(chainEnd([...edges, { source: 'top-a', target: 'base' }], 'base', 'up')).toBe('top-a');
    expect(chainEnd(edges, undefined, 'up')).toBeUndefined();
  });
});
