/**
 * Take an external snapshot of the managed disks through libvirt; unmanaged disks are left out of it. A running
 * or paused domain keeps its state, and may have its RAM saved beside the disks or its file systems frozen by its
 * guest agent while the snapshot is taken.
 */
import type { Domain } from '../../model';
import { dirname } from '../../paths';
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import { finishPlan } from './checks';
import { refuse, type Planner } from './context';
import type { IntentOf, Refusal } from '../plan';
import { impact, OVERLAY_BYTES } from './impact';
import { currentBranch } from './records';
import { isLive } from './steps';

/**
 * A name as part of a new overlay's file name. libvirt (9.0) creates a shut-off domain's overlay under the name
 * its diskspec spells, a comma still doubled (",,"), while it records the name with one: a comma never goes in.
 */
const fileNamePart = (name: string): string => name.replaceAll(',', '_');

/** Why the snapshot cannot save memory or quiesce as asked on this domain; null when it can. */
function liveOptionsRefusal(domain: Domain, intent: IntentOf<'create-snapshot'>): Refusal | null {
  const stateIs = `Domain "${domain.name}" is ${domain.state}`;
  if (intent.memory === true && !isLive(domain)) {
    return { code: 'E_NOT_SUPPORTED', message: `${stateIs}: only a running or paused domain has memory to save. Take a disk-only snapshot, or start the domain first.` };
  }
  if (intent.quiesce !== true) return null;
  if (domain.state !== 'running') {
    return { code: 'E_NOT_SUPPORTED', message: `${stateIs}: quiescing asks the guest agent of a running domain to freeze its file systems. Take the snapshot without quiescing.` };
  }
  if (domain.guestAgent !== 'connected') {
    const why = domain.guestAgent === 'disconnected' ? 'its guest agent channel is configured, but no agent is connected to it' : 'it has no guest agent channel';
    return {
      code: 'E_NOT_SUPPORTED',
      message: `Domain "${domain.name}" cannot freeze its file systems: ${why}. Take the snapshot without quiescing, or run qemu-guest-agent in the guest.`,
    };
  }
  return null;
}

export const createSnapshot: Planner<'create-snapshot'> = {
  guard: { needsShutOff: false, needsLibvirt: true, allowProblems: false },
  plan(ctx, intent, domain) {
    if (domain.snapshots.some((s) => s.name === intent.name)) return refuse('E_NAME_TAKEN', `Domain "${domain.name}" already has a snapshot named "${intent.name}".`);
    const current = currentBranch(domain);
    if (current === undefined) return refuse('E_NOT_SUPPORTED', `Domain "${domain.name}" has no managed disk to snapshot.`);
    const live = liveOptionsRefusal(domain, intent);
    if (live !== null) return refuse(live.code, live.message);
    const overlays: Record<string, string> = {};
    for (const tip of current.tips) {
      const folder = dirname(tip.file);
      if (folder.includes(',') && !isLive(domain)) {
        return refuse('E_NOT_SUPPORTED', `${folder} has a comma in its path: libvirt cannot take a snapshot of a domain that is not running into such a folder. Start the domain, or move its disks.`, { path: folder });
      }
      const path = `${folder}/${fileNamePart(domain.name)}.${fileNamePart(intent.name)}.${fileNamePart(tip.target)}.qcow2`;
      if (domain.layers[path] !== undefined) return refuse('E_NAME_TAKEN', `The file ${path} already exists.`, { path });
      overlays[tip.target] = path;
    }
    // The RAM goes beside the first disk's files, named as the overlays are.
    const first = current.tips[0];
    const memoryFile = intent.memory === true && first !== undefined ? `${dirname(first.file)}/${fileNamePart(domain.name)}.${fileNamePart(intent.name)}.mem` : null;
    const excluded = domain.disks.filter((d) => !d.managed).map((d) => d.target);
    const sentence = [
      `Take snapshot ${intent.name} of ${Object.keys(overlays).join(', ')}: the current files become its saved state, new files take the changes from now on.`,
      ...(memoryFile !== null ? [`The VM's memory is saved to ${memoryFile} (as large as the RAM it uses); the VM pauses while it is written, then carries on as it was.`] : []),
      ...(intent.quiesce === true ? ['The guest agent freezes the file systems while the snapshot is taken.'] : []),
      ...(isLive(domain) && memoryFile === null ? [domain.state === 'paused' ? 'The VM stays paused.' : 'The VM keeps running.'] : []),
    ].join(' ');
    const step = {
      kind: 'create-snapshot' as const,
      domain: domain.name,
      name: intent.name,
      description: intent.description ?? null,
      overlays,
      excluded,
      memoryFile,
      quiesce: intent.quiesce === true,
      sentence,
    };
    return finishPlan(
      ctx,
      intent,
      [step],
      impact(domain, {
        created: [...Object.values(overlays), ...(memoryFile !== null ? [memoryFile] : [])],
        metadata: [`snapshot ${intent.name}`, `definition of ${domain.name}`],
        changedNodes: [branchNodeId(current.name), snapshotNodeId(intent.name)],
        createdNodes: [{ id: snapshotNodeId(intent.name), name: intent.name, kind: 'snapshot', parentId: current.base === null ? null : snapshotNodeId(current.base) }],
        // A memory file can take up to the RAM the VM has.
        spaceBytes: OVERLAY_BYTES * Object.keys(overlays).length + (memoryFile !== null ? (domain.memoryBytes ?? 0) : 0),
        mustStop: false,
      }),
    );
  },
};
