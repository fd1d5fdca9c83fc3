/**
 * The planners for reverting with a new branch, switching and renaming branches, deleting snapshots and
 * committing: pure functions from a scan of the whole connection and an intent to a plan or a refusal.
 * Expected refusals are results, never throws.
 */
import type { Snapshot } from '../model';
import { basename } from '../paths';
import { branchNodeId, snapshotNodeId } from '../snapshot-graph';
import { dependantsOf, type Dependant } from './dependants';
import type { BranchRecords, Intent, PlanResult, Step } from './plan';
import {
  currentBranch,
  defineStep,
  impact,
  isFailure,
  openBranch,
  layerFormat,
  nameTaken,
  OVERLAY_BYTES,
  openSnapshot,
  plan,
  recordsOf,
  refuse,
  revertSteps,
  setCurrentStep,
  trashStep,
  virsh,
  type PlanContext,
} from './plan-helpers';

/** Revert with a new branch (RFC option 3): new overlays on the snapshot's saved state; the old state is kept. */
function planRevertBranch(ctx: PlanContext, intent: Extract<Intent, { op: 'revert-branch' }>): PlanResult {
  const opened = openSnapshot(ctx, intent.domain, intent.snapshot);
  if (isFailure(opened)) return { ok: false, refusal: opened };
  const { domain, snapshot } = opened;
  const current = currentBranch(domain);
  if (current === undefined) return refuse('E_NOT_SUPPORTED', `Domain "${domain.name}" has no managed disk to revert.`);
  const keepAs = intent.keepAs ?? current.name;
  if (intent.branch === keepAs) return refuse('E_NAME_TAKEN', `The new branch and the kept branch cannot both be named "${keepAs}".`);
  for (const name of [intent.branch, ...(intent.keepAs !== undefined && intent.keepAs !== current.name ? [intent.keepAs] : [])]) {
    if (nameTaken(domain, name)) return refuse('E_NAME_TAKEN', `Domain "${domain.name}" already has a branch named "${name}".`, { name });
  }

  const made = revertSteps(ctx, domain, snapshot, current, intent.branch);
  if ('refusal' in made) return { ok: false, refusal: made.refusal };
  const steps: Step[] = [...made.creates];
  const disks = made.disks;
  const created = Object.values(disks);
  const before = recordsOf(domain);
  const records: BranchRecords = {
    current: intent.branch,
    branches: [...before.branches, { name: keepAs, tips: current.tips.map((t) => ({ ...t })) }],
  };
  steps.push(
    defineStep(
      ctx,
      domain,
      disks,
      records,
      `Point ${domain.name}'s disks at the new files, record the state you leave as branch "${keepAs}", and name the new branch "${intent.branch}".`,
    ),
  );
  steps.push(made.setCurrent);
  return plan(
    ctx,
    intent,
    steps,
    impact(domain, {
      created,
      metadata: [`definition of ${domain.name}`, 'branch records', `current snapshot → ${snapshot.name}`],
      changedNodes: [branchNodeId(current.name), branchNodeId(intent.branch)],
      spaceBytes: OVERLAY_BYTES * created.length,
    }),
    domain.disks.filter((d) => !d.managed).map((d) => `Disk ${d.target} is not managed (${d.reason ?? ''}); it stays as it is.`),
  );
}

/** Switch branch: point the domain at a recorded branch's tips; the current state becomes a recorded branch. */
function planSwitch(ctx: PlanContext, intent: Extract<Intent, { op: 'switch' }>): PlanResult {
  const opened = openBranch(ctx, intent.domain, intent.branch);
  if (isFailure(opened)) return { ok: false, refusal: opened };
  const { domain, branch: target } = opened;
  if (target.current) return refuse('E_BAD_INPUT', `"${target.name}" is already the current branch.`);
  const current = currentBranch(domain);
  if (current === undefined) return refuse('E_NOT_SUPPORTED', `Domain "${domain.name}" has no managed disk.`);
  const wanted = current.tips.map((t) => t.target).sort();
  const offered = target.tips.map((t) => t.target).sort();
  if (wanted.join('\0') !== offered.join('\0')) {
    return refuse('E_NOT_SUPPORTED', `Branch "${target.name}" has tips for ${offered.join(', ') || 'no disk'}, but the domain's disks are ${wanted.join(', ')}.`);
  }
  const before = recordsOf(domain);
  const records: BranchRecords = {
    current: target.name,
    branches: [...before.branches.filter((b) => b.name !== target.name), { name: current.name, tips: current.tips.map((t) => ({ ...t })) }],
  };
  const disks = Object.fromEntries(target.tips.map((t) => [t.target, t.file]));
  const steps: Step[] = [
    defineStep(ctx, domain, disks, records, `Point ${domain.name}'s disks at the tips of "${target.name}" and record the state you leave as branch "${current.name}".`),
  ];
  if (target.base !== null) steps.push(setCurrentStep(ctx, domain, target.base));
  return plan(
    ctx,
    intent,
    steps,
    impact(domain, {
      metadata: [`definition of ${domain.name}`, 'branch records', ...(target.base !== null ? [`current snapshot → ${target.base}`] : [])],
      changedNodes: [branchNodeId(current.name), branchNodeId(target.name)],
    }),
  );
}

