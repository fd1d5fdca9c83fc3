/**
 * Repairing an image's metadata with `qemu-img check -r`: the fix the health check offers for leaked clusters
 * (`leaks`: frees space, the guest's data stays as it is) and for corruption (`all`: qemu-img rebuilds the
 * tables, which may drop clusters it cannot trust, so a copy of the image is kept in the trash first).
 */
import type { Domain, Layer } from '../../model';
import { basename } from '../../paths';
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import { dependantsOf } from '../dependants';
import type { Step } from '../plan';
import { TRASH_DIR, trashPathOf } from '../trash-names';
import { finishPlan } from './checks';
import { refuse, type PlanContext, type Planner } from './context';
import { impact } from './impact';

/** The snapshots and branches whose content is in the image: what a repair that drops clusters changes. */
function holdersOf(domain: Domain, path: string): string[] {
  return [
    ...domain.snapshots.filter((s) => s.disks.some((d) => d.stateLayer === path)).map((s) => snapshotNodeId(s.name)),
    ...domain.branches.filter((b) => b.tips.some((t) => t.file === path)).map((b) => branchNodeId(b.name)),
  ];
}

function repairWarnings(ctx: PlanContext, layer: Layer, mode: 'leaks' | 'all'): string[] {
  const dependants = dependantsOf(ctx.scan, layer.path).filter((d) => d.kind === 'layer' || d.kind === 'clone' || d.kind === 'snapshot');
  if (mode !== 'all' || dependants.length === 0) return [];
  return [`${dependants.length} thing(s) build on ${basename(layer.path)} (${dependants.map((d) => d.description).join('; ')}): where the repair drops clusters, what they read changes too.`];
}

export const repair: Planner<'repair'> = {
  // Repairing is the fix for an image the scan reports as damaged: its problems do not refuse it.
  guard: { needsShutOff: true, needsLibvirt: false, allowProblems: true },
  plan(ctx, intent, domain) {
    const layer = domain.layers[intent.path];
    if (layer === undefined) return refuse('E_NOT_FOUND', `${intent.path} is not a file of ${domain.name}.`);
    if (layer.format !== 'qcow2') return refuse('E_NOT_SUPPORTED', `${basename(layer.path)} is ${layer.format}: only qcow2 images have metadata to repair.`);
    const name = basename(layer.path);
    const steps: Step[] = [];
    const created: string[] = [];
    if (intent.mode === 'all') {
      const copy = trashPathOf(layer.path, ctx.operationId);
      created.push(copy);
      const sentence = `Keep a copy of ${name} in the trash (${TRASH_DIR}/ beside it) before repairing: if the repair drops data, the copy still has it.`;
      steps.push({ kind: 'keep-copy', path: layer.path, copy, sentence });
    }
    steps.push({
      kind: 'repair',
      path: layer.path,
      mode: intent.mode,
      sentence:
        intent.mode === 'leaks'
          ? `Free the leaked clusters of ${name}: only its allocation tables change, not what the guest reads.`
          : `Repair ${name}'s tables (leaks and corruption): clusters qemu-img cannot trust may read as zeroes afterwards.`,
    });
    const changedNodes = intent.mode === 'all' ? holdersOf(domain, layer.path) : [];
    const spaceBytes = intent.mode === 'all' ? layer.actualSize : 0;
    return finishPlan(ctx, intent, steps, impact(domain, { created, written: [layer.path], changedNodes, spaceBytes }), repairWarnings(ctx, layer, intent.mode));
  },
};
