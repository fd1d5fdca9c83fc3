/** Take a disk-only external snapshot of the managed disks through libvirt; unmanaged disks are left out of it. */
import { dirname } from '../../paths';
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import { finishPlan } from './checks';
import { refuse, type Planner } from './context';
import { impact, OVERLAY_BYTES } from './impact';
import { currentBranch } from './records';

/**
 * A name as part of a new overlay's file name. libvirt (9.0) creates a shut-off domain's overlay under the name
 * its diskspec spells, a comma still doubled (",,"), while it records the name with one: a comma never goes in.
 */
const fileNamePart = (name: string): string => name.replaceAll(',', '_');

/** States in which the domain's QEMU process runs, so libvirt names the new overlay through it, not with qemu-img. */
const LIVE_STATES = new Set(['running', 'paused', 'blocked', 'in shutdown', 'pmsuspended']);

export const createSnapshot: Planner<'create-snapshot'> = {
  guard: { needsShutOff: false, needsLibvirt: true, allowProblems: false },
  plan(ctx, intent, domain) {
    if (domain.snapshots.some((s) => s.name === intent.name)) return refuse('E_NAME_TAKEN', `Domain "${domain.name}" already has a snapshot named "${intent.name}".`);
    const current = currentBranch(domain);
    if (current === undefined) return refuse('E_NOT_SUPPORTED', `Domain "${domain.name}" has no managed disk to snapshot.`);
    const overlays: Record<string, string> = {};
    for (const tip of current.tips) {
      const folder = dirname(tip.file);
      if (folder.includes(',') && !LIVE_STATES.has(domain.state)) {
        return refuse('E_NOT_SUPPORTED', `${folder} has a comma in its path: libvirt cannot take a snapshot of a domain that is not running into such a folder. Start the domain, or move its disks.`, { path: folder });
      }
      const path = `${folder}/${fileNamePart(domain.name)}.${fileNamePart(intent.name)}.${fileNamePart(tip.target)}.qcow2`;
      if (domain.layers[path] !== undefined) return refuse('E_NAME_TAKEN', `The file ${path} already exists.`, { path });
      overlays[tip.target] = path;
    }
    const excluded = domain.disks.filter((d) => !d.managed).map((d) => d.target);
    const sentence = `Take snapshot ${intent.name} of ${Object.keys(overlays).join(', ')}: the current files become its saved state, new files take the changes from now on.`;
    return finishPlan(
      ctx,
      intent,
      [{ kind: 'create-snapshot', domain: domain.name, name: intent.name, description: intent.description ?? null, overlays, excluded, sentence }],
      impact(domain, {
        created: Object.values(overlays),
        metadata: [`snapshot ${intent.name}`, `definition of ${domain.name}`],
        changedNodes: [branchNodeId(current.name), snapshotNodeId(intent.name)],
        createdNodes: [{ id: snapshotNodeId(intent.name), name: intent.name, kind: 'snapshot', parentId: current.base === null ? null : snapshotNodeId(current.base) }],
        spaceBytes: OVERLAY_BYTES * Object.keys(overlays).length,
        mustStop: false,
      }),
    );
  },
};