/** Rename a branch: the current one or a recorded one. Only the records change. */
function planRenameBranch(ctx: PlanContext, intent: Extract<Intent, { op: 'rename-branch' }>): PlanResult {
  const domain = ctx.scan.domains.find((d) => d.name === intent.domain);
  if (domain === undefined) return refuse('E_NOT_FOUND', `There is no domain named "${intent.domain}".`);
  const branch = domain.branches.find((b) => b.name === intent.branch);
  if (branch === undefined) return refuse('E_NOT_FOUND', `Domain "${domain.name}" has no branch named "${intent.branch}".`);
  if (branch.origin === 'loose' || branch.origin === 'folder') {
    return refuse('E_NOT_SUPPORTED', `"${branch.name}" is a file nobody records; switch to it to adopt it as a branch first.`);
  }
  if (nameTaken(domain, intent.to)) return refuse('E_NAME_TAKEN', `Domain "${domain.name}" already has a branch named "${intent.to}".`);
  const before = recordsOf(domain);
  const records: BranchRecords = branch.current
    ? { ...before, current: intent.to }
    : { ...before, branches: before.branches.map((b) => (b.name === branch.name ? { ...b, name: intent.to } : b)) };
  const disks = Object.fromEntries((currentBranch(domain)?.tips ?? []).map((t) => [t.target, t.file]));
  return plan(
    ctx,
    intent,
    [defineStep(ctx, domain, disks, records, `Rename branch "${branch.name}" to "${intent.to}" in ${domain.name}'s records.`)],
    impact(domain, { metadata: ['branch records'], changedNodes: [branchNodeId(branch.name), branchNodeId(intent.to)], mustStop: false }),
  );
}

/** The dependants of `layer` other than those the operation removes. */
function otherDependants(ctx: PlanContext, layer: string, except: { layers?: string[]; snapshots?: Array<[string, string]> }): Dependant[] {
  return dependantsOf(ctx.scan, layer).filter(
    (d) =>
      !(d.kind === 'layer' && (except.layers ?? []).includes(d.name)) &&
      !(d.kind === 'snapshot' && (except.snapshots ?? []).some(([dom, snap]) => dom === d.domain && snap === d.name)),
  );
}

/** Snapshots (in every domain) whose records name `path`: their disks or their saved definition. */
function snapshotsNaming(ctx: PlanContext, path: string): Array<{ domain: string; snapshot: Snapshot }> {
  const out: Array<{ domain: string; snapshot: Snapshot }> = [];
  for (const domain of ctx.scan.domains) {
    for (const snapshot of domain.snapshots) {
      if (snapshot.disks.some((d) => d.overlay === path || d.stateLayer === path)) out.push({ domain: domain.name, snapshot });
    }
  }
  return out;
}

/**
 * Delete a snapshot, keeping every other snapshot and branch byte-identical. Per disk, with P its saved state and
 * X its overlay: commit X into P when P's only other dependant is X; else, when X holds no other snapshot's state
 * and is no tip, rebase X's children onto P and trash X; else only the snapshot's record goes.
 */
