/**
 * The one domain guard every operation passes before it is planned (docs/safety.md): the domain exists and was
 * read, has no error to fix first, and is shut off or on libvirt when the operation needs it. The options say
 * which of these an operation needs; the refusals are the same whichever operation asks.
 */
import type { Branch, Domain, Problem, Snapshot } from '../../model';
import type { Refusal } from '../plan';
import { isFailure } from './context';
import { currentBranch } from './records';

export interface GuardOptions {
  /** The operation changes which files the disks use, or rewrites one: the domain must be shut off. */
  needsShutOff: boolean;
  /** The operation works through libvirt only (an image folder has no domain to ask). */
  needsLibvirt: boolean;
  /** The operation is the fix for a problem the scan reported (repairing an image), so errors do not refuse it. */
  allowProblems: boolean;
  /** On a running or paused domain, the planner changes the files QEMU has open by block jobs, while the VM runs. */
  blockJobs?: boolean;
  /** The operation can stop a live domain first when the intent says how (`stop`); the refusal says so. */
  stoppable?: boolean;
  /**
   * Errors about the branch acted on (a tip file it lost) do not refuse it: deleting that branch is their fix.
   * Errors about anything else still do.
   */
  allowOwnBranchProblems?: boolean;
}

/** The domain named `name` when `options` allow planning on it (acting on `branch`, if the intent names one); otherwise why not. */
export function guardDomain(domains: Domain[], name: string, options: GuardOptions, branch?: string): Domain | Refusal {
  const domain = domains.find((d) => d.name === name);
  if (domain === undefined) return { code: 'E_NOT_FOUND', message: `There is no domain named "${name}".` };
  if (domain.problems.some((p) => p.code === 'domain-unreadable')) {
    return { code: 'E_NOT_FOUND', message: `Domain "${name}" cannot be read, so nothing can be planned on it.` };
  }
  if (options.needsLibvirt && domain.state === 'folder') {
    return { code: 'E_NOT_SUPPORTED', message: `"${name}" is an image folder, not a libvirt domain; this operation works through libvirt.` };
  }
  const ownProblem = (p: Problem) => options.allowOwnBranchProblems === true && branch !== undefined && p.branch === branch;
  const broken = domain.problems.find((p) => p.severity === 'error' && !ownProblem(p));
  if (!options.allowProblems && broken !== undefined) {
    return { code: 'E_NOT_SUPPORTED', message: `Domain "${name}" has a problem to fix first: ${broken.message}`, details: { problem: broken } };
  }
  const byBlockJobs = options.blockJobs === true && (domain.state === 'running' || domain.state === 'paused');
  if (options.needsShutOff && !byBlockJobs && domain.state !== 'shut off' && domain.state !== 'folder') {
    return {
      code: 'E_DOMAIN_RUNNING',
      message: `Domain "${name}" is ${domain.state}. ${
        options.stoppable === true ? 'Shut it down first, or say how the operation is to stop it (a clean shutdown, power off, or save its memory with the branch it leaves: --stop shutdown, force or save)' : 'Shut it down first'
      }; this operation changes the files its disks use.`,
      details: { state: domain.state },
    };
  }
  return domain;
}

/** One of the domain's snapshots, or the refusal naming it. */
export function findSnapshot(domain: Domain, name: string): Snapshot | Refusal {
  return domain.snapshots.find((s) => s.name === name) ?? { code: 'E_NOT_FOUND', message: `Domain "${domain.name}" has no snapshot named "${name}".` };
}

/** What every revert starts from: the snapshot named, and the current branch whose state is left. */
export function revertFrom(domain: Domain, snapshotName: string): { snapshot: Snapshot; current: Branch } | Refusal {
  const snapshot = findSnapshot(domain, snapshotName);
  if (isFailure(snapshot)) return snapshot;
  const current = currentBranch(domain);
  if (current === undefined) return { code: 'E_NOT_SUPPORTED', message: `Domain "${domain.name}" has no managed disk to revert.` };
  return { snapshot, current };
}

/** One of the domain's branches, or the refusal naming it. */
export function findBranch(domain: Domain, name: string): Branch | Refusal {
  return domain.branches.find((b) => b.name === name) ?? { code: 'E_NOT_FOUND', message: `Domain "${domain.name}" has no branch named "${name}".` };
}
