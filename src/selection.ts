/**
 * A multi-selection of jobs, shared by the Jobs sidebar and the Runs view:
 * a click selects one job, ctrl/cmd-click adds or removes one, shift-click
 * selects the range from the anchor in the order the clicked list shows.
 */
import { ISignal, Signal } from '@lumino/signaling';

export type ClickMode = 'only' | 'toggle' | 'range';

/** How a mouse or key event selects: ctrl/cmd toggles, shift extends. */
export function clickMode(event: {
  ctrlKey?: boolean;
  metaKey?: boolean;
  shiftKey?: boolean;
}): ClickMode {
  if (event.shiftKey) {
    return 'range';
  }
  return event.ctrlKey || event.metaKey ? 'toggle' : 'only';
}

export class JobSelection {
  /** Emitted when the selected jobs or the current one change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The selected ids, in the order they were selected. */
  get ids(): ReadonlyArray<string> {
    return this._ids;
  }

  /** The job clicked last (the one the sidebar highlights and scrolls to). */
  get current(): string | null {
    return this._current;
  }

  get size(): number {
    return this._ids.length;
  }

  has(id: string): boolean {
    return this._set.has(id);
  }

  /** Select exactly these ids; `current` defaults to the last of them. */
  set(ids: ReadonlyArray<string>, current?: string | null): void {
    const unique = Array.from(new Set(ids));
    const next =
      current === undefined ? (unique[unique.length - 1] ?? null) : current;
    if (
      next === this._current &&
      unique.length === this._ids.length &&
      unique.every((id, i) => id === this._ids[i])
    ) {
      return;
    }
    this._ids = unique;
    this._set = new Set(unique);
    this._current = next;
    this._anchor = next;
    this._changed.emit();
  }

  /**
   * A click on `id` in a list showing `order`.
   */
  click(id: string, mode: ClickMode, order: ReadonlyArray<string>): void {
    if (mode === 'only') {
      this.set([id]);
      return;
    }
    if (mode === 'toggle') {
      const ids = this.has(id)
        ? this._ids.filter(other => other !== id)
        : [...this._ids, id];
      const anchor = this.has(id) ? this._anchor : id;
      this.set(ids, this.has(id) ? (ids[ids.length - 1] ?? null) : id);
      this._anchor = anchor;
      return;
    }
    const from = this._anchor === null ? -1 : order.indexOf(this._anchor);
    const to = order.indexOf(id);
    if (from < 0 || to < 0) {
      this.set([id]);
      return;
    }
    const [lo, hi] = from <= to ? [from, to] : [to, from];
    const anchor = this._anchor;
    this.set(order.slice(lo, hi + 1), id);
    this._anchor = anchor;
  }

  /** Forget a job (deleted). */
  remove(id: string): void {
    if (this.has(id)) {
      const ids = this._ids.filter(other => other !== id);
      this.set(
        ids,
        this._current === id ? (ids[ids.length - 1] ?? null) : this._current
      );
    }
  }

  private _ids: string[] = [];
  private _set = new Set<string>();
  private _current: string | null = null;
  private _anchor: string | null = null;
  private _changed = new Signal<this, void>(this);
}
