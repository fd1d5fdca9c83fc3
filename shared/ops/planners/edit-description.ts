/**
 * Set a snapshot's description: one step that redefines libvirt's record of the snapshot with the new text, as
 * a text node of its XML (never on a command line: SECURITY.md). Only metadata changes; undo defines the record
 * as it was (docs/safety.md).
 */
import { snapshotNodeId } from '../../snapshot-graph';
import { finishPlan } from './checks';
import { isFailure, type Planner } from './context';
import { findSnapshot } from './guard';
import { impact } from './impact';

/** The text as a short quote for the step's sentence: its first line, cut at 60 characters. */
function quoted(text: string): string {
  const line = text.split('\n')[0] ?? '';
  const short = line.length > 60 || text.includes('\n') ? `${line.slice(0, 60)}…` : line;
  return `"${short}"`;
}

export const editDescription: Planner<'edit-description'> = {
  guard: { needsShutOff: false, needsLibvirt: true, allowProblems: false },
  plan(ctx, intent, domain) {
    const snapshot = findSnapshot(domain, intent.snapshot);
    if (isFailure(snapshot)) return { ok: false, refusal: snapshot };
    const description = intent.description === '' ? null : intent.description;
    const sentence =
      description === null
        ? `Remove the description of snapshot ${snapshot.name} from libvirt's record of it.`
        : `Set the description of snapshot ${snapshot.name} to ${quoted(description)} in libvirt's record of it.`;
    return finishPlan(
      ctx,
      intent,
      [{ kind: 'redefine-snapshot', domain: domain.name, snapshot: snapshot.name, replace: {}, description, sentence }],
      impact(domain, { metadata: [`snapshot ${snapshot.name}`], changedNodes: [snapshotNodeId(snapshot.name)], mustStop: false }),
    );
  },
};
