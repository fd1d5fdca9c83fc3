/** The block job runner's readings: virsh's `blockjob --info --raw` (captured from libvirt 9.0), and the chains a step starts from and leaves. */
import { describe, expect, test } from 'vitest';
import { cannotStart, jobDone, parseJobInfo, type BlockJobStep } from './block-jobs';

const commit = (active: boolean): BlockJobStep => ({ kind: 'block-commit', domain: 'vm', target: 'vda', top: '/i/x', base: '/i/p', active, sentence: '' });
const pull: BlockJobStep = { kind: 'block-pull', domain: 'vm', target: 'vda', top: '/i/top', base: '/i/p', sentence: '' };

describe('virsh blockjob --info --raw', () => {
  test('a job: its type in words and how far it is', () => {
    expect(parseJobInfo(' type=Active Block Commit\n bandwidth=20\n cur=41943040\n end=41943040\n\n')).toEqual({ type: 'Active Block Commit', cur: 41943040, end: 41943040 });
    expect(parseJobInfo(' type=Block Pull\n bandwidth=0\n cur=0\n end=1\n')).toEqual({ type: 'Block Pull', cur: 0, end: 1 });
  });

  test('no job: virsh prints nothing, or a line without fields', () => {
    expect(parseJobInfo('')).toBeNull();
    expect(parseJobInfo('\n')).toBeNull();
    expect(parseJobInfo('No current block job for vda\n')).toBeNull();
    expect(parseJobInfo(' type=Block Commit\n cur=x\n end=2\n')).toBeNull();
  });
});

describe('the chain a block job starts from and leaves', () => {
  test('a commit below the active layer: the top gone, the layer above it on the base', () => {
    expect(cannotStart(commit(false), ['/i/a', '/i/x', '/i/p', '/i/b'])).toBeNull();
    expect(jobDone(commit(false), ['/i/a', '/i/x', '/i/p', '/i/b'])).toBe(false);
    expect(jobDone(commit(false), ['/i/a', '/i/p', '/i/b'])).toBe(true);
    expect(cannotStart(commit(false), ['/i/x', '/i/p'])).toMatch(/has become the active layer/);
    expect(cannotStart(commit(false), ['/i/a', '/i/p', '/i/x'])).toMatch(/no longer lies above/);
  });

  test('an active commit: the disk pivoted onto the base', () => {
    expect(cannotStart(commit(true), ['/i/x', '/i/p'])).toBeNull();
    expect(cannotStart(commit(true), ['/i/a', '/i/x', '/i/p'])).toMatch(/no longer the active layer/);
    expect(jobDone(commit(true), ['/i/x', '/i/p'])).toBe(false);
    expect(jobDone(commit(true), ['/i/p', '/i/b'])).toBe(true);
    expect(jobDone(commit(true), ['/i/a', '/i/p'])).toBe(false);
  });

  test('a pull: the top stays and builds on the base', () => {
    expect(cannotStart(pull, ['/i/top', '/i/x', '/i/p'])).toBeNull();
    expect(jobDone(pull, ['/i/top', '/i/x', '/i/p'])).toBe(false);
    expect(jobDone(pull, ['/i/top', '/i/p'])).toBe(true);
    expect(cannotStart(pull, ['/i/other', '/i/top', '/i/p'])).toMatch(/no longer the active layer/);
    expect(cannotStart(pull, ['/i/top', '/i/q'])).toMatch(/no longer lies above/);
  });
});
