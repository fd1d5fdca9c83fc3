/**
 * Input rules shared by every interface (docs/safety.md, rule 6). Two rules for names: a name the user creates (a new
 * snapshot, a new branch, a rename's target) keeps the strict rule: no `/`, no leading `-`, no spaces at either end. A
 * name of something that exists (a domain, snapshot or branch an operation acts on, a compared node) is taken as
 * libvirt holds it, verbatim: libvirt tells ` a` and `a` apart, and allows `-a`. Neither may hold a control character:
 * a control character could act as a key in a tool's line editor (Ctrl-U erases the line typed so far), so the API and
 * the CLI refuse them all, C0, DEL and C1 (an object whose name holds one is shown, but cannot be named to act on).
 * Connection URIs name a libvirt driver; free text may span lines but holds no other control character.
 */
import { z } from 'zod';

// eslint-disable-next-line no-control-regex -- the point is to reject control characters
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Controls other than tab and line feed: a carriage return too, which XML would turn into a line feed. */
// eslint-disable-next-line no-control-regex -- the point is to reject control characters
const TEXT_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
/** Half a surrogate pair: no UTF-8 form, so what reached a tool would not be what was typed. */
const LONE_SURROGATE = /\p{Cs}/u;
/** U+FFFE and U+FFFF: no XML characters, so libvirt refuses a record that holds one (a name or description in it). */
const NOT_XML = /[\uFFFE\uFFFF]/;
const NOT_XML_MESSAGE = 'A text cannot contain U+FFFE or U+FFFF, which XML (and so libvirt) does not allow.';

/** Whether text holds a C0 or C1 control character or DEL. */
export const hasControlCharacter = (text: string): boolean => CONTROL.test(text);

/**
 * The name of a domain, snapshot or branch that exists, exactly as libvirt or the app's records hold it: spaces
 * at either end and a leading `-` are part of it (virsh reads an option's value verbatim, whatever it starts
 * with). Only what cannot reach a tool as typed is refused: control characters, half surrogate pairs, the empty
 * name. On the command line a name starting with `-` goes after `--`, which ends the options.
 */
export const existingNameSchema = z
  .string()
  .min(1, 'A name cannot be empty.')
  .max(1000, 'A name is at most 1000 characters.')
  .refine((s) => !CONTROL.test(s), 'A name cannot contain control characters.')
  .refine((s) => !LONE_SURROGATE.test(s), 'A name cannot contain half a Unicode surrogate pair.');

/**
 * An existing name given as a command-line option's value (`--domain NAME`): as existingNameSchema, but not
 * starting with `-`, which there is far likelier a forgotten value followed by the next option than a name.
 * A name starting with `-` is given as an argument after `--` instead, where commander has stopped reading options.
 */
export const existingNameOptionSchema = existingNameSchema.refine(
  (s) => !s.startsWith('-'),
  'A name given to an option cannot start with "-"; give it as an argument after "--".',
);

/** A new snapshot or branch name as a user may type it: what existingNameSchema takes, and tidier. */
export const newNameSchema = existingNameSchema
  .refine((s) => s.length <= 200, 'A name is at most 200 characters.')
  .refine((s) => !s.includes('/'), 'A name cannot contain "/".')
  .refine((s) => !s.startsWith('-'), 'A name cannot start with "-".')
  .refine((s) => s.trim() === s, 'A name cannot start or end with spaces.')
  .refine((s) => !NOT_XML.test(s), NOT_XML_MESSAGE);

/** A name the user creates: the strict rule (see newNameSchema). */
export const nameSchema = newNameSchema;

/**
 * Free text such as a snapshot's description: any printable text, with line breaks (`\n`) and tabs. A carriage
 * return is refused rather than changed, so what is stored is exactly what was given.
 */
export const freeTextSchema = z
  .string()
  .max(4000, 'A text is at most 4000 characters.')
  .refine((s) => !s.includes('\r'), 'A text breaks lines with "\\n" only, not carriage returns.')
  .refine((s) => !TEXT_CONTROL.test(s), 'A text cannot contain control characters other than line breaks and tabs.')
  .refine((s) => !LONE_SURROGATE.test(s), 'A text cannot contain half a Unicode surrogate pair.')
  .refine((s) => !NOT_XML.test(s), NOT_XML_MESSAGE);

/** A libvirt connection URI such as `qemu:///system` or `qemu+ssh://user@host/system`. */
export const uriSchema = z
  .string()
  .max(500)
  .regex(/^[a-z][a-z0-9+.-]*:\/\/[^\s]*$/i, 'A connection URI looks like qemu:///system.')
  .refine((s) => !CONTROL.test(s) && !LONE_SURROGATE.test(s), 'A connection URI cannot contain control characters.')
  .refine((s) => !s.startsWith('-'), 'A connection URI cannot start with "-".');

/** An operation's id, as its journal and trash folder name it. */
export const operationIdSchema = z.string().regex(/^[0-9a-f-]{36}$/, 'An operation id is a UUID.');

/** An absolute path on the engine's machine. */
export const absolutePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => s.startsWith('/'), 'The path must be absolute.')
  .refine((s) => !CONTROL.test(s), 'A path cannot contain control characters.')
  .refine((s) => !LONE_SURROGATE.test(s), 'A path cannot contain half a Unicode surrogate pair.');
