/**
 * Operations in the app: the node menu, the plan preview, the run with its progress, and what the graph marks
 * afterwards. Every engine call goes through here.
 */
import type { StateCreator } from 'zustand';
import type { SnaptreeApi } from '../../shared/contract';
import { toErrorData, type ErrorData } from '../../shared/errors';
import type { Domain } from '../../shared/model';
import type { ChoiceId, NodeAction } from '../../shared/ops/node-actions';
import type { Plan, PlanResult } from '../../shared/ops/plan';
import { operationWords } from '../../shared/ops/plan-summary';
import { TRASH_DIR } from '../../shared/ops/trash-names';
import type { ProgressEvent } from '../../shared/ops/results';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { nameSchema } from '../../shared/validate';
import type { Mark } from '../graph/highlights';
import { eventsSilent, nodeExists } from './live-slice';
import type { AppState } from './store';

export interface Preview {
  action: NodeAction;
  name: string;
  /** The action's choices the user ticked (ActionChoice). */
  chosen: ChoiceId[];
  /** Why the typed name is not acceptable, as the engine's rules say. */
  nameError: string | null;
  result: PlanResult | null;
  loading: boolean;
  /** Shown above the plan, e.g. when the world changed and the plan was made again. */
  notice: string | null;
  /** The Clone or Export dialog this preview came from, with what was typed in it: the preview's Back reopens it. */
  back?: CopyDialogState;
}

export interface Outcome {
  ok: boolean;
  title: string;
  error: ErrorData | null;
  /** A domain the operation made (a clone), offered to open from the outcome. */
  made?: string;
}

/** Which operations ask their details in a dialog of their own before the preview: clone and export (CloneDialog, ExportDialog). */
export type CopyKind = 'clone' | 'export';

/** What was typed in the Clone dialog: kept while its preview is open, so that Back brings it back. */
export interface CloneDraft {
  name: string;
  mode: 'linked' | 'full';
  dir: string;
  start: boolean;
}

/** What was typed in the Export dialog, kept the same way. */
export interface ExportDraft {
  to: string;
  format: 'qcow2' | 'raw';
  compress: boolean;
}

/** An open Clone or Export dialog: the node menu's action, and what was typed before a Back from the preview. */
export type CopyDialogState = { kind: 'clone'; action: NodeAction; draft?: CloneDraft } | { kind: 'export'; action: NodeAction; draft?: ExportDraft };

/** The operation an action plans, when it is a clone or an export: their dialogs take it over. */
export function copyKindOf(action: NodeAction): CopyKind | null {
  const op = action.intent(action.asks?.suggestion ?? '').op;
  return op === 'clone' || op === 'export' ? op : null;
}

export interface OpsSlice {
  menu: { nodeId: string; x: number; y: number } | null;
  preview: Preview | null;
  running: { operationId: string; sentence: string; progress: ProgressEvent | null } | null;
  /** Nodes an operation just changed, marked for a moment. */
  flash: Record<string, Mark>;
  outcome: Outcome | null;
  /** The Take snapshot dialog is open (name, description, memory): the toolbar's button or the node menu's item opened it. */
  takingSnapshot: boolean;
  openTakeSnapshot(): void;
  closeTakeSnapshot(): void;
  /** The node menu's clone or export action whose dialog is open (the new name, linked or full, the folder). */
  copying: CopyDialogState | null;
  closeCopyDialog(): void;
  /**
   * Previews the action as it is, no dialog first: what a dialog calls with what was typed in it, passing itself
   * (`back`, its draft filled in) so that the preview can go back to it.
   */
  previewAction(action: NodeAction, back?: CopyDialogState): void;
  /** Closes the preview and reopens the dialog it came from with what was typed (Preview.back); nothing else when none. */
  backToDialog(): void;
  openMenu(nodeId: string, x: number, y: number): void;
  closeMenu(): void;
  startAction(action: NodeAction): void;
  setPreviewName(name: string): void;
  /** Ticks or unticks one of the action's choices; the plan is made again. */
  setPreviewChoice(id: ChoiceId, on: boolean): void;
  planPreview(): Promise<void>;
  closePreview(): void;
  confirm(): Promise<void>;
  /** Moves the running operation on to `event`, when it is that operation's progress (pushed or polled). */
  showProgress(event: ProgressEvent): void;
  cancelRunning(): Promise<void>;
  dismissOutcome(): void;
}

/** What operations drop when another domain is opened: its menu and its preview (a running one goes on). */
export const OPS_DOMAIN_RESET = { menu: null, preview: null, takingSnapshot: false, copying: null } as const satisfies Partial<OpsSlice>;

const POLL_MS = 250;
/** How long after the last key a typed name is planned. */
const REPLAN_MS = 250;
const RESTARTED = 'The engine was restarted since this plan was made, so nothing ran. Here is the plan made again: review it and confirm again.';

