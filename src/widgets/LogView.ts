/**
 * The live log of a job: appends finished lines, redraws the line being
 * written (progress bars), and follows the end until the user scrolls up.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { trans } from '../i18n';
import { renderLine } from '../logdom';
import { LogFollower } from '../model';

/** Distance from the bottom (px) under which the view still follows. */
const FOLLOW_SLACK = 8;

export class LogView extends Widget {
  constructor(options: LogView.IOptions) {
    super();
    this.addClass('jp-MomoJobs-log');
    this._follower = options.follower;

    const bar = document.createElement('div');
    bar.className = 'jp-MomoJobs-logBar';
    this._status = document.createElement('span');
    this._status.className = 'jp-MomoJobs-logStatus';
    this._status.setAttribute('role', 'status');
    this._jump = document.createElement('button');
    this._jump.className = 'jp-mod-styled jp-mod-accept jp-MomoJobs-jump';
    this._jump.textContent = trans.__('Follow ↓');
    this._jump.title = trans.__('Scroll to the end and follow new output');
    this._jump.hidden = true;
    this._jump.onclick = () => this.follow();
    const download = document.createElement('a');
    download.className = 'jp-MomoJobs-link';
    download.textContent = trans.__('Download log');
    download.href = options.downloadUrl;
    download.setAttribute('download', '');
    download.target = '_blank';
    download.rel = 'noopener';
    bar.append(this._status, this._jump, download);

    this._scroller = document.createElement('div');
    this._scroller.className = 'jp-MomoJobs-logScroll';
    this._scroller.tabIndex = 0;
    this._scroller.setAttribute('role', 'log');
    this._scroller.setAttribute('aria-label', trans.__('Job log'));
    this._scroller.setAttribute('aria-live', 'off');
    this._notice = document.createElement('div');
    this._notice.className = 'jp-MomoJobs-logNotice';
    this._notice.hidden = true;
    this._lines = document.createElement('div');
    this._lines.className = 'jp-MomoJobs-logLines';
    this._current = document.createElement('div');
    this._scroller.append(this._notice, this._lines, this._current);
    this._scroller.addEventListener('scroll', this._onScroll);
    this.node.append(bar, this._scroller);

    this._follower.changed.connect(this._schedule, this);
    this._schedule();
  }

  /** Whether the view sticks to the end of the log. */
  get following(): boolean {
    return this._following;
  }

  /** Scroll to the end and keep following. */
  follow(): void {
    this._following = true;
    this._jump.hidden = true;
    this._scroller.scrollTop = this._scroller.scrollHeight;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    if (this._frame !== null) {
      cancelAnimationFrame(this._frame);
    }
    this._scroller.removeEventListener('scroll', this._onScroll);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._following) {
      this._scroller.scrollTop = this._scroller.scrollHeight;
    }
  }

  private _schedule(): void {
    if (this._frame === null && !this.isDisposed) {
      this._frame = requestAnimationFrame(() => {
        this._frame = null;
        this._render();
      });
    }
  }

  private _render(): void {
    const terminal = this._follower.terminal;
    const lines = terminal.lines;
    const dropped = terminal.dropped;
    // lines dropped by the buffer since the last render leave the DOM too
    let excess = dropped - this._first;
    while (excess > 0 && this._lines.firstChild) {
      this._lines.removeChild(this._lines.firstChild);
      excess--;
    }
    this._first = dropped;
    const start = Math.max(this._upTo, dropped);
    if (start < terminal.finished) {
      const fragment = document.createDocumentFragment();
      for (let i = start; i < terminal.finished; i++) {
        fragment.appendChild(renderLine(lines[i - dropped]));
      }
      this._lines.appendChild(fragment);
      this._upTo = terminal.finished;
    }
    renderLine(terminal.currentLine, this._current);
    this._current.classList.add('jp-MomoJobs-logCurrent');

    const skipped = this._follower.skipped;
    const hidden = dropped > 0 || skipped > 0;
    this._notice.hidden = !hidden;
    if (hidden) {
      this._notice.textContent = trans.__(
        'Earlier output is not shown here; download the log to read all of it.'
      );
    }
    const error = this._follower.error;
    this._status.textContent = error
      ? trans.__('Log unavailable: %1 (retrying)', error)
      : this._follower.eof
        ? trans.__('End of log')
        : trans.__('Live');
    this._status.classList.toggle('jp-mod-error', !!error);
    if (this._following) {
      this._scroller.scrollTop = this._scroller.scrollHeight;
    }
  }

  private _onScroll = (): void => {
    const s = this._scroller;
    const atEnd = s.scrollHeight - s.scrollTop - s.clientHeight < FOLLOW_SLACK;
    this._following = atEnd;
    this._jump.hidden = atEnd;
  };

  private _follower: LogFollower;
  private _scroller: HTMLDivElement;
  private _lines: HTMLDivElement;
  private _current: HTMLDivElement;
  private _notice: HTMLDivElement;
  private _status: HTMLSpanElement;
  private _jump: HTMLButtonElement;
  private _following = true;
  private _first = 0;
  private _upTo = 0;
  private _frame: number | null = null;
}

export namespace LogView {
  export interface IOptions {
    follower: LogFollower;
    downloadUrl: string;
  }
}
