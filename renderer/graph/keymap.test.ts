import { describe, expect, test } from 'vitest';
import { canvasAction, type CanvasKeyState } from './keymap';

const idle: CanvasKeyState = { menuOpen: false, picking: false, canCompare: false, comparing: false, selected: false, hasMenu: true };
const act = (key: string, state: Partial<CanvasKeyState> = {}, mods: { shiftKey?: boolean; ctrlKey?: boolean } = {}) => canvasAction({ key, ...mods }, { ...idle, ...state })?.type ?? null;

describe('the canvases’ keymap', () => {
  test('Esc steps back one thing at a time: menu, pick, comparison, selection', () => {
    const all = { menuOpen: true, picking: true, comparing: true, selected: true };
    expect(act('Escape', all)).toBe('close-menu');
    expect(act('Escape', { ...all, menuOpen: false })).toBe('cancel-pick');
    expect(act('Escape', { ...all, menuOpen: false, picking: false })).toBe('close-comparison');
    expect(act('Escape', { selected: true })).toBe('clear-selection');
    expect(act('Escape')).toBeNull();
  });

  test('arrows move, Home goes to the root, End to the tip', () => {
    expect(canvasAction({ key: 'ArrowLeft' }, idle)).toEqual({ type: 'move', direction: 'left' });
    expect(canvasAction({ key: 'ArrowDown' }, idle)).toEqual({ type: 'move', direction: 'down' });
    expect(act('Home')).toBe('home');
    expect(act('End')).toBe('end');
  });

  test('Enter compares while picking (when the selection can be compared), else opens the selected node’s menu', () => {
    expect(act('Enter', { picking: true, canCompare: true, selected: true })).toBe('compare');
    expect(act('Enter', { picking: true, canCompare: false, selected: true })).toBeNull();
    expect(act('Enter', { selected: true })).toBe('open-menu');
    expect(act('Enter')).toBeNull();
    expect(act('Enter', { selected: true, hasMenu: false })).toBeNull();
    expect(act('m', { selected: true })).toBe('open-menu');
    expect(act('ContextMenu', { selected: true })).toBe('open-menu');
    expect(act('F10', { selected: true }, { shiftKey: true })).toBe('open-menu');
    expect(act('F10', { selected: true })).toBeNull();
  });

  test('letters: V switches the view, F and 0 fit it; other keys and Ctrl shortcuts but Ctrl+F are left alone', () => {
    expect(act('v')).toBe('switch-view');
    expect(act('V', {}, { shiftKey: true })).toBe('switch-view');
    expect(act('f')).toBe('fit');
    expect(act('0')).toBe('fit');
    expect(act('x')).toBeNull();
    expect(act('x', { selected: true })).toBe('node-action');
    expect(act('s', {}, { ctrlKey: true })).toBeNull();
    expect(act('Tab')).toBeNull();
  });
});

describe('moving along a branch, searching and the menu’s letters', () => {
  test('PageUp and PageDown move a page, Ctrl+F, Cmd+F and / go to the search box', () => {
    expect(canvasAction({ key: 'PageDown' }, idle)).toEqual({ type: 'page', step: 1 });
    expect(canvasAction({ key: 'PageUp' }, idle)).toEqual({ type: 'page', step: -1 });
    expect(act('f', { hasMenu: false }, { ctrlKey: true })).toBeNull();
    expect(canvasAction({ key: 'f', ctrlKey: true }, idle)).toEqual({ type: 'search' });
    expect(canvasAction({ key: 'F', metaKey: true }, idle)).toEqual({ type: 'search' });
    expect(act('/')).toBe('search');
    expect(act('/', { hasMenu: false })).toBeNull();
  });

  test('a menu letter opens its action on the selected node, only with nothing open and a node selected', () => {
    expect(canvasAction({ key: 'd' }, { ...idle, selected: true })).toEqual({ type: 'node-action', key: 'd' });
    expect(canvasAction({ key: 'R', shiftKey: true }, { ...idle, selected: true })).toEqual({ type: 'node-action', key: 'r' });
    expect(act('d')).toBeNull();
    expect(act('d', { selected: true, menuOpen: true })).toBeNull();
    expect(act('d', { selected: true, hasMenu: false })).toBeNull();
    expect(act('d', { selected: true }, { ctrlKey: true })).toBeNull();
    // The canvas's own letters keep their meaning.
    expect(act('f', { selected: true })).toBe('fit');
    expect(act('v', { selected: true })).toBe('switch-view');
    expect(act('m', { selected: true })).toBe('open-menu');
  });
});