function planDeleteSnapshot(ctx: PlanContext, intent: Extract<Intent, { op: 'delete-snapshot' }>): PlanResult {
  const opened = openSnapshot(ctx, intent.domain, intent.snapshot);
  if (isFailure(opened)) return { ok: false, refusal: opened };
  const { domain, snapshot } = opened;

  const steps: Step[] = [];
  const trashed: string[] = [];
  const written: string[] = [];
  const warnings: string[] = [];
  // A commit can grow P, and a rebase each child, by up to what X holds; the trash frees nothing until emptied.
  let space = 0;
  const diskChanges: Record<string, string> = {};
  const replace: Record<string, string> = {};
  let records = recordsOf(domain);
  let recordsChanged = false;
  const self: Array<[string, string]> = [[domain.name, snapshot.name]];

  for (const disk of intent.metadataOnly ? [] : snapshot.disks) {
    const state = disk.stateLayer;
    const overlay = disk.overlay;
    if (disk.kind !== 'external' || state === null || overlay === null) continue;
    const format = layerFormat(domain, state);
    const onState = otherDependants(ctx, state, { layers: [overlay], snapshots: self });
    const children = Object.values(domain.layers).filter((l) => l.backing === overlay);
    const onOverlay = dependantsOf(ctx.scan, overlay);
    const overlayIsState = onOverlay.some((d) => d.kind === 'snapshot');
    const overlayIsTip = onOverlay.some((d) => d.kind === 'disk' || d.kind === 'branch');

    if (onState.length === 0) {
      // P serves only X (and the snapshot going away): fold X into P and let X's users read P.
      steps.push({
        kind: 'commit',
        top: overlay,
        base: state,
        sentence: `Commit ${basename(overlay)} into ${basename(state)} (${disk.target}): the saved state of ${snapshot.name} takes in the changes made after it.`,
        command: ['qemu-img', 'commit', '-f', layerFormat(domain, overlay), '-p', '-d', '-b', state, '--', overlay],
      });
      written.push(state);
      space += domain.layers[overlay]?.actualSize ?? 0;
      for (const child of children) {
        steps.push({
          kind: 'rebase',
          path: child.path,
          backing: state,
          backingFormat: format,
          unsafe: true,
          sentence: `Point ${basename(child.path)} at ${basename(state)}, which now holds what ${basename(overlay)} held.`,
          command: ['qemu-img', 'rebase', '-u', '-f', child.format, '-F', format, '-b', state, '--', child.path],
        });
        // Only its header changes (the backing name): the guest reads the same bytes through it.
        written.push(child.path);
      }
      for (const d of domain.disks) if (d.file === overlay) diskChanges[d.target] = state;
      const retip = (tips: BranchRecords['branches'][number]['tips']) => tips.map((t) => (t.file === overlay ? { ...t, file: state } : t));
      if (records.branches.some((b) => b.tips.some((t) => t.file === overlay))) {
        records = { ...records, branches: records.branches.map((b) => ({ ...b, tips: retip(b.tips) })) };
        recordsChanged = true;
      }
      replace[overlay] = state;
      trashed.push(overlay);
    } else if (!overlayIsState && !overlayIsTip && children.length > 0) {
      // P is shared, but X only carries its children: copy X's data into each child and let it go.
      for (const child of children) {
        steps.push({
          kind: 'rebase',
          path: child.path,
          backing: state,
          backingFormat: format,
          unsafe: false,
          sentence: `Rebase ${basename(child.path)} onto ${basename(state)}, copying in what ${basename(overlay)} held, so it reads the same.`,
          command: ['qemu-img', 'rebase', '-p', '-f', child.format, '-F', format, '-b', state, '--', child.path],
        });
        written.push(child.path);
        space += domain.layers[overlay]?.actualSize ?? 0;
      }
      replace[overlay] = state;
      trashed.push(overlay);
    } else {
      const why = onState.map((d) => d.description).join('; ');
      warnings.push(
        `Disk ${disk.target}: ${basename(state)} has other dependants (${why}) and ${basename(overlay)} ${overlayIsState ? 'holds another snapshot\u2019s saved state' : 'is still in use'}; the files stay, only the snapshot's record goes.`,
      );
    }
  }

  if (Object.keys(diskChanges).length > 0 || recordsChanged) {
    const disks = Object.fromEntries(domain.disks.filter((d) => d.managed && d.file !== null).map((d) => [d.target, diskChanges[d.target] ?? (d.file as string)]));
    steps.push(defineStep(ctx, domain, disks, records, `Point ${domain.name}'s disks and branch records at the merged files.`));
  }
  // Children of the snapshot take its parent; records naming a trashed file name its replacement instead.
  const children = domain.snapshots.filter((s) => s.parent === snapshot.name);
  const renamed = new Set<string>();
  for (const path of Object.keys(replace)) for (const hit of snapshotsNaming(ctx, path)) if (hit.snapshot.name !== snapshot.name) renamed.add(`${hit.domain}\0${hit.snapshot.name}`);
  for (const child of children) renamed.add(`${domain.name}\0${child.name}`);
  for (const key of [...renamed].sort()) {
    const [dom, snap] = key.split('\0') as [string, string];
    const isChild = dom === domain.name && children.some((c) => c.name === snap);
    steps.push({
      kind: 'redefine-snapshot',
      domain: dom,
      snapshot: snap,
      replace,
      ...(isChild ? { parent: snapshot.parent } : {}),
      sentence: `Update the record of snapshot ${snap}: ${isChild ? `its parent becomes ${snapshot.parent ?? 'none'}` : 'it keeps its place'}${Object.keys(replace).length > 0 ? ', and it names the merged files' : ''}.`,
      command: virsh(ctx, 'snapshot-create', '--domain', dom, '--xmlfile', `<record of ${snap} with the changes above>`, '--redefine'),
    });
  }
  steps.push({
    kind: 'delete-snapshot-metadata',
    domain: domain.name,
    snapshot: snapshot.name,
    sentence: `Delete libvirt's record of snapshot ${snapshot.name}.`,
    command: virsh(ctx, 'snapshot-delete', '--domain', domain.name, '--snapshotname', snapshot.name, '--metadata'),
  });
  for (const path of trashed) steps.push(trashStep(ctx, path));
  return plan(
    ctx,
    intent,
    steps,
    impact(domain, {
      written,
      trashed,
      metadata: [`snapshot ${snapshot.name}`, ...[...renamed].map((k) => `snapshot ${k.split('\0')[1] ?? ''}`)],
      changedNodes: [snapshotNodeId(snapshot.name)],
      spaceBytes: space,
    }),
    warnings,
  );
}

