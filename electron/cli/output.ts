/**
 * The CLI's only way to the terminal. Names, descriptions and paths come from libvirt's XML and from file
 * headers, where anyone who can create a snapshot or a file may put control characters; written raw, an ESC
 * or a C1 control would drive the user's terminal (move the cursor, rewrite what was shown, set the title).
 * Every control character but tab and line feed, and every bidirectional or invisible one, is shown as a
 * `\uXXXX` escape instead, which in JSON output is the same escape JSON itself uses, so machine-readable
 * output still parses to the exact text.
 */

/**
 * Control characters but tab and line feed; the bidirectional controls, which reorder what a terminal shows (a
 * name can display as something it is not: "Trojan Source"); and the invisible ones (soft hyphen, zero-width
 * spaces and joiners, byte order mark) and line and paragraph separators, with which two different names
 * look the same or one name looks like two lines.
 */
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** Text with every character above written as a visible `\uXXXX`. */
export function visible(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes to standard output. */
export function out(text: string): void {
  process.stdout.write(visible(text));
}

/** Writes to standard error. */
export function err(text: string): void {
  process.stderr.write(visible(text));
}
