import { useCallback, useEffect, useRef, type ReactElement, type RefObject } from 'react';
import type { Domain } from '../../shared/model';
import { commandLine, powerLine } from '../../shared/ops/format-plan';
import type { Plan } from '../../shared/ops/plan';
import { planSummary } from '../../shared/ops/plan-summary';
import { stepLine } from '../../shared/ops/step-command';
import { dirname } from '../../shared/paths';
import { formatBytes } from '../../shared/snapshot-graph';
import { TRASH_DIR } from '../../shared/ops/trash-names';
import { sshTargetOf } from '../../shared/source-rules';
import { useAppActions, useAppStore } from '../store/context';
import type { Preview } from '../store/ops-slice';
import { selectBusy, selectDomain, selectOpsActions, selectPreview } from '../store/selectors';
import { fileName } from './format';
import { ErrorWords } from './ErrorWords';
import { useDialogFocus } from './use-dialog-focus';
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

/** The marks a plan lays on the graph, as graph/highlights.ts reads them from its impact. */
function marksOf(plan: Plan): { created: boolean; changed: boolean; removed: boolean } {
  const { changedNodes, createdNodes, removedSnapshots, removedBranches, renamed } = plan.impact;
  return {
    created: createdNodes.length > 0 || renamed !== null,
    changed: changedNodes.length > 0,
    removed: removedSnapshots.length + removedBranches.length > 0 || renamed !== null,
  };
}

/**
 * What the marks the preview lays on the graph mean: only those it lays, and no key at all for a plan that marks no
 * node (one that changes only metadata the graph does not draw).
 */
function PreviewLegend({ plan }: { plan: Plan }): ReactElement | null {
  const marks = marksOf(plan);
  const shown = (['created', 'changed', 'removed'] as const).filter((m) => marks[m]);
  if (shown.length === 0) return null;
  const words = { created: 'new', changed: 'changed', removed: 'removed' } as const;
  return (
    <ul className="plan-legend" aria-label="Marks on the graph">
      <li>
        <span className="legend-swatch is-kept" aria-hidden="true" />
        kept as is
      </li>
      {shown.map((m) => (
        <li key={m}>
          <span className={`legend-swatch is-${m}`} aria-hidden="true" />
          {words[m]}
        </li>
      ))}
    </ul>
  );
}

/** The files the plan touches and the exact commands it runs, behind a disclosure: the summary and steps come first. */
function PlanFiles({ plan }: { plan: Plan }): ReactElement {
  const commands = plan.steps.flatMap((s) => {
    const line = stepLine(s, plan.source);
    return line === null ? [] : [commandLine(line)];
  });
  return (
    <details className="plan-commands">
      <summary>Files and exact commands</summary>
      <div className="impacts">
        <FileList label="Creates" files={plan.impact.created} tone="created" />
        <FileList label="Writes" files={plan.impact.written} tone="written" />
        <FileList label="Moves to trash" files={plan.impact.trashed} tone="trashed" />
      </div>
      <pre data-testid="plan-commands">{commands.join('\n')}</pre>
      <button type="button" className="link-button" onClick={() => void navigator.clipboard?.writeText(commands.join('\n'))}>
        Copy the commands
      </button>
    </details>
  );
}

/** Whether the plan makes a clone or an export, whose new VM and folders PlanWhere shows. */
const copies = (plan: Plan): boolean => plan.intent.op === 'clone' || plan.intent.op === 'export';

/** The plan's facts on one line: disk space (left out when it needs none), power, point of no return, host. */
function PlanFacts({ plan }: { plan: Plan }): ReactElement | null {
  const power = powerLine(plan);
  const host = plan.source.kind === 'libvirt' ? (sshTargetOf(plan.source.uri)?.host ?? null) : null;
  const rest = [
    ...(power !== null ? [power] : []),
    ...(plan.pointOfNoReturn !== null ? [`from step ${plan.pointOfNoReturn + 1} it cannot be undone, only finished`] : []),
    ...(host !== null ? [`runs on ${host} over SSH`] : []),
  ];
  // A clone's or an export's space is said beside its folder (PlanWhere).
  const space = plan.impact.spaceBytes > 0 && !copies(plan);
  if (!space && rest.length === 0) return null;
  return (
    <p className="plan-facts">
      {space ? (
        <>
          Disk space needed: about <strong>{formatBytes(plan.impact.spaceBytes)}</strong>
        </>
      ) : null}
      {(space ? [''] : []).concat(rest).join(' · ')}
    </p>
  );
}

/** The new files' folders, each with how many of the plan's new files go there, in the plan's order. */
function foldersOf(created: readonly string[]): Array<{ folder: string; files: number }> {
  const counts = new Map<string, number>();
  for (const path of created) counts.set(dirname(path), (counts.get(dirname(path)) ?? 0) + 1);
  return [...counts].map(([folder, files]) => ({ folder, files }));
}

/**
 * For a clone or an export, in sight without opening the files: the new VM's name and whether it is linked or full,
 * or the images' format, and the folder(s) its new files go into (the plan's impact.created).
 */
