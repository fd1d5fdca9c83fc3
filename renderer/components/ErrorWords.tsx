import type { ReactElement } from 'react';

/**
 * An error as a person reads it: the engine's sentence. Its code (E_NAME_TAKEN...) is for scripts and reports, so it
 * stays out of the text: on hover, and in the element's data for whoever needs it.
 */
export function ErrorWords({ error }: { error: { code: string; message: string } | null | undefined }): ReactElement | null {
  if (error === null || error === undefined) return null;
  return (
    <span className="error-words" data-code={error.code} title={`Error code: ${error.code}`}>
      {error.message}
    </span>
  );
}