/** Whether `apply` refused the plan, running nothing, as one the engine does not hold (engine.ts): one made before a restart. */
const unknownPlan = (error: ErrorData, planId: string): boolean => error.code === 'E_NOT_FOUND' && error.details?.unknownPlan === true && error.details.operationId === planId;
const FLASH_MS = 2500;

function checkName(name: string): string | null {
  const parsed = nameSchema.safeParse(name);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? 'Not a valid name.');
}

/** Puts a rescanned domain in place in its source's scan, keeping everything else as it is. */
function withDomain(state: AppState, domain: Domain): Partial<AppState> {
  const id = state.sourceId;
  const scan = id === null ? undefined : state.scans[id];
  if (id === null || scan?.result === undefined) return {};
  const domains = scan.result.domains.map((d) => (d.name === domain.name ? domain : d));
  return { scans: { ...state.scans, [id]: { ...scan, result: { ...scan.result, domains } } } };
}

/**
 * The node to select after an operation: the one it lands on (You are here after it), else the selected node while
 * it is still there, else You are here; the selection as it is when the domain was not handed back.
 */
export function landingNode(plan: Plan, domain: Domain | null, selected: string | null): string | null {
  if (domain === null) return selected;
  const ids = snapshotGraph(domain);
  const has = (id: string | null): id is string => id !== null && ids.some((n) => n.id === id);
  // A new description moves nothing: the snapshot whose details were edited stays selected.
  if (plan.intent.op === 'edit-description' && has(selected)) return selected;
  if (has(plan.impact.currentAfter)) return plan.impact.currentAfter;
  if (selected !== null && nodeExists(domain, selected)) return selected;
  return ids.find((n) => n.kind === 'branch' && n.current)?.id ?? null;
}

/** What a finished operation says: a clone names the domain it made, to open from there. */
function doneOutcome(plan: Plan): Outcome {
  if (plan.intent.op === 'clone') return { ok: true, title: `Clone ${plan.intent.name} made.`, error: null, made: plan.intent.name };
  return { ok: true, title: `${operationWords(plan.intent)}: done.`, error: null };
}

