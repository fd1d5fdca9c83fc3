/** Who depends on a file, for the planners that remove or write one: the scan's shared index (`dependants.ts`), filtered. */
import type { Snapshot } from '../../model';
import { dependantsOf, type Dependant } from '../dependants';
import type { PlanContext } from './context';

/** The dependants of `layer` other than those the operation removes. */
export function otherDependants(ctx: PlanContext, layer: string, except: { layers?: string[]; snapshots?: Array<[string, string]> }): Dependant[] {
  return dependantsOf(ctx.scan, layer).filter(
    (d) =>
      !(d.kind === 'layer' && (except.layers ?? []).includes(d.name)) &&
      !(d.kind === 'snapshot' && (except.snapshots ?? []).some(([dom, snap]) => dom === d.domain && snap === d.name)),
  );
}

/** Snapshots (in every domain) whose records name `path`: their disks or their saved definition. */
export function snapshotsNaming(ctx: PlanContext, path: string): Array<{ domain: string; snapshot: Snapshot }> {
  const out: Array<{ domain: string; snapshot: Snapshot }> = [];
  for (const domain of ctx.scan.domains) {
    for (const snapshot of domain.snapshots) {
      if (snapshot.disks.some((d) => d.overlay === path || d.stateLayer === path)) out.push({ domain: domain.name, snapshot });
    }
  }
  return out;
}

/**
 * The dependants of `path` in other domains than `domain`: a clone built on it, or a domain on a shared file. A
 * file with any is another domain's backing and never written by `domain` (docs/model.md, "Clones").
 */
export function usersElsewhere(ctx: PlanContext, domain: string, path: string): Dependant[] {
  return dependantsOf(ctx.scan, path).filter((d) => d.domain !== domain);
}
