/** What the Clone and Export dialogs share: the dialog's frame with its keyboard rules, a text field, a radio group. */
import { useRef, type ReactElement, type ReactNode, type RefObject } from 'react';
import type { z } from 'zod';
import { useDialogFocus } from './use-dialog-focus';
import './CopyDialog.css';

/** The first message of a schema's refusal, or null when the text passes. */
export function problemOf(schema: z.ZodType<string>, text: string): string | null {
  const parsed = schema.safeParse(text);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? 'Not valid.');
}

interface ShellProps {
  id: string;
  title: string;
  initial: RefObject<HTMLInputElement | null>;
  onCancel: () => void;
  onSubmit: () => void;
  ready: boolean;
  /** The engine's reason the action is refused, shown above the buttons. */
  refusal: string | null;
  children: ReactNode;
}

/** A modal dialog: the keyboard starts on `initial` (its text selected), Tab stays inside, Esc cancels. */
export function DialogShell({ id, title, initial, onCancel, onSubmit, ready, refusal, children }: ShellProps): ReactElement {
  const box = useRef<HTMLDivElement>(null);
  useDialogFocus(box, {
    open: true,
    onCancel,
    initial: () => {
      initial.current?.select();
      return initial.current;
    },
  });
  return (
    <div className="dialog-backdrop copy-backdrop">
      <div className="dialog copy-dialog" ref={box} role="dialog" aria-modal="true" aria-labelledby={`${id}-title`} data-testid={`${id}-dialog`}>
        <h2 id={`${id}-title`}>{title}</h2>
        {children}
        {refusal !== null ? (
          <p className="plan-refusal" role="alert">
            {refusal}
          </p>
        ) : null}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className="button button-primary" disabled={!ready} onClick={onSubmit} data-testid={`${id}-continue`}>
            Preview…
          </button>
        </div>
      </div>
    </div>
  );
}

interface FieldProps {
  label: string;
  hint?: string;
  placeholder?: string;
  value: string;
  error: string | null;
  inputRef?: RefObject<HTMLInputElement | null>;
  testId: string;
  onChange: (value: string) => void;
  onEnter: () => void;
}

/** A labelled one-line text field with its problem under it; Enter continues. */
export function TextField({ label, hint, placeholder, value, error, inputRef, testId, onChange, onEnter }: FieldProps): ReactElement {
  return (
    <label className="field">
      <span>
        {label} {hint !== undefined ? <span className="muted copy-hint">{hint}</span> : null}
      </span>
      <input
        ref={inputRef}
        value={value}
        placeholder={placeholder}
        spellCheck={false}
        aria-invalid={error !== null}
        data-testid={testId}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={(e) => e.key === 'Enter' && onEnter()}
      />
      {error !== null ? <span className="field-error">{error}</span> : null}
    </label>
  );
}

interface RadioProps<T extends string> {
  legend: string;
  name: string;
  options: ReadonlyArray<{ value: T; label: string; hint: string }>;
  value: T;
  onChange: (value: T) => void;
}

/** One choice of a few, each with a line saying what it means. */
export function RadioGroup<T extends string>({ legend, name, options, value, onChange }: RadioProps<T>): ReactElement {
  return (
    <fieldset className="choices copy-radios">
      <legend className="copy-legend">{legend}</legend>
      {options.map((o) => (
        <label key={o.value} className="choice">
          <input type="radio" name={name} value={o.value} checked={value === o.value} data-testid={`${name}-${o.value}`} onChange={() => onChange(o.value)} />
          <span>
            {o.label}
            <span className="muted small choice-why">{o.hint}</span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}
