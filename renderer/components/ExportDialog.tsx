/**
 * The Export disks dialog: the folder the images go into (required, it must exist; the menu's suggestion first), qcow2 or raw, and qcow2's
 * compression. Preview… previews the node menu's export action with what was chosen (ops-slice.ts, previewAction).
 */
import { useRef, useState, type ReactElement } from 'react';
import type { Domain } from '../../shared/model';
import type { NodeAction } from '../../shared/ops/node-actions';
import type { IntentOf } from '../../shared/ops/plan';
import { absolutePathSchema } from '../../shared/validate';
import { useAppActions } from '../store/context';
import type { ExportDraft } from '../store/ops-slice';
import { selectOpsActions } from '../store/selectors';
import { DialogShell, problemOf, RadioGroup, TextField } from './copy-dialog-parts';

/** The menu's action with the chosen folder, format and compression, nothing left to ask. */
function finalAction(action: NodeAction, base: IntentOf<'export'>, chosen: ExportDraft): NodeAction {
  const compress = chosen.format === 'qcow2' && chosen.compress;
  const intent: IntentOf<'export'> = { op: 'export', domain: base.domain, node: base.node, to: chosen.to, format: chosen.format, ...(compress ? { compress: true } : {}) };
  return { ...action, label: `Export disks of ${base.node.name}…`, asks: null, choices: [], intent: () => intent };
}

const FORMATS = [
  { value: 'qcow2', label: 'qcow2', hint: 'Sparse, can be compressed; what libvirt and QEMU use.' },
  { value: 'raw', label: 'raw', hint: 'A plain disk image, readable by any tool; as large as the virtual disk where sparse files are not kept.' },
] as const;

/** The dialog for the export action the store holds (selectCopying). */
export function ExportDialog({ domain, action, base, draft }: { domain: Domain; action: NodeAction; base: IntentOf<'export'>; draft?: ExportDraft | undefined }): ReactElement {
  const { previewAction, closeCopyDialog } = useAppActions(selectOpsActions);
  // What was typed before the preview's Back, else the menu's folder, qcow2, not compressed.
  const [chosen, setChosen] = useState<ExportDraft>(() => draft ?? { to: base.to, format: 'qcow2', compress: false });
  const toInput = useRef<HTMLInputElement>(null);
  const toError = chosen.to === '' ? null : problemOf(absolutePathSchema, chosen.to);
  const ready = action.disabled === null && chosen.to !== '' && toError === null;
  const submit = () => {
    if (ready) previewAction(finalAction(action, base, chosen), { kind: 'export', action, draft: chosen });
  };
  const at = `${base.node.kind} ${base.node.name}`;
  return (
    <DialogShell id="export" title={`Export disks of ${domain.name} at ${at}`} initial={toInput} onCancel={closeCopyDialog} onSubmit={submit} ready={ready} refusal={action.disabled}>
      <p className="muted copy-explain">Each disk as one standalone image file, named after the domain, the node and the disk. A file that exists there already is never overwritten.</p>
      <TextField label="Folder" hint="(an absolute path that exists)" placeholder="/var/tmp/export" value={chosen.to} error={toError} inputRef={toInput} testId="export-dir" onChange={(to) => setChosen((c) => ({ ...c, to }))} onEnter={submit} />
      <RadioGroup legend="Format" name="export-format" options={FORMATS} value={chosen.format} onChange={(format) => setChosen((c) => ({ ...c, format }))} />
      <label className={`choice${chosen.format === 'raw' ? ' choice-off' : ''}`}>
        <input type="checkbox" checked={chosen.format === 'qcow2' && chosen.compress} disabled={chosen.format === 'raw'} data-testid="export-compress" onChange={(e) => setChosen((c) => ({ ...c, compress: e.target.checked }))} />
        <span>
          Compress (smaller, slower to write)
          {chosen.format === 'raw' ? <span className="muted small choice-why">Only qcow2 images are compressed.</span> : null}
        </span>
      </label>
    </DialogShell>
  );
}
