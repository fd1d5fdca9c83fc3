/**
 * How one command's output is cut from a session's stdout and stderr, with markers the session writes itself.
 *
 * Each command is written as three lines: `echo S`, the command, `echo O ; cd /E`. virsh's line editor echoes
 * every input line after its prompt, and `echo` in a session prints its text with no newline, so stdout reads
 *
 *     P "echo S" \n  S  P COMMAND \n  OUTPUT  P "echo O ; cd /E" \n  O  P …
 *
 * whatever the prompt P is (`virsh # `, `virsh > ` on a read-only connection, or any other). So:
 * - the command has started once `\nS` is out: virsh flushes its prompt before it reads the next line, so a
 *   command whose `\nS` never came out never ran;
 * - P is learnt from the start marker's own line, per command;
 * - the output is what lies between `\nS` + P + the echoed command line and P + the echoed end-marker line
 *   before `\nO`; exactly one P goes at each end, so output that itself starts or ends with P survives;
 * - stderr ends with the `cd` error line naming /E.
 * Markers carry a random per-session nonce and a sequence number, so no output can end a command early unless it
 * holds that very marker after a newline. The echoed command line never holds a newline (only printable text
 * is written) and is not wrapped (the session sets a very wide COLUMNS).
 */

export interface Marks {
  start: string;
  end: string;
  err: string;
}

const ECHO = 'echo ';

/** The three lines that run one command between its markers. */
export function frameCommand(line: string, marks: Marks): string {
  return `${ECHO}${marks.start}\n${line}\n${ECHO}${marks.end} ; cd /${marks.err}\n`;
}

/** Whether the command has begun: its start marker's output is out, so virsh has read or is reading its line. */
export function hasStarted(stdout: string, marks: Marks): boolean {
  return stdout.includes(`\n${marks.start}`);
}

/** The command's stdout and what follows it, or null until its end marker is out. */
export function cutStdout(stdout: string, marks: Marks): { output: string; rest: string } | null {
  const startAt = stdout.indexOf(`\n${marks.start}`);
  if (startAt === -1) return null;
  const bodyAt = startAt + 1 + marks.start.length;
  const endAt = stdout.indexOf(`\n${marks.end}`, bodyAt);
  if (endAt === -1) return null;
  const firstLine = stdout.slice(0, startAt);
  const echoAt = firstLine.lastIndexOf(`${ECHO}${marks.start}`);
  const prompt = echoAt === -1 ? '' : firstLine.slice(firstLine.lastIndexOf('\n', echoAt) + 1, echoAt);
  let body = stdout.slice(bodyAt, endAt);
  const tail = body.lastIndexOf(`${prompt}${ECHO}${marks.end}`);
  if (tail !== -1) body = body.slice(0, tail);
  if (body.startsWith(prompt)) body = body.slice(prompt.length);
  const eol = body.indexOf('\n');
  return { output: eol === -1 ? '' : body.slice(eol + 1), rest: stdout.slice(endAt + 1 + marks.end.length) };
}

/**
 * The stderr lines before the one holding `needle` (blank ones dropped), and what follows that line; null until
 * that line is out whole.
 */
export function cutAtLine(stderr: string, needle: string): { output: string; rest: string } | null {
  const at = stderr.indexOf(needle);
  if (at === -1) return null;
  const lineEnd = stderr.indexOf('\n', at);
  if (lineEnd === -1) return null;
  const own = stderr.slice(0, stderr.lastIndexOf('\n', at) + 1);
  const output = own
    .split('\n')
    .filter((line) => line.trim() !== '')
    .join('\n');
  return { output, rest: stderr.slice(lineEnd + 1) };
}

/** The command's stderr (blank lines dropped) and what follows it, or null until its `cd` error line is out. */
export function cutStderr(stderr: string, marks: Marks): { output: string; rest: string } | null {
  return cutAtLine(stderr, `/${marks.err}`);
}
