/**
 * Repairing an image's metadata with `qemu-img check -r`: the fix the health check offers for leaked clusters
 * (`leaks`: frees space, the guest's data stays as it is) and for corruption (`all`: qemu-img rebuilds the
 * tables, which may drop clusters it cannot trust, so a copy of the image is kept in the trash first).
 */
import { basename } from '../paths';
import { branchNodeId, snapshotNodeId } from '../snapshot-graph';
import { dependantsOf } from './dependants';
import type { Intent, PlanResult, Step } from './plan';
import { impact, plan, refuse, TRASH_DIR, trashPathOf, type PlanContext } from './plan-helpers';

export function planRepair(ctx: PlanContext, intent: Extract<Intent, { op: 'repair' }>): PlanResult {
  const domain = ctx.scan.domains.find((d) => d.name === intent.domain);
  if (domain === undefined) return refuse('E_NOT_FOUND', `There is no domain named "${intent.domain}".`);
  const layer = domain.layers[intent.path];
  if (layer === undefined) return refuse('E_NOT_FOUND', `${intent.path} is not a file of ${domain.name}.`);
  if (layer.format !== 'qcow2') return refuse('E_NOT_SUPPORTED', `${basename(layer.path)} is ${layer.format}: only qcow2 images have metadata to repair.`);
  if (domain.state !== 'shut off' && domain.state !== 'folder') {
    return refuse('E_DOMAIN_RUNNING', `Domain "${domain.name}" is ${domain.state}. Shut it down first; an image in use cannot be repaired.`, { state: domain.state });
  }
  const name = basename(layer.path);
  const steps: Step[] = [];
  const created: string[] = [];
  if (intent.mode === 'all') {
    const copy = trashPathOf(layer.path, ctx.operationId);
    created.push(copy);
    steps.push({
      kind: 'keep-copy',
      path: layer.path,
      copy,
      sentence: `Keep a copy of ${name} in the trash (${TRASH_DIR}/ beside it) before repairing: if the repair drops data, the copy still has it.`,
      command: ['cp', '--sparse=always', '--reflink=auto', '--', layer.path, copy],
    });
  }
  steps.push({
    kind: 'repair',
    path: layer.path,
    mode: intent.mode,
    sentence:
      intent.mode === 'leaks'
        ? `Free the leaked clusters of ${name}: only its allocation tables change, not what the guest reads.`
        : `Repair ${name}'s tables (leaks and corruption): clusters qemu-img cannot trust may read as zeroes afterwards.`,
    command: ['qemu-img', 'check', '-r', intent.mode, '-f', 'qcow2', '--', layer.path],
  });
  const holders = [
    ...domain.snapshots.filter((s) => s.disks.some((d) => d.stateLayer === layer.path)).map((s) => snapshotNodeId(s.name)),
    ...domain.branches.filter((b) => b.tips.some((t) => t.file === layer.path)).map((b) => branchNodeId(b.name)),
  ];
  const dependants = dependantsOf(ctx.scan, layer.path).filter((d) => d.kind === 'layer' || d.kind === 'snapshot');
  const warnings =
    intent.mode === 'all' && dependants.length > 0
      ? [`${dependants.length} thing(s) build on ${name} (${dependants.map((d) => d.description).join('; ')}): where the repair drops clusters, what they read changes too.`]
      : [];
  return plan(
    ctx,
    intent,
    steps,
    impact(domain, { created, written: [layer.path], changedNodes: intent.mode === 'all' ? holders : [], spaceBytes: intent.mode === 'all' ? layer.actualSize : 0 }),
    warnings,
  );
}
