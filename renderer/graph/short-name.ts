/**
 * Names shortened where they do not differ: a long name keeps its start and its end (snapshot names differ at
 * the end as often as at the start: "php83-installed" and "php83-installed-tested"), and file names drop the
 * start every file of the domain shares ("web01.installed.qcow2" reads "…installed.qcow2"). The whole name is
 * always kept for hover and for the details panel; these only change what a node has room to show.
 */

/** The mark put where letters were left out. */
export const ELLIPSIS = '…';

/** A file name's extension kept whole when its stem is cut. */
const IMAGE_EXTENSION = /\.(qcow2|qcow|img|raw|vmdk|vdi|vhdx|qed)$/i;

/** Characters that end a word in a name: a cut is moved to one of them when one is near. */
export const SEPARATORS = new Set(['.', '-', '_', ' ', '@', ':', '+']);

/**
 * `name` in at most `max` characters: unchanged when it fits, else its start and end with "…" between them. The
 * end gets a little more room than the start when a separator lets it begin on a word ("php83-…-tested").
 */
export function middleEllipsis(name: string, max: number): string {
  const chars = [...name];
  if (chars.length <= max) return name;
  if (max <= 1) return ELLIPSIS;
  // An image's extension is the same on every file: it is kept whole and the stem is cut, so that the end where
  // names differ stays ("fork-…-tip-01.qcow2", not "fork-…-01.qcow2" or "fork-br….qcow2").
  const extension = IMAGE_EXTENSION.exec(name)?.[0];
  if (extension !== undefined && max - extension.length >= 5) return `${middleEllipsis(name.slice(0, -extension.length), max - extension.length)}${extension}`;
  const room = max - 1;
  let tail = Math.floor(room / 2);
  // Start the end on a word when it does not already and a separator is a few characters before the plain cut,
  // leaving the start at least four characters.
  const onWord = SEPARATORS.has(chars[chars.length - tail] ?? '');
  for (let extra = 1; !onWord && extra <= 6 && room - tail - extra >= 4; extra++) {
    if (SEPARATORS.has(chars[chars.length - tail - extra] ?? '')) {
      tail += extra;
      break;
    }
  }
  const head = room - tail;
  return `${chars.slice(0, head).join('')}${ELLIPSIS}${chars.slice(chars.length - tail).join('')}`;
}

/**
 * The start every name shares, up to and including a separator ("web01." for "web01.base.qcow2" and
 * "web01.snap1"), or "" when they share none, there are fewer than two names, or a name would be left empty.
 */
export function sharedPrefix(names: readonly string[]): string {
  if (names.length < 2) return '';
  let common = names[0] ?? '';
  for (const name of names) {
    let i = 0;
    while (i < common.length && i < name.length && common[i] === name[i]) i++;
    common = common.slice(0, i);
  }
  let end = common.length;
  while (end > 0 && !SEPARATORS.has(common[end - 1] ?? '')) end--;
  const prefix = common.slice(0, end);
  return names.some((n) => n.length <= prefix.length) ? '' : prefix;
}

/**
 * A file name in at most `max` characters: whole when it fits; else without the `prefix` its domain's files share
 * ("…installed.qcow2"), then cut in the middle.
 */
export function shortFileName(name: string, prefix: string, max: number): string {
  if ([...name].length <= max) return name;
  const shown = prefix !== '' && name.startsWith(prefix) && name.length > prefix.length ? `${ELLIPSIS}${name.slice(prefix.length)}` : name;
  return middleEllipsis(shown, max);
}

/**
 * The longest of `cut(n)` (n letters, at most `length`) whose `measure` is at most `width`: a name cut once, in
 * the middle, to the room it really has. `cut(length)` is the whole name; `cut(1)` is "…" alone when nothing fits.
 */
export function fitMiddle(length: number, width: number, measure: (text: string) => number, cut: (max: number) => string): string {
  const whole = cut(length);
  if (measure(whole) <= width) return whole;
  let fits = 1;
  let over = length;
  while (over - fits > 1) {
    const mid = Math.floor((fits + over) / 2);
    if (measure(cut(mid)) <= width) fits = mid;
    else over = mid;
  }
  return cut(fits);
}