export const createOpsSlice =
  (api: SnaptreeApi): StateCreator<AppState, [], [], OpsSlice> =>
  (set, get) => {
    // The name typed last is planned once typing pauses; an answer about anything but what the dialog holds now
    // (an earlier name, other choices, a dialog since closed and opened again) is dropped.
    let replan: ReturnType<typeof setTimeout> | undefined;
    let asked = 0;
    const planSoon = (): void => {
      clearTimeout(replan);
      replan = setTimeout(() => void get().planPreview(), REPLAN_MS);
    };
    return {
      menu: null,
      preview: null,
      running: null,
      flash: {},
      outcome: null,
      takingSnapshot: false,
      openTakeSnapshot() {
        if (get().running === null) set({ menu: null, takingSnapshot: true });
      },
      closeTakeSnapshot() {
        set({ takingSnapshot: false });
      },
      copying: null,
      closeCopyDialog() {
        set({ copying: null });
      },
      openMenu(nodeId, x, y) {
        // While the engine does not answer the graph is read-only (live-slice.ts): no menu to act from.
        if (get().live.engine !== 'ok') return set({ nodeId });
        set({ menu: { nodeId, x, y }, nodeId });
      },
      closeMenu() {
        set({ menu: null });
      },
      startAction(action) {
        // One operation at a time from the app: another is planned once the running one has ended; none while the
        // engine does not answer.
        if (get().running !== null || get().live.engine !== 'ok') return set({ menu: null });
        // A snapshot is named and described in its own dialog first, which starts the action again with what was typed.
        if (action.id === 'create-snapshot' && action.asks !== null) return get().openTakeSnapshot();
        // A clone or an export is set up in its own dialog, which previews it with what was chosen.
        const kind = copyKindOf(action);
        if (kind !== null) return set({ menu: null, outcome: null, takingSnapshot: false, copying: { kind, action } });
        get().previewAction(action);
      },
      previewAction(action, back) {
        if (get().running !== null || get().live.engine !== 'ok') return;
        const name = action.asks?.suggestion ?? '';
        const nameError = action.asks ? checkName(name) : null;
        clearTimeout(replan);
        const preview: Preview = { action, name, chosen: [], nameError, result: null, loading: nameError === null, notice: null, ...(back !== undefined ? { back } : {}) };
        set({ menu: null, outcome: null, takingSnapshot: false, copying: null, preview });
        void get().planPreview();
      },
      backToDialog() {
        const back = get().preview?.back;
        if (back === undefined || get().running !== null) return;
        clearTimeout(replan);
        set({ preview: null, copying: back });
      },
      setPreviewName(name) {
        const preview = get().preview;
        if (preview === null || name === preview.name) return;
        const nameError = checkName(name);
        set({ preview: { ...preview, name, nameError, result: null, loading: nameError === null } });
        if (nameError === null) planSoon();
        else clearTimeout(replan);
      },
      setPreviewChoice(id, on) {
        const preview = get().preview;
        if (preview === null || preview.action.choices.find((c) => c.id === id)?.disabled !== null) return;
        const group = preview.action.choices.find((c) => c.id === id)?.group;
        // A choice of a group unticks the others of its group.
        const others = group === undefined ? preview.chosen : preview.chosen.filter((c) => preview.action.choices.find((x) => x.id === c)?.group !== group);
        const chosen = on ? [...new Set([...others, id])] : preview.chosen.filter((c) => c !== id);
        clearTimeout(replan);
        set({ preview: { ...preview, chosen, result: null } });
        void get().planPreview();
      },
      async planPreview() {
        const preview = get().preview;
        const sourceId = get().sourceId;
        if (preview === null || sourceId === null) return;
        if (preview.nameError !== null) return set({ preview: { ...preview, loading: false } });
        const ask = ++asked;
        set({ preview: { ...preview, loading: true } });
        // Only the answer to the latest question, about what the dialog still holds, is shown.
        const current = (): Preview | null => {
          const now = get().preview;
          return ask === asked && now !== null && now.action === preview.action && now.name === preview.name && now.chosen === preview.chosen ? now : null;
        };
        try {
          const result = await api.call('plan', { sourceId, intent: preview.action.intent(preview.name, preview.chosen) as never });
          const now = current();
          if (now !== null) set({ preview: { ...now, result, loading: false } });
        } catch (error) {
          const now = current();
          if (now !== null) set({ preview: { ...now, loading: false, result: { ok: false, refusal: toErrorData(error) } } });
        }
      },
      closePreview() {
        clearTimeout(replan);
        set({ preview: null });
      },
      async confirm() {
        const preview = get().preview;
        if (preview?.result?.ok !== true || get().live.engine !== 'ok') return;
        const plan: Plan = preview.result.plan;
        set({ running: { operationId: plan.id, sentence: plan.steps[0]?.sentence ?? '', progress: null } });
        // Progress comes as events (live-slice.ts); polling stands in only while they stay away.
        const poll = setInterval(() => {
          if (!eventsSilent(get().live, Date.now())) return;
          void api.call('operations', {}).then((events) => {
            const event = events.find((e) => e.operationId === plan.id);
            if (event !== undefined) get().showProgress(event);
          });
        }, POLL_MS);
        try {
          const result = await api.call('apply', { planId: plan.id });
          if (result.status === 'changed') {
            set({ preview: { ...preview, result: { ok: true, plan: result.plan }, notice: 'The domain changed since this plan was made. Here is the plan as it is now: review it and confirm again.' } });
            return;
          }
          const marks: Record<string, Mark> = {};
          for (const id of plan.impact.changedNodes) marks[id] = 'flash';
          const landing = landingNode(plan, result.domain, get().nodeId);
          set((state) => ({
            ...(result.domain !== null ? withDomain(state, result.domain) : {}),
            // The keyboard and the details go where the user landed (a new branch), or stay on the selected node; one
            // the operation removed (a deleted snapshot) gives way to You are here.
            ...(landing !== state.nodeId ? { nodeId: landing, menu: null } : {}),
            preview: null,
            flash: marks,
            // What was compared has changed under the comparison: it would show the world before the operation.
            comparison: null,
            outcome: doneOutcome(plan),
          }));
          setTimeout(() => set({ flash: {} }), FLASH_MS);
          // A clone is a new domain of the source: the list is read again so that the sidebar shows it.
          if (result.domain === null || plan.intent.op === 'clone') {
            const id = get().sourceId;
            if (id !== null) await get().scanSource(id);
          }
          // A repaired file is checked again at once, so its badge goes when the repair worked; the copy a repair
          // keeps, and whatever an operation trashed, appears in the file view.
          if (plan.intent.op === 'repair') void get().checkHealth(plan.intent.path);
          if (plan.impact.trashed.length > 0 || plan.impact.created.some((p) => p.includes(`/${TRASH_DIR}/`))) void get().loadTrash();
        } catch (error) {
          const data = toErrorData(error);
          if (unknownPlan(data, plan.id)) {
            // The engine that answers is not the one that made the plan (it was restarted): nothing ran. The plan
            // is made again on it, to review and confirm, as when the world changed.
            set({ preview: { ...preview, result: null, notice: RESTARTED } });
            void get().planPreview();
            return;
          }
          const how = data.code === 'E_CANCELLED' ? 'cancelled' : 'failed';
          set({ preview: null, outcome: { ok: false, title: `${operationWords(plan.intent)}: ${how}.`, error: data } });
          const id = get().sourceId;
          if (id !== null) await get().scanSource(id);
        } finally {
          clearInterval(poll);
          set({ running: null });
        }
      },
      showProgress(event) {
        const running = get().running;
        if (running?.operationId === event.operationId) set({ running: { ...running, sentence: event.sentence, progress: event } });
      },
      async cancelRunning() {
        const running = get().running;
        if (running !== null) await api.call('cancel', { operationId: running.operationId });
      },
      dismissOutcome() {
        set({ outcome: null });
      },
    };
  };