function PlanWhere({ plan }: { plan: Plan }): ReactElement | null {
  const { intent } = plan;
  if (intent.op !== 'clone' && intent.op !== 'export') return null;
  const folders = foldersOf(plan.impact.created);
  const what =
    intent.op === 'clone'
      ? { label: 'New VM', value: <><strong>{intent.name}</strong>, {intent.mode === 'linked' ? 'linked: its disks build on the source’s files' : 'full: standalone copies of the disks'}</> }
      : { label: 'Images', value: <>{intent.format}{intent.compress === true ? ', compressed' : ''}</> };
  return (
    <dl className="plan-where" data-testid="plan-where">
      <dt>{what.label}</dt>
      <dd>{what.value}</dd>
      <dt>New files in</dt>
      <dd>
        {folders.map(({ folder, files }) => (
          <div key={folder}>
            <code className="plan-where-folder">{folder}</code> <span className="muted small">({files === 1 ? 'one file' : `${files} files`})</span>
          </div>
        ))}
      </dd>
      {plan.impact.spaceBytes > 0 ? (
        <>
          <dt>Space</dt>
          <dd>about {formatBytes(plan.impact.spaceBytes)} there</dd>
        </>
      ) : null}
    </dl>
  );
}

function PlanBody({ plan }: { plan: Plan }): ReactElement {
  return (
    <>
      <PlanWhere plan={plan} />
      <ol className="plan-steps" aria-label="Steps">
        {plan.steps.map((step, i) => (
          <li key={i}>{step.sentence}</li>
        ))}
      </ol>
      <PlanFacts plan={plan} />
      {plan.warnings.map((w) => (
        <p key={w} className="plan-warning">
          {w}
        </p>
      ))}
      <PreviewLegend plan={plan} />
      <PlanFiles plan={plan} />
    </>
  );
}

/** The plan's one-line summary (plan-summary.ts), first in the dialog; while planning, what is being planned. */
function PlanSummary({ preview, domain }: { preview: Preview; domain: Domain | null }): ReactElement | null {
  const result = preview.result;
  if (result?.ok !== true || preview.nameError !== null) return null;
  return (
    <p className="plan-summary" data-testid="plan-summary" tabIndex={-1}>
      {planSummary(result.plan, domain)}
    </p>
  );
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
 * Where the keyboard starts in the dialog: the name field when it asks for one; for a destructive plan the
 * summary (never Confirm); else Confirm once the plan is ready, or the dialog itself while it waits.
 */
function useStartingPoint(preview: Preview | null, ready: boolean, refs: { dialog: RefObject<HTMLDivElement | null>; input: RefObject<HTMLInputElement | null>; confirmButton: RefObject<HTMLButtonElement | null>; cancelButton: RefObject<HTMLButtonElement | null> }) {
  const { dialog, input, confirmButton, cancelButton } = refs;
  const danger = preview?.action.danger ?? false;
  const asks = preview?.action.asks != null;
  const initial = useCallback((): HTMLElement | null => {
    if (asks) return input.current;
    if (danger) return cancelButton.current;
    return confirmButton.current?.disabled === false ? confirmButton.current : dialog.current;
  }, [asks, danger, input, cancelButton, confirmButton, dialog]);
  // A plan that becomes ready while the dialog itself waits hands the keyboard on: to Confirm, or for a
  // destructive plan to its summary.
  useEffect(() => {
    if (!ready || document.activeElement !== dialog.current) return;
    if (danger) dialog.current?.querySelector<HTMLElement>('.plan-summary')?.focus();
    else confirmButton.current?.focus();
  }, [ready, danger, dialog, confirmButton]);
  useEffect(() => {
    if (asks) input.current?.select();
  }, [asks, input, preview?.action]);
  return initial;
}

/**
 * The plan preview, docked at the side of the window (at the bottom when narrow) so the graph's marks stay in
 * sight: the summary first, then the steps, the files and commands behind a disclosure, and Cancel and Confirm
 * always in view under a body that scrolls. Nothing runs until the user confirms what they see.
 */
export function PlanDialog(): ReactElement | null {
  const preview = useAppStore(selectPreview);
  const busy = useAppStore(selectBusy);
  const domain = useAppStore(selectDomain);
  const store = useAppActions(selectOpsActions);
  const input = useRef<HTMLInputElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const cancelButton = useRef<HTMLButtonElement>(null);
  const dialog = useRef<HTMLDivElement>(null);
  const ready = preview !== null && preview.result?.ok === true && preview.nameError === null && !preview.loading;
  const initial = useStartingPoint(preview, ready, { dialog, input, confirmButton, cancelButton });
  // While the plan runs the dialog steps aside for the progress bar, its Cancel and the graph; it comes back only
  // when the engine hands back a changed plan to confirm again.
  useDialogFocus(dialog, { open: preview !== null && !busy, onCancel: store.closePreview, initial });

  if (preview === null || busy) return null;
  const { action, result } = preview;
  const title = action.label.replace('…', '');
  return (
    <div className="plan-dock" ref={dialog} tabIndex={-1} role="dialog" aria-modal="true" aria-labelledby="plan-dialog-title" data-testid="plan-dialog">
      <div className="plan-dock-head">
        <h2 id="plan-dialog-title">{title}</h2>
        <PlanSummary preview={preview} domain={domain} />
      </div>
      <div className="plan-dock-body">
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
      </div>
      <div className="plan-dock-foot dialog-actions">
        {preview.back !== undefined ? (
          <button type="button" className="button plan-back" data-testid="plan-back" title="Back to the dialog, with what was typed in it" onClick={() => store.backToDialog()}>
            ‹ Back
          </button>
        ) : null}
        <button type="button" ref={cancelButton} className="button" onClick={() => store.closePreview()}>
          Cancel
        </button>
        <button type="button" ref={confirmButton} className={`button button-primary${action.danger ? ' button-danger' : ''}`} disabled={!ready} onClick={() => void store.confirm()}>
          Confirm
        </button>
      </div>
    </div>
  );
}
