/** Switch branch: point the domain at a recorded branch's tips; the current state becomes a recorded branch. */
import { basename } from '../../paths';
import { branchNodeId } from '../../snapshot-graph';
import type { BranchRecords, Step } from '../plan';
import { finishPlan } from './checks';
import { isFailure, refuse, type Planner } from './context';
import { usersElsewhere } from './dependants-of';
import { findBranch } from './guard';
import { impact } from './impact';
import { currentBranch, recordsOf } from './records';
import { defineStep, revertsExternal, savedMemoryFile, setCurrentStep, trashStep, withPower } from './steps';

export const switchBranch: Planner<'switch'> = {
  guard: { needsShutOff: true, needsLibvirt: false, allowProblems: false, stoppable: true },
  plan(ctx, intent, domain) {
    const target = findBranch(domain, intent.branch);
    if (isFailure(target)) return { ok: false, refusal: target };
    if (target.current) return refuse('E_BAD_INPUT', `"${target.name}" is already the current branch.`);
    const current = currentBranch(domain);
    if (current === undefined) return refuse('E_NOT_SUPPORTED', `Domain "${domain.name}" has no managed disk.`);
    const wanted = current.tips.map((t) => t.target).sort();
    const offered = target.tips.map((t) => t.target).sort();
    if (wanted.join('\0') !== offered.join('\0')) {
      return refuse('E_NOT_SUPPORTED', `Branch "${target.name}" has tips for ${offered.join(', ') || 'no disk'}, but the domain's disks are ${wanted.join(', ')}.`);
    }
    // A tip another domain builds on (a clone's backing) is frozen: the domain would write into that domain's disk.
    for (const tip of target.tips) {
      const users = usersElsewhere(ctx, domain.name, tip.file);
      if (users.length > 0) {
        return refuse(
          'E_SHARED_BACKING',
          `Branch "${target.name}" cannot be switched to: ${domain.name} would write into ${basename(tip.file)}, and ${users.map((d) => d.description).join('; ')}. Revert to a snapshot to go on from there instead.`,
          { path: tip.file, dependants: users },
        );
      }
    }
    const before = recordsOf(domain);
    const saveTo = savedMemoryFile(domain, intent, current.name, current.tips);
    if (saveTo !== null && (domain.layers[saveTo] !== undefined || saveTo === target.memoryFile)) return refuse('E_NAME_TAKEN', `The file ${saveTo} already exists.`, { path: saveTo });
    const left = { name: current.name, tips: current.tips.map((t) => ({ ...t })), ...(saveTo !== null ? { memory: saveTo } : {}) };
    const records: BranchRecords = { current: target.name, branches: [...before.branches.filter((b) => b.name !== target.name), left] };
    const disks = Object.fromEntries(target.tips.map((t) => [t.target, t.file]));
    const steps: Step[] = [
      defineStep(domain, disks, records, `Point ${domain.name}'s disks at the tips of "${target.name}" and record the state you leave as branch "${current.name}".`),
    ];
    // With libvirt's own revert, the current snapshot names the files of the state the domain is on (setCurrentStep).
    const revertAware = revertsExternal(ctx.scan);
    const currentSnapshot = target.base ?? (revertAware ? (domain.snapshots.find((s) => s.current)?.name ?? null) : null);
    if (currentSnapshot !== null) {
      steps.push(setCurrentStep(domain, currentSnapshot, disks, revertAware));
    }
    // The branch's saved memory is used up once the VM runs from it again: it goes to the trash after the restore.
    const resumeFrom = target.memoryFile ?? null;
    const powered = withPower(domain, intent, steps, { saveTo, resumeFrom });
    if (resumeFrom !== null) powered.push(trashStep(resumeFrom));
    return finishPlan(
      ctx,
      intent,
      powered,
      impact(domain, {
        created: saveTo !== null ? [saveTo] : [],
        spaceBytes: saveTo !== null ? (domain.memoryBytes ?? 0) : 0,
        trashed: resumeFrom !== null ? [resumeFrom] : [],
        metadata: [`definition of ${domain.name}`, 'branch records', ...(target.base !== null ? [`current snapshot → ${target.base}`] : [])],
        changedNodes: [branchNodeId(current.name), branchNodeId(target.name)],
        currentAfter: branchNodeId(target.name),
      }),
    );
  },
};
