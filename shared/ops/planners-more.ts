/**
 * Planners for creating a snapshot, reverting while discarding the state left behind (RFC option 1), and
 * deleting a branch. The last two trash only what nothing else needs: see `abandon`.
 */
import type { Domain } from '../model';
import { basename, dirname } from '../paths';
import { branchNodeId, snapshotNodeId } from '../snapshot-graph';
import { dependantsOf } from './dependants';
import type { BranchRecords, Intent, PlanResult, Step } from './plan';
import {
  currentBranch,
  defineStep,
  impact,
  isFailure,
  openSnapshot,
  OVERLAY_BYTES,
  plan,
  recordsOf,
  refuse,
  revertSteps,
  trashStep,
  virsh,
  type PlanContext,
} from './plan-helpers';

/** What abandoning some tips frees: layers nothing else needs, and the snapshots whose saved state is only there. */
export interface Abandoned {
  layers: string[];
  snapshots: string[];
  /** Kept snapshots whose record names a trashed file as its overlay, and the file to name instead. */
  renamed: Array<{ snapshot: string; replace: Record<string, string> }>;
}

/**
 * Walks down from each tip and collects the layers whose every dependant is itself abandoned (a layer above it,
 * the abandoned disk or branch, a snapshot of this domain whose saved state goes too), stopping at a layer in
 * `keep` or one something else needs. A kept snapshot may name a collected layer as its overlay (the file that
 * took over when it was taken); its record is then pointed at another child of its saved state (`newOverlays`
 * first), or, when there is none, the layer and everything below it stay.
 */
export function abandon(ctx: PlanContext, domain: Domain, tips: string[], keep: Set<string>, newOverlays: Record<string, string> = {}): Abandoned {
  const layers = new Set<string>();
  for (const tip of tips) {
    for (let at: string | null = tip; at !== null && !keep.has(at) && !layers.has(at); at = domain.layers[at]?.backing ?? null) {
      const path: string = at;
      const free = dependantsOf(ctx.scan, path).every(
        (d) => (d.kind === 'layer' && layers.has(d.name)) || (d.domain === domain.name && (d.kind === 'snapshot' || tips.includes(path))),
      );
      if (!free) break;
      layers.add(path);
    }
  }
  const goes = (name: string): boolean =>
    domain.snapshots.find((s) => s.name === name)?.disks.every((d) => d.stateLayer === null || layers.has(d.stateLayer)) ?? false;
  const below = (path: string): string[] => {
    const out: string[] = [];
    for (let at: string | null = path; at !== null && layers.has(at); at = domain.layers[at]?.backing ?? null) out.push(at);
    return out;
  };
  let renamed: Abandoned['renamed'] = [];
  for (let changed = true; changed; ) {
    changed = false;
    renamed = [];
    // A layer holding a kept snapshot's saved state stays, with everything below it.
    for (const snap of domain.snapshots) {
      if (goes(snap.name)) continue;
      for (const disk of snap.disks) {
        if (disk.stateLayer !== null && layers.has(disk.stateLayer)) {
          below(disk.stateLayer).forEach((p) => layers.delete(p));
          changed = true;
        }
      }
    }
    for (const snap of domain.snapshots) {
      if (goes(snap.name)) continue;
      const replace: Record<string, string> = {};
      for (const disk of snap.disks) {
        if (disk.overlay === null || !layers.has(disk.overlay)) continue;
        const replacement =
          newOverlays[disk.target] ??
          Object.values(domain.layers).find((l) => l.backing === disk.stateLayer && !layers.has(l.path))?.path;
        if (replacement !== undefined) replace[disk.overlay] = replacement;
        else {
          below(disk.overlay).forEach((p) => layers.delete(p));
          changed = true;
        }
      }
      if (Object.keys(replace).length > 0) renamed.push({ snapshot: snap.name, replace });
    }
  }
  const snapshots = domain.snapshots.filter((s) => s.disks.some((d) => d.stateLayer !== null) && goes(s.name)).map((s) => s.name);
  return { layers: [...layers], snapshots, renamed };
}