/** Commit a branch tip into its backing file (RFC option 2), refused when anything else depends on that file. */
function planCommit(ctx: PlanContext, intent: Extract<Intent, { op: 'commit' }>): PlanResult {
  const opened = openBranch(ctx, intent.domain, intent.branch);
  if (isFailure(opened)) return { ok: false, refusal: opened };
  const { domain, branch } = opened;
  const steps: Step[] = [];
  const written: string[] = [];
  const trashed: string[] = [];
  let space = 0;
  const retarget: Record<string, string> = {};
  for (const tip of branch.tips) {
    const layer = domain.layers[tip.file];
    if (layer === undefined || layer.backing === null) {
      return refuse('E_NOT_SUPPORTED', `${basename(tip.file)} has no backing file to commit into.`);
    }
    const base = layer.backing;
    const others = otherDependants(ctx, base, { layers: [tip.file] });
    if (others.length > 0) {
      return refuse(
        'E_SHARED_BACKING',
        `Committing ${basename(tip.file)} would write into ${basename(base)}, which other things depend on: ${others.map((d) => d.description).join('; ')}. ` +
          'Their content would change. Create a new branch from here instead, or delete the snapshots that hold it.',
        { base, dependants: others },
      );
    }
    steps.push({
      kind: 'commit',
      top: tip.file,
      base,
      sentence: `Commit ${basename(tip.file)} into ${basename(base)}: ${basename(base)} becomes the new baseline of ${tip.target}.`,
      command: ['qemu-img', 'commit', '-f', layer.format, '-p', '-d', '-b', base, '--', tip.file],
    });
    written.push(base);
    trashed.push(tip.file);
    space += layer.actualSize;
    retarget[tip.file] = base;
  }
  if (domain.state !== 'folder') {
    let records = recordsOf(domain);
    records = { ...records, branches: records.branches.map((b) => ({ ...b, tips: b.tips.map((t) => ({ ...t, file: retarget[t.file] ?? t.file })) })) };
    const disks = Object.fromEntries(domain.disks.filter((d) => d.managed && d.file !== null).map((d) => [d.target, retarget[d.file as string] ?? (d.file as string)]));
    steps.push(defineStep(ctx, domain, disks, records, `Point ${domain.name}'s disks and branch records at the committed files.`));
  }
  for (const path of trashed) steps.push(trashStep(ctx, path));
  return plan(
    ctx,
    intent,
    steps,
    impact(domain, { written, trashed, metadata: [`definition of ${domain.name}`], changedNodes: [branchNodeId(branch.name)], spaceBytes: space }),
  );
}

export function planCore(ctx: PlanContext, intent: Extract<Intent, { op: 'revert-branch' | 'switch' | 'rename-branch' | 'delete-snapshot' | 'commit' }>): PlanResult {
  switch (intent.op) {
    case 'revert-branch':
      return planRevertBranch(ctx, intent);
    case 'switch':
      return planSwitch(ctx, intent);
    case 'rename-branch':
      return planRenameBranch(ctx, intent);
    case 'delete-snapshot':
      return planDeleteSnapshot(ctx, intent);
    case 'commit':
      return planCommit(ctx, intent);
  }
}
