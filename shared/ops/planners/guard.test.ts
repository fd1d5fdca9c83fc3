/** Every operation passes the one domain guard: the same situation gets the same refusal, whichever operation asks. */
import { describe, expect, test } from 'vitest';
import type { Problem, ScanResult } from '../../model';
import { layer, seed } from '../../test-seed';
import type { Intent, Op } from '../plan';
import { planOperation, PLANNERS } from '../planners';

/** The seed with a recorded branch "alt" two layers deep (alt.top on alt.qcow2), so that it can be committed too. */
function host(state?: string): ScanResult {
  const scan = seed({ fork: true, ...(state === undefined ? {} : { state }) });
  const domain = scan.domains[0];
  const alt = domain?.branches.find((b) => b.name === 'alt');
  if (domain === undefined || alt === undefined) throw new Error('the seed has no branch alt');
  domain.layers['/i/alt.top'] = layer('/i/alt.top', '/i/alt.qcow2');
  alt.tips = [{ target: 'vda', file: '/i/alt.top' }];
  return scan;
}

/** One plannable intent per operation on `host()`. */
const INTENTS: { [K in Op]: Extract<Intent, { op: K }> } = {
  'revert-branch': { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'x' },
  'revert-discard': { op: 'revert-discard', domain: 'vm', snapshot: 'snap2' },
  switch: { op: 'switch', domain: 'vm', branch: 'alt' },
  'rename-branch': { op: 'rename-branch', domain: 'vm', branch: 'alt', to: 'other' },
  'delete-snapshot': { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' },
  commit: { op: 'commit', domain: 'vm', branch: 'alt' },
  'fold-commit': { op: 'fold-commit', domain: 'vm', branch: 'main', snapshot: 'snap3' },
  'create-snapshot': { op: 'create-snapshot', domain: 'vm', name: 'snap4' },
  'delete-branch': { op: 'delete-branch', domain: 'vm', branch: 'alt' },
  repair: { op: 'repair', domain: 'vm', path: '/i/vm.snap1', mode: 'leaks' },
  'edit-description': { op: 'edit-description', domain: 'vm', snapshot: 'snap1', description: 'kernel 6.1' },
  clone: { op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 'snap1' }, name: 'vm-clone', mode: 'linked' },
  export: { op: 'export', domain: 'vm', node: { kind: 'snapshot', name: 'snap1' }, to: '/i/out', format: 'qcow2' },
};
const OPS = Object.keys(INTENTS) as Op[];

/** The refusal (code and message) each operation gets on `scan`, or "planned"; `domain` renames the intent's domain. */
function outcomes(scan: ScanResult, domain = 'vm'): Record<string, string> {
  return Object.fromEntries(
    OPS.map((op) => {
      const result = planOperation({ scan, operationId: '00000000-0000-0000-0000-000000000000' }, { ...INTENTS[op], domain });
      return [op, result.ok ? 'planned' : `${result.refusal.code}: ${result.refusal.message}`];
    }),
  );
}

const withProblem = (problem: Problem): ScanResult => {
  const scan = host();
  scan.domains[0]?.problems.push(problem);
  return scan;
};

describe('the domain guard', () => {
  test('every operation plans on a healthy, shut-off domain', () => {
    expect(new Set(Object.values(outcomes(host())))).toEqual(new Set(['planned']));
  });

  test('an unknown domain: every operation refuses alike', () => {
    expect(new Set(Object.values(outcomes(host(), 'nope'))).size).toBe(1);
    expect(outcomes(host(), 'nope').switch).toBe('E_NOT_FOUND: There is no domain named "nope".');
  });

  test('a domain that could not be read: every operation refuses alike', () => {
    const refusals = outcomes(withProblem({ code: 'domain-unreadable', severity: 'error', message: 'libvirt said no' }));
    expect(new Set(Object.values(refusals))).toEqual(new Set(['E_NOT_FOUND: Domain "vm" cannot be read, so nothing can be planned on it.']));
  });

  test('a domain with an error to fix: every operation but the repair refuses alike', () => {
    const refusals = outcomes(withProblem({ code: 'missing-backing', severity: 'error', message: 'a backing file is missing', path: '/i/gone' }));
    const expected = 'E_NOT_SUPPORTED: Domain "vm" has a problem to fix first: a backing file is missing';
    for (const op of OPS) expect(refusals[op], op).toBe(PLANNERS[op].guard.allowProblems ? 'planned' : expected);
    expect(refusals.repair).toBe('planned');
  });

  test('a running domain: exactly the operations that need it shut off refuse, alike', () => {
    const refusals = outcomes(host('running'));
    const expected = 'E_DOMAIN_RUNNING: Domain "vm" is running. Shut it down first; this operation changes the files its disks use.';
    const stoppable =
      'E_DOMAIN_RUNNING: Domain "vm" is running. Shut it down first, or say how the operation is to stop it (a clean shutdown, power off, or save its memory with the branch it leaves: --stop shutdown, force or save); this operation changes the files its disks use.';
    for (const op of OPS) {
      const guard = PLANNERS[op].guard;
      // Deleting a snapshot and committing run on a running domain by block jobs: the guard lets them through.
      if (guard.needsShutOff && guard.blockJobs !== true) expect(refusals[op], op).toBe(guard.stoppable === true ? stoppable : expected);
      else expect(refusals[op], op).not.toMatch(/^E_DOMAIN_RUNNING/);
    }
    expect(OPS.filter((op) => !PLANNERS[op].guard.needsShutOff).sort()).toEqual(['clone', 'create-snapshot', 'delete-branch', 'edit-description', 'export', 'rename-branch']);
    expect(OPS.filter((op) => PLANNERS[op].guard.blockJobs === true).sort()).toEqual(['commit', 'delete-snapshot', 'fold-commit']);
    expect(OPS.filter((op) => PLANNERS[op].guard.stoppable === true).sort()).toEqual(['revert-branch', 'revert-discard', 'switch']);
  });

  test('the plan says the domain must be shut off exactly when the guard requires it', () => {
    for (const op of OPS) {
      const result = planOperation({ scan: host(), operationId: '00000000-0000-0000-0000-000000000000' }, INTENTS[op]);
      expect(result.ok ? result.plan.impact.mustStop : result.refusal.message, op).toBe(PLANNERS[op].guard.needsShutOff);
    }
  });
});