/** Steps that delete the abandoned snapshots' records (children first) and trash the abandoned layers. */
function dropSteps(ctx: PlanContext, domain: Domain, dropped: Abandoned): Step[] {
  const steps: Step[] = [];
  const depth = (name: string): number => {
    let n = 0;
    for (let s = domain.snapshots.find((x) => x.name === name); s?.parent; s = domain.snapshots.find((x) => x.name === s?.parent)) n++;
    return n;
  };
  for (const { snapshot, replace } of dropped.renamed) {
    steps.push({
      kind: 'redefine-snapshot',
      domain: domain.name,
      snapshot,
      replace,
      sentence: `Update the record of snapshot ${snapshot}: the file that takes the changes after it is now ${Object.values(replace).map(basename).join(', ')}.`,
      command: virsh(ctx, 'snapshot-create', '--domain', domain.name, '--xmlfile', `<record of ${snapshot} with the changes above>`, '--redefine'),
    });
  }
  // An image folder has no snapshot records: its "snapshots" are the images, which the trash steps move.
  for (const name of domain.state === 'folder' ? [] : [...dropped.snapshots].sort((a, b) => depth(b) - depth(a))) {
    steps.push({
      kind: 'delete-snapshot-metadata',
      domain: domain.name,
      snapshot: name,
      sentence: `Delete libvirt's record of snapshot ${name}: its saved state was only on the state you leave.`,
      command: virsh(ctx, 'snapshot-delete', '--domain', domain.name, '--snapshotname', name, '--metadata'),
    });
  }
  for (const path of dropped.layers) steps.push(trashStep(ctx, path));
  return steps;
}

function planCreateSnapshot(ctx: PlanContext, intent: Extract<Intent, { op: 'create-snapshot' }>): PlanResult {
  const domain = ctx.scan.domains.find((d) => d.name === intent.domain);
  if (domain === undefined || domain.state === 'folder') return refuse('E_NOT_FOUND', `There is no domain named "${intent.domain}".`);
  if (domain.snapshots.some((s) => s.name === intent.name)) return refuse('E_NAME_TAKEN', `Domain "${domain.name}" already has a snapshot named "${intent.name}".`);
  const current = currentBranch(domain);
  if (current === undefined) return refuse('E_NOT_SUPPORTED', `Domain "${domain.name}" has no managed disk to snapshot.`);
  const overlays: Record<string, string> = {};
  for (const tip of current.tips) {
    const path = `${dirname(tip.file)}/${domain.name}.${intent.name}.${tip.target}.qcow2`;
    if (domain.layers[path] !== undefined) return refuse('E_NAME_TAKEN', `The file ${path} already exists.`, { path });
    overlays[tip.target] = path;
  }
  const excluded = domain.disks.filter((d) => !d.managed).map((d) => d.target);
  // virsh splits a diskspec at commas; a comma inside the file name is written twice.
  const diskspec = (target: string, file: string) => ['--diskspec', `${target},snapshot=external,file=${file.replaceAll(',', ',,')}`];
  const command = virsh(
    ctx,
    'snapshot-create-as',
    '--domain',
    domain.name,
    '--name',
    intent.name,
    ...(intent.description ? ['--description', intent.description] : []),
    '--disk-only',
    '--atomic',
    ...Object.entries(overlays).flatMap(([target, file]) => diskspec(target, file)),
    ...excluded.flatMap((target) => ['--diskspec', `${target},snapshot=no`]),
  );
  const steps: Step[] = [
    {
      kind: 'create-snapshot',
      domain: domain.name,
      name: intent.name,
      description: intent.description ?? null,
      overlays,
      excluded,
      sentence: `Take snapshot ${intent.name} of ${Object.keys(overlays).join(', ')}: the current files become its saved state, new files take the changes from now on.`,
      command,
    },
  ];
  return plan(
    ctx,
    intent,
    steps,
    impact(domain, {
      created: Object.values(overlays),
      metadata: [`snapshot ${intent.name}`, `definition of ${domain.name}`],
      changedNodes: [branchNodeId(current.name), snapshotNodeId(intent.name)],
      spaceBytes: OVERLAY_BYTES * Object.keys(overlays).length,
      mustStop: false,
    }),
  );
}

