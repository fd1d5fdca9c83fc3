/**
 * A name cut once, in the middle, to the room its box really has: the box measures itself (a ResizeObserver) and
 * the name is measured in the box's own font with a canvas, so no CSS end-ellipsis ever cuts it a second time.
 * The whole name stays on hover (`title`) and in `data-name`.
 */
import { useLayoutEffect, useRef, useState, type ReactElement } from 'react';
import { fitMiddle, middleEllipsis } from '../graph/short-name';
import './FitName.css';

let context: CanvasRenderingContext2D | null | undefined;

/** A width measure in `font` (a CSS font shorthand); a per-letter average when no canvas can measure (unit tests). */
export function textMeasure(font: string, fontSize: number): (text: string) => number {
  if (context === undefined) context = typeof document === 'undefined' ? null : (document.createElement('canvas').getContext('2d') ?? null);
  const ctx = context;
  if (ctx === null) return (text) => [...text].length * fontSize * 0.6;
  return (text) => {
    ctx.font = font;
    return ctx.measureText(text).width;
  };
}

/** The box's font as a canvas font string and its size in px. */
function fontOf(element: HTMLElement): { font: string; size: number } {
  const style = getComputedStyle(element);
  return { font: `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`, size: Number.parseFloat(style.fontSize) || 14 };
}

interface FitNameProps {
  name: string;
  className?: string;
  /** The name at most `n` letters long; by default `middleEllipsis(name, n)`. */
  cut?: (n: number) => string;
  /** Grows into the room the row leaves (a node title) rather than taking only the name's width (a header). */
  grow?: boolean;
  /** How fast it gives up room beside other names of its row (a flex-shrink weight); 1 by default. */
  shrink?: number;
  /** The hover text, when it is to say more than the whole name. */
  title?: string;
  testId?: string;
}

/** The name, cut in the middle to fit its box; see the module comment. */
export function FitName({ name, className, cut, grow = false, shrink = 1, title, testId }: FitNameProps): ReactElement {
  const ref = useRef<HTMLSpanElement>(null);
  const [fit, setFit] = useState<{ shown: string; basis: number } | null>(null);
  const [resized, setResized] = useState(0);
  // On a new name, a new class (a font can change without the box changing size: the open domain's name turns
  // bold), and a resize of the box.
  useLayoutEffect(() => {
    const element = ref.current;
    if (element === null) return;
    const { font, size } = fontOf(element);
    const measure = textMeasure(font, size);
    const basis = Math.ceil(measure(name)) + 1;
    const room = element.clientWidth;
    const shown = room <= 0 ? name : fitMiddle([...name].length, room, measure, cut ?? ((n: number) => middleEllipsis(name, n)));
    setFit((old) => (old?.shown === shown && old.basis === basis ? old : { shown, basis }));
  }, [name, cut, className, resized]);
  useLayoutEffect(() => {
    const element = ref.current;
    if (element === null || typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(() => setResized((n) => n + 1));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const style = grow ? { flex: '1 1 0', minWidth: 0 } : { flex: `0 ${shrink} ${fit ? `${fit.basis}px` : 'auto'}`, minWidth: 0 };
  return (
    <span ref={ref} className={`fit-name${className ? ` ${className}` : ''}`} style={style} title={title ?? name} data-name={name} data-testid={testId}>
      {fit?.shown ?? name}
    </span>
  );
}
