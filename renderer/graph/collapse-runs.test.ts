import { describe, expect, test } from 'vitest';
import { foldRuns, runId, type FoldInput } from './collapse-runs';

/** A chain root → s0 → s1 … s(n-1) → tip, every s a snapshot. */
function chain(n: number, extra: Partial<FoldInput> = {}): FoldInput {
  const children: Record<string, string[]> = { root: ['s0'] };
  for (let i = 0; i < n - 1; i++) children[`s${i}`] = [`s${i + 1}`];
  children[`s${n - 1}`] = ['tip'];
  return { root: 'root', children, isSnapshot: (id) => id.startsWith('s'), keep: new Set(['tip']), expanded: new Set(), ...extra };
}

describe('folding long straight runs', () => {
  test('a chain of 300 shows its ends and one node for the rest', () => {
    const folded = foldRuns(chain(300));
    const runs = Object.values(folded.runs);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    // s0 has the root above it, so the run is s1 … s299 (s299 has only the tip under it): ends s1, s2 and s298, s299; s3 … s297 folded.
    expect(run.hidden[0]).toBe('s3');
    expect(run.hidden).toHaveLength(300 - 1 - 4);
    expect(run.from).toBe('s2');
    expect(run.to).toBe('s298');
    expect(folded.children['s2']).toEqual([run.id]);
    expect(folded.children[run.id]).toEqual(['s298']);
    expect(folded.hiddenIn['s150']).toBe(run.id);
    expect(folded.children['s150']).toBeUndefined();
  });

  test('short runs, opened runs and runs broken by a kept node or a branch point stay whole', () => {
    expect(Object.keys(foldRuns(chain(9)).runs)).toHaveLength(0);
    expect(Object.keys(foldRuns(chain(12)).runs)).toHaveLength(1);
    expect(Object.keys(foldRuns(chain(300, { expanded: new Set([runId('s3')]) })).runs)).toHaveLength(0);
    // s150 kept: two runs, s150 between them visible.
    const kept = foldRuns(chain(300, { keep: new Set(['tip', 's150']) }));
    expect(Object.keys(kept.runs)).toHaveLength(2);
    expect(kept.hiddenIn['s150']).toBeUndefined();
    // A branch point at s100 (a second child) splits the chain; the fork itself stays visible.
    const forked = chain(300);
    forked.children['s100'] = ['s101', 'other'];
    const split = foldRuns(forked);
    expect(split.hiddenIn['s100']).toBeUndefined();
    expect(split.hiddenIn['s101']).toBeUndefined();
    expect(Object.keys(split.runs)).toHaveLength(2);
  });

  test('only snapshots fold', () => {
    const input = chain(20, { isSnapshot: () => false });
    expect(Object.keys(foldRuns(input).runs)).toHaveLength(0);
  });
});
