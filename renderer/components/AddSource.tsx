import { useState, type FormEvent, type ReactElement } from 'react';
import type { ErrorData } from '../../shared/errors';
import { sourceSchema } from '../../shared/contract';
import { useAppActions, useAppStore } from '../store/context';
import { selectAppInfo, selectSourceActions } from '../store/selectors';
import './AddSource.css';

/** Add a libvirt connection or open an image folder (checked as you type, then asked), or open the demo. */
export function AddSource(): ReactElement {
  const { addSource, startDemo } = useAppActions(selectSourceActions);
  const info = useAppStore(selectAppInfo);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorData | null>(null);
  const folder = text.startsWith('/');
  // The engine's own rules: a connection that would start a program is refused as it is typed.
  const check = sourceSchema.safeParse(folder ? { kind: 'folder', path: text } : { kind: 'libvirt', uri: text });
  const hint = text === '' ? null : check.success ? null : (check.error.issues[0]?.message ?? null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!check.success) return;
    setBusy(true);
    const failed = await addSource(folder ? { kind: 'folder', path: text } : { kind: 'libvirt', uri: text });
    setBusy(false);
    setError(failed);
    if (failed === null) setText('');
  };

  return (
    <form className="add-source" onSubmit={(e) => void submit(e)}>
      <label className="field">
        <span>Add a connection or an image folder</span>
        <input
          value={text}
          placeholder="qemu+ssh://root@host/system or /var/lib/images"
          aria-invalid={hint !== null}
          onChange={(e) => {
            setText(e.target.value);
            setError(null);
          }}
        />
        {hint ? <span className="field-error">{hint}</span> : null}
        {error ? (
          <span className="field-error" role="alert">
            {error.message}
          </span>
        ) : null}
      </label>
      <div className="add-source-actions">
        <button type="submit" className="button button-small" disabled={busy || text === '' || hint !== null}>
          {busy ? 'Checking…' : folder ? 'Open folder' : 'Connect'}
        </button>
        {info?.demo ? null : (
          <button type="button" className="button button-small" onClick={() => void startDemo()}>
            Open the demo
          </button>
        )}
      </div>
    </form>
  );
}
