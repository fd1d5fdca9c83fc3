/** Picking the other side of a comparison happens on the canvas: while it waits, the canvas takes the keyboard. */
import { useEffect, type RefObject } from 'react';
import { useAppStore } from '../store/context';
import { selectComparePick } from '../store/selectors';

/** Focuses the canvas when a pick starts; returns the node the pick started from, or null. */
export function usePickFocus(wrapper: RefObject<HTMLDivElement | null>): string | null {
  const comparePick = useAppStore(selectComparePick);
  useEffect(() => {
    if (comparePick !== null) wrapper.current?.focus();
  }, [comparePick, wrapper]);
  return comparePick;
}