function planRevertDiscard(ctx: PlanContext, intent: Extract<Intent, { op: 'revert-discard' }>): PlanResult {
  const opened = openSnapshot(ctx, intent.domain, intent.snapshot);
  if (isFailure(opened)) return { ok: false, refusal: opened };
  const { domain, snapshot } = opened;
  const current = currentBranch(domain);
  if (current === undefined) return refuse('E_NOT_SUPPORTED', `Domain "${domain.name}" has no managed disk to revert.`);
  const made = revertSteps(ctx, domain, snapshot, current, `${current.name}.${ctx.operationId.slice(0, 8)}`);
  if ('refusal' in made) return { ok: false, refusal: made.refusal };
  const keep = new Set(snapshot.disks.map((d) => d.stateLayer).filter((p): p is string => p !== null));
  const dropped = abandon(ctx, domain, current.tips.map((t) => t.file), keep, made.disks);
  const records: BranchRecords = { ...recordsOf(domain), current: current.name };
  const steps: Step[] = [
    ...made.creates,
    defineStep(ctx, domain, made.disks, records, `Point ${domain.name}'s disks at the new files; the state you leave is not kept.`),
    made.setCurrent,
    ...dropSteps(ctx, domain, dropped),
  ];
  return plan(
    ctx,
    intent,
    steps,
    impact(domain, {
      created: Object.values(made.disks),
      trashed: dropped.layers,
      metadata: [
        `definition of ${domain.name}`,
        `current snapshot → ${snapshot.name}`,
        ...dropped.renamed.map((r) => `snapshot ${r.snapshot}`),
        ...dropped.snapshots.map((s) => `snapshot ${s} (deleted)`),
      ],
      changedNodes: [branchNodeId(current.name), ...dropped.snapshots.map(snapshotNodeId)],
      spaceBytes: OVERLAY_BYTES * Object.keys(made.disks).length,
    }),
    dropped.layers.length === 0 ? ['Nothing only the state you leave used was found; no file goes to the trash.'] : [],
  );
}

function planDeleteBranch(ctx: PlanContext, intent: Extract<Intent, { op: 'delete-branch' }>): PlanResult {
  const domain = ctx.scan.domains.find((d) => d.name === intent.domain);
  if (domain === undefined) return refuse('E_NOT_FOUND', `There is no domain named "${intent.domain}".`);
  const branch = domain.branches.find((b) => b.name === intent.branch);
  if (branch === undefined) return refuse('E_NOT_FOUND', `Domain "${domain.name}" has no branch named "${intent.branch}".`);
  if (branch.current) return refuse('E_BAD_INPUT', `"${branch.name}" is the current branch: switch to another one first, or revert discarding it.`);
  const dropped = abandon(ctx, domain, branch.tips.map((t) => t.file), new Set());
  const steps: Step[] = [];
  if (branch.origin === 'metadata') {
    const before = recordsOf(domain);
    const disks = Object.fromEntries((currentBranch(domain)?.tips ?? []).map((t) => [t.target, t.file]));
    steps.push(defineStep(ctx, domain, disks, { ...before, branches: before.branches.filter((b) => b.name !== branch.name) }, `Remove branch "${branch.name}" from ${domain.name}'s records.`));
  }
  steps.push(...dropSteps(ctx, domain, dropped));
  return plan(
    ctx,
    intent,
    steps,
    impact(domain, {
      trashed: dropped.layers,
      metadata: [
        ...(branch.origin === 'metadata' ? ['branch records'] : []),
        ...dropped.renamed.map((r) => `snapshot ${r.snapshot}`),
        ...dropped.snapshots.map((s) => `snapshot ${s} (deleted)`),
      ],
      changedNodes: [branchNodeId(branch.name), ...dropped.snapshots.map(snapshotNodeId)],
      mustStop: false,
    }),
    dropped.layers.length < branch.tips.length ? [`Some of ${basename(branch.tips[0]?.file ?? '')}'s files are used elsewhere and stay.`] : [],
  );
}

export function planMore(ctx: PlanContext, intent: Extract<Intent, { op: 'create-snapshot' | 'revert-discard' | 'delete-branch' }>): PlanResult {
  switch (intent.op) {
    case 'create-snapshot':
      return planCreateSnapshot(ctx, intent);
    case 'revert-discard':
      return planRevertDiscard(ctx, intent);
    case 'delete-branch':
      return planDeleteBranch(ctx, intent);
  }
}
