/**
 * The Clone VM dialog: the new domain's name (the menu's free `<domain>-clone` to begin with), linked or full, the
 * folder for its files (beside the source's by default) and whether to start it. It plans nothing itself: Preview…
 * previews the node menu's clone action with what was chosen (ops-slice.ts, previewAction), as Take snapshot does.
 */
import { useMemo, useRef, useState, type ReactElement } from 'react';
import type { Domain, ScanResult } from '../../shared/model';
import type { NodeAction } from '../../shared/ops/node-actions';
import type { IntentOf } from '../../shared/ops/plan';
import { dirname } from '../../shared/paths';
import { absolutePathSchema, newNameSchema } from '../../shared/validate';
import { useAppActions } from '../store/context';
import type { CloneDraft } from '../store/ops-slice';
import { selectOpsActions } from '../store/selectors';
import { DialogShell, problemOf, RadioGroup, TextField } from './copy-dialog-parts';

/** The folder of the source's first managed disk: where a clone's files go unless another is given. */
export function besideSource(domain: Domain): string {
  const file = domain.disks.find((d) => d.managed && d.file !== null)?.file;
  return file == null ? '' : dirname(file);
}

function nameProblem(scan: ScanResult, name: string): string | null {
  if (scan.domains.some((d) => d.name === name)) return `A domain named "${name}" exists already.`;
  return problemOf(newNameSchema, name);
}

/** The menu's action with the chosen name, mode, folder and start, nothing left to ask. */
function finalAction(action: NodeAction, base: IntentOf<'clone'>, chosen: CloneDraft, beside: string): NodeAction {
  const intent: IntentOf<'clone'> = {
    op: 'clone',
    domain: base.domain,
    node: base.node,
    name: chosen.name,
    mode: chosen.mode,
    ...(chosen.dir !== beside ? { dir: chosen.dir } : {}),
    ...(chosen.start ? { start: true } : {}),
  };
  return { ...action, label: `Clone ${base.domain} as ${chosen.name}…`, asks: null, choices: [], intent: () => intent };
}

const FULL = { value: 'full', label: 'Full', hint: 'Copies every disk into standalone images: no link to the source, but it needs the space of the whole chain.' } as const;

/** Linked or full, the linked hint saying what a branch's clone does to the branch: its tips are frozen first. */
function modes(kind: 'snapshot' | 'branch') {
  const linked =
    kind === 'snapshot'
      ? "New overlays on this snapshot's saved state: fast and small; the clone depends on those files."
      : "The branch's files are frozen as they are now and the branch goes on in new files; the clone gets new overlays on the frozen ones: fast and small, but it depends on them.";
  return [{ value: 'linked', label: 'Linked', hint: linked }, FULL] as const;
}

interface CloneDialogProps {
  scan: ScanResult;
  domain: Domain;
  action: NodeAction;
  base: IntentOf<'clone'>;
  /** What was typed before the preview's Back, to begin with instead of the defaults. */
  draft?: CloneDraft | undefined;
}

/** The dialog for the clone action the store holds (selectCopying). */
export function CloneDialog({ scan, domain, action, base, draft }: CloneDialogProps): ReactElement {
  const { previewAction, closeCopyDialog } = useAppActions(selectOpsActions);
  const beside = useMemo(() => besideSource(domain), [domain]);
  const [chosen, setChosen] = useState<CloneDraft>(() => draft ?? { name: base.name, mode: 'linked', dir: beside, start: false });
  const nameInput = useRef<HTMLInputElement>(null);
  const nameError = nameProblem(scan, chosen.name);
  const dirError = problemOf(absolutePathSchema, chosen.dir);
  const ready = action.disabled === null && nameError === null && dirError === null;
  const submit = () => {
    if (ready) previewAction(finalAction(action, base, chosen, beside), { kind: 'clone', action, draft: chosen });
  };
  const at = `${base.node.kind} ${base.node.name}`;
  return (
    <DialogShell id="clone" title={`Clone ${domain.name} from ${at}`} initial={nameInput} onCancel={closeCopyDialog} onSubmit={submit} ready={ready} refusal={action.disabled}>
      <p className="muted copy-explain">A new VM with its own UUID and MAC addresses, starting from {at}. The next step shows exactly what will be done.</p>
      <TextField label="Name of the new VM" value={chosen.name} error={nameError} inputRef={nameInput} testId="clone-name" onChange={(name) => setChosen((c) => ({ ...c, name }))} onEnter={submit} />
      <RadioGroup legend="Disks" name="clone-mode" options={modes(base.node.kind)} value={chosen.mode} onChange={(mode) => setChosen((c) => ({ ...c, mode }))} />
      <TextField
        label="Folder for its files"
        hint={chosen.dir === beside ? '(beside the source’s images)' : '(must exist)'}
        value={chosen.dir}
        error={dirError}
        testId="clone-dir"
        onChange={(dir) => setChosen((c) => ({ ...c, dir }))}
        onEnter={submit}
      />
      <label className="choice">
        <input type="checkbox" checked={chosen.start} data-testid="clone-start" onChange={(e) => setChosen((c) => ({ ...c, start: e.target.checked }))} />
        <span>Start the new VM afterwards</span>
      </label>
    </DialogShell>
  );
}
