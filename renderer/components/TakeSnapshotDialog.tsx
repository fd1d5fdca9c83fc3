/**
 * The Take snapshot dialog: a name (the next free snapN to begin with), a description, and for a running domain
 * whether to include its memory or quiesce. It plans nothing itself: Preview… starts the same action the
 * current branch's menu offers, with what was typed, and the plan dialog previews it (ops-slice.ts).
 */
import { useMemo, useRef, useState, type ReactElement } from 'react';
import type { z } from 'zod';
import type { Domain, ScanResult } from '../../shared/model';
import { takeSnapshotAction, type ChoiceId, type NodeAction } from '../../shared/ops/node-actions';
import { freeTextSchema, newNameSchema } from '../../shared/validate';
import { useAppActions } from '../store/context';
import { selectOpsActions } from '../store/selectors';
import { useDialogFocus } from './use-dialog-focus';
import './TakeSnapshotDialog.css';

/** The first message of a schema's refusal, or null when the text passes. */
function problemOf(schema: z.ZodType<string>, text: string): string | null {
  const parsed = schema.safeParse(text);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? 'Not valid.');
}

/** What makes the typed name unusable: the engine's name rules, or a snapshot of that name already. */
function nameProblem(domain: Domain, name: string): string | null {
  if (domain.snapshots.some((s) => s.name === name)) return `${domain.name} already has a snapshot named "${name}".`;
  return problemOf(newNameSchema, name);
}

/** The action to preview: the menu's action with the typed name, description and ticked choices, nothing left to ask. */
function finalAction(scan: ScanResult, domain: Domain, name: string, description: string, chosen: readonly ChoiceId[]): NodeAction {
  const action = takeSnapshotAction(scan, domain, description);
  return { ...action, label: 'Take snapshot…', asks: null, choices: [], intent: () => action.intent(name, chosen) };
}

function Choices({ action, chosen, toggle }: { action: NodeAction; chosen: readonly ChoiceId[]; toggle: (id: ChoiceId, on: boolean) => void }): ReactElement | null {
  if (action.choices.length === 0) return null;
  return (
    <fieldset className="choices">
      <legend className="take-snapshot-legend">While the VM runs</legend>
      {action.choices.map((choice) => (
        <label key={choice.id} className={`choice${choice.disabled !== null ? ' choice-off' : ''}`}>
          <input type="checkbox" checked={chosen.includes(choice.id)} disabled={choice.disabled !== null} onChange={(e) => toggle(choice.id, e.target.checked)} />
          <span>
            {choice.label}
            {choice.disabled !== null ? <span className="muted small choice-why">{choice.disabled}</span> : null}
          </span>
        </label>
      ))}
    </fieldset>
  );
}

/** The dialog, open while the store says so (selectTakingSnapshot). */
export function TakeSnapshotDialog({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement {
  const { startAction, closeTakeSnapshot } = useAppActions(selectOpsActions);
  const action = useMemo(() => takeSnapshotAction(scan, domain), [scan, domain]);
  const [name, setName] = useState(action.asks?.suggestion ?? '');
  const [description, setDescription] = useState('');
  const [chosen, setChosen] = useState<ChoiceId[]>([]);
  const box = useRef<HTMLDivElement>(null);
  const nameInput = useRef<HTMLInputElement>(null);
  // The keyboard starts on the name, all of it selected; Tab stays inside; Esc cancels; it goes back on closing.
  useDialogFocus(box, {
    open: true,
    onCancel: closeTakeSnapshot,
    initial: () => {
      nameInput.current?.select();
      return nameInput.current;
    },
  });
  const nameError = nameProblem(domain, name);
  const descriptionError = problemOf(freeTextSchema, description);
  const ready = action.disabled === null && nameError === null && descriptionError === null;
  const submit = () => {
    if (ready) startAction(finalAction(scan, domain, name, description, chosen));
  };
  const toggle = (id: ChoiceId, on: boolean) => setChosen((c) => (on ? [...new Set([...c, id])] : c.filter((x) => x !== id)));
  return (
    <div className="dialog-backdrop take-snapshot-backdrop">
      <div
        className="dialog take-snapshot"
        ref={box}
        role="dialog"
        aria-modal="true"
        aria-labelledby="take-snapshot-title"
        data-testid="take-snapshot-dialog"
      >
        <h2 id="take-snapshot-title">Take snapshot of {domain.name}</h2>
        <p className="muted take-snapshot-explain">The disks' state now is kept; you can come back to it later. The next step shows exactly what will be done.</p>
        <label className="field">
          <span>Name</span>
          <input ref={nameInput} value={name} aria-invalid={nameError !== null} data-testid="snapshot-name" onChange={(e) => setName(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && submit()} />
          {nameError !== null ? <span className="field-error">{nameError}</span> : null}
        </label>
        <label className="field">
          <span>
            Description <span className="muted take-snapshot-optional">(optional; Ctrl+Enter continues)</span>
          </span>
          <textarea
            value={description}
            rows={3}
            aria-invalid={descriptionError !== null}
            data-testid="snapshot-description"
            placeholder="What is in this state, e.g. before upgrading PHP"
            onChange={(e) => setDescription(e.target.value)}
            onKeyDown={(e) => e.key === 'Enter' && (e.ctrlKey || e.metaKey) && submit()}
          />
          {descriptionError !== null ? <span className="field-error">{descriptionError}</span> : null}
        </label>
        <Choices action={action} chosen={chosen} toggle={toggle} />
        {action.disabled !== null ? (
          <p className="plan-refusal" role="alert">
            {action.disabled}
          </p>
        ) : null}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={() => closeTakeSnapshot()}>
            Cancel
          </button>
          <button type="button" className="button button-primary" disabled={!ready} onClick={submit} data-testid="take-snapshot-continue">
            Preview…
          </button>
        </div>
      </div>
    </div>
  );
}
