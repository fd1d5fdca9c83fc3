/**
 * The CLI's only way to the terminal. Names, descriptions and paths come from libvirt's XML and from file
 * headers, where anyone who can create a snapshot or a file may put control characters; written raw, an ESC
 * or a C1 control would drive the user's terminal (move the cursor, rewrite what was shown, set the title).
 * Every control character but tab and line feed, and every bidirectional control, is shown as a `\uXXXX`
 * escape instead, which in JSON output is the same escape JSON itself uses, so machine-readable output still
 * parses to the exact text.
 */

/**
 * Control characters but tab and line feed, and the bidirectional controls, which reorder what a terminal
 * shows (a name can display as something it is not: "Trojan Source").
 */
// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text with every control character but tab and line feed, and every bidirectional control, written as a visible `\uXXXX`. */
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
