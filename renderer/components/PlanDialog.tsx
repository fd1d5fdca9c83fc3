import { useEffect, useRef, type ReactElement, type RefObject } from 'react';
import { commandLine, powerLine } from '../../shared/ops/format-plan';
import type { Plan } from '../../shared/ops/plan';
import { stepLine } from '../../shared/ops/step-command';
import { formatBytes } from '../../shared/snapshot-graph';
import { TRASH_DIR } from '../../shared/ops/trash-names';
import { sshTargetOf } from '../../shared/source-rules';
import { useFocusReturn } from '../graph/keep-focus';
import { useAppActions, useAppStore } from '../store/context';
import type { Preview } from '../store/ops-slice';
import { selectBusy, selectOpsActions, selectPreview } from '../store/selectors';
import { fileName } from './format';
import { ErrorWords } from './ErrorWords';
import './PlanDialog.css';

function FileList({ label, files, tone }: { label: string; files: string[]; tone: string }): ReactElement | null {
  if (files.length === 0) return null;
  return (
    <div className={`impact impact-${tone}`}>
      <div className="impact-label">{label}</div>
      <ul>
        {files.map((f) => (
          <li key={f} title={f}>
            <code>{fileName(f)}</code>
            {f.includes(`/${TRASH_DIR}/`) ? <span className="muted small"> in the trash</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

function PlanBody({ plan }: { plan: Plan }): ReactElement {
  const power = powerLine(plan);
  const host = plan.source.kind === 'libvirt' ? (sshTargetOf(plan.source.uri)?.host ?? null) : null;
  const commands = plan.steps.flatMap((s) => {
    const line = stepLine(s, plan.source);
    return line === null ? [] : [commandLine(line)];
  });
  return (
    <>
      <ol className="plan-steps">
        {plan.steps.map((step, i) => (
          <li key={i}>{step.sentence}</li>
        ))}
      </ol>
      <div className="impacts">
        <FileList label="Creates" files={plan.impact.created} tone="created" />
        <FileList label="Writes" files={plan.impact.written} tone="written" />
        <FileList label="Moves to trash" files={plan.impact.trashed} tone="trashed" />
      </div>
      <p className="plan-facts">
        Disk space needed: about <strong>{formatBytes(plan.impact.spaceBytes)}</strong>
        {power !== null ? ` · ${power}` : ''}
        {plan.pointOfNoReturn !== null ? ` · from step ${plan.pointOfNoReturn + 1} it cannot be undone, only finished` : ''}
        {host !== null ? ` · runs on ${host} over SSH` : ''}
      </p>
      {plan.warnings.map((w) => (
        <p key={w} className="plan-warning">
          {w}
        </p>
      ))}
      <details className="plan-commands" open>
        <summary>Exact commands</summary>
        <pre data-testid="plan-commands">{commands.join('\n')}</pre>
        <button type="button" className="link-button" onClick={() => void navigator.clipboard?.writeText(commands.join('\n'))}>
          Copy
        </button>
      </details>
    </>
  );
}

/** Plans again a moment after the user stops typing the name. */
function usePlanAgain(preview: Preview | null, planPreview: () => Promise<void>) {
  const name = preview?.name;
  const nameError = preview?.nameError;
  const asks = preview?.action.asks !== null;
  useEffect(() => {
    if (name === undefined || !asks || nameError !== null) return;
    const timer = setTimeout(() => void planPreview(), 250);
    return () => clearTimeout(timer);
  }, [name, nameError, asks, planPreview]);
}

/** The name an action asks for (a snapshot's, a branch's), checked as it is typed; Enter confirms a ready plan. */
function NameField({ preview, input, ready }: { preview: Preview; input: RefObject<HTMLInputElement | null>; ready: boolean }): ReactElement | null {
  const { setPreviewName, confirm } = useAppActions(selectOpsActions);
  if (!preview.action.asks) return null;
  return (
    <label className="field">
      <span>{preview.action.asks.label}</span>
      <input
        ref={input}
        value={preview.name}
        aria-invalid={preview.nameError !== null}
        onChange={(e) => setPreviewName(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && ready) void confirm();
        }}
      />
      {preview.nameError ? <span className="field-error">{preview.nameError}</span> : null}
    </label>
  );
}

/** The choices an action offers (a running VM's memory, a quiesce), each with the engine's reason when it cannot be ticked. */
function ChoiceFields({ preview }: { preview: Preview }): ReactElement | null {
  const { setPreviewChoice } = useAppActions(selectOpsActions);
  if (preview.action.choices.length === 0) return null;
  return (
    <fieldset className="choices">
      {preview.action.choices.map((choice) => (
        <label key={choice.id} className={`choice${choice.disabled !== null ? ' choice-off' : ''}`}>
          <input
            type="checkbox"
            checked={preview.chosen.includes(choice.id)}
            disabled={choice.disabled !== null}
            onChange={(e) => setPreviewChoice(choice.id, e.target.checked)}
          />
          <span>
            {choice.label}
            {choice.disabled !== null ? <span className="muted small choice-why">{choice.disabled}</span> : null}
          </span>
        </label>
      ))}
    </fieldset>
  );
}

/**
 * The dialog holds the keyboard while it is open, so no key reaches the graph behind it: the name field when it
 * asks for one, else Confirm, or the dialog itself while Confirm waits for the plan, and Confirm once it is ready.
 */
function useDialogFocus(preview: Preview | null, ready: boolean, refs: { dialog: RefObject<HTMLDivElement | null>; input: RefObject<HTMLInputElement | null>; confirmButton: RefObject<HTMLButtonElement | null> }): void {
  const { dialog, input, confirmButton } = refs;
  const action = preview?.action;
  useEffect(() => {
    if (action?.asks) input.current?.select();
    else if (action !== undefined) (confirmButton.current?.disabled === false ? confirmButton.current : dialog.current)?.focus();
  }, [action, input, confirmButton, dialog]);
  useEffect(() => {
    if (ready && document.activeElement === dialog.current) confirmButton.current?.focus();
  }, [ready, dialog, confirmButton]);
}

/** The plan preview: nothing runs until the user confirms what they see. */
export function PlanDialog(): ReactElement | null {
  const preview = useAppStore(selectPreview);
  const busy = useAppStore(selectBusy);
  const store = useAppActions(selectOpsActions);
  const input = useRef<HTMLInputElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const dialog = useRef<HTMLDivElement>(null);
  const ready = preview !== null && preview.result?.ok === true && preview.nameError === null && !preview.loading;
  // While the plan runs the dialog steps aside for the progress bar, its Cancel and the graph; it comes back only
  // when the engine hands back a changed plan to confirm again.
  useFocusReturn(preview !== null && !busy, dialog);
  useDialogFocus(preview, ready, { dialog, input, confirmButton });
  usePlanAgain(preview, store.planPreview);

  if (preview === null || busy) return null;
  const { action, result } = preview;
  return (
    <div className="dialog-backdrop">
      <div
        className="dialog"
        ref={dialog}
        tabIndex={-1}
        role="dialog"
        aria-modal="true"
        aria-label={action.label.replace('…', '')}
        data-testid="plan-dialog"
        onKeyDown={(e) => {
          if (e.key === 'Escape') store.closePreview();
        }}
      >
        <h2>{action.label.replace('…', '')}</h2>
        <NameField preview={preview} input={input} ready={ready} />
        <ChoiceFields preview={preview} />
        {preview.notice ? <p className="plan-notice">{preview.notice}</p> : null}
        {preview.loading && result === null ? <p className="muted">Planning…</p> : null}
        {result?.ok === false ? (
          <p className="plan-refusal" role="alert" data-testid="plan-refusal">
            <ErrorWords error={result.refusal} />
          </p>
        ) : null}
        {result?.ok === true && preview.nameError === null ? <PlanBody plan={result.plan} /> : null}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={() => store.closePreview()}>
            Cancel
          </button>
          <button type="button" ref={confirmButton} className={`button button-primary${action.danger ? ' button-danger' : ''}`} disabled={!ready} onClick={() => void store.confirm()}>
            Confirm
          </button>
        </div>
      </div>
    </div>
  );
}
