/**
 * Export the disks of a snapshot or a branch: each managed disk as one standalone image in the folder `to`, read
 * through its whole chain. Only new files are made; nothing of the domain changes.
 */
import { basename } from '../../paths';
import type { Step } from '../plan';
import { finishPlan } from './checks';
import { chainBytes, knownLayers, layerWords, nameTooLong, nodeSource } from './clone';
import { isFailure, refuse, type Planner } from './context';
import { impact } from './impact';
import { layerFormat } from './records';

/** A name as part of a file name: no comma (create-snapshot.ts). */
const fileNamePart = (name: string): string => name.replaceAll(',', '_');

export const exportDisks: Planner<'export'> = {
  guard: { needsShutOff: false, needsLibvirt: false, allowProblems: false },
  plan(ctx, intent, domain) {
    const compress = intent.compress === true;
    if (compress && intent.format === 'raw') return refuse('E_BAD_INPUT', 'A raw image cannot be compressed; export to qcow2 to compress it.');
    const source = nodeSource(domain, intent.node);
    if (isFailure(source)) return { ok: false, refusal: source };
    const known = knownLayers(ctx.scan);
    const extension = intent.format === 'raw' ? 'raw' : 'qcow2';
    const steps: Step[] = [];
    for (const disk of source.disks) {
      const target = `${intent.to}/${fileNamePart(domain.name)}-${fileNamePart(intent.node.name)}-${fileNamePart(disk.target)}.${extension}`;
      if (known.has(target) || steps.some((s) => s.kind === 'convert' && s.target === target)) return refuse('E_NAME_TAKEN', `The file ${target} already exists.`, { path: target });
      steps.push({
        kind: 'convert',
        source: disk.layer,
        sourceFormat: layerFormat(domain, disk.layer),
        target,
        format: intent.format,
        compress,
        sentence: `Copy ${disk.target} as ${source.words} (${layerWords(domain, disk.layer)}) into ${basename(target)}, a standalone${compress ? ' compressed' : ''} ${intent.format} image.`,
      });
    }
    const created = steps.flatMap((s) => (s.kind === 'convert' ? [s.target] : []));
    const tooLong = nameTooLong(created);
    if (tooLong !== null) return { ok: false, refusal: tooLong };
    return finishPlan(
      ctx,
      intent,
      steps,
      impact(domain, {
        created,
        changedNodes: [],
        // A raw image takes the whole disk where the file system does not keep holes; qcow2 what the chain holds.
        spaceBytes: source.disks.reduce((sum, d) => sum + (intent.format === 'raw' ? (domain.layers[d.layer]?.virtualSize ?? 0) : chainBytes(domain, d.layer)), 0),
        mustStop: false,
      }),
    );
  },
};
