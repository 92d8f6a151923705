/**
 * A small terminal emulator for job logs: pure (no DOM), fed chunk by chunk.
 *
 * It interprets what a progress bar needs so that Keras' and tqdm's bars
 * rewrite their line instead of piling up:
 * - `\r` moves the cursor to the start of the line, `\b` one column left,
 *   text written after them overwrites the line in place;
 * - `\n` ends the line; `\t` moves to the next multiple of 8;
 * - ANSI SGR colours and attributes (16, 256 and 24-bit colours);
 * - CSI `K` (erase in line), `G` (column), `C`/`D` (forward/back);
 *   other escape sequences (OSC titles, cursor up, ...) are dropped.
 *
 * Chunks may split anything: an escape sequence, a `\r\n` pair, or (when fed
 * bytes with `writeBytes`) a multi-byte UTF-8 character.
 */

/**
 * A colour: 0-15 for the themed ANSI palette, or a CSS colour string.
 */
export type Colour = number | string | null;

/**
 * The attributes of a run of text. Style objects are immutable and shared.
 */
export interface IStyle {
  readonly fg: Colour;
  readonly bg: Colour;
  readonly bold: boolean;
  readonly dim: boolean;
  readonly italic: boolean;
  readonly underline: boolean;
  readonly inverse: boolean;
}

/**
 * A run of text in one style.
 */
export interface ISpan {
  readonly text: string;
  readonly style: IStyle;
}

/**
 * One line of output: its spans, in order.
 */
export type Line = ReadonlyArray<ISpan>;

/**
 * The plain style.
 */
export const PLAIN: IStyle = Object.freeze({
  fg: null,
  bg: null,
  bold: false,
  dim: false,
  italic: false,
  underline: false,
  inverse: false
});

const ESC = '\x1b';
/** The longest escape sequence kept while waiting for its end. */
const MAX_PENDING = 4096;

/**
 * The CSS colour of an xterm 256-colour index from 16 to 255.
 */
export function xterm256(index: number): string {
  if (index >= 232) {
    const level = 8 + (index - 232) * 10;
    return `rgb(${level},${level},${level})`;
  }
  const cube = index - 16;
  const steps = [0, 95, 135, 175, 215, 255];
  const r = steps[Math.floor(cube / 36) % 6];
  const g = steps[Math.floor(cube / 6) % 6];
  const b = steps[cube % 6];
  return `rgb(${r},${g},${b})`;
}

/**
 * Read an extended colour (`38;5;n` or `38;2;r;g;b`) from SGR parameters.
 * Returns the colour and how many parameters it used after the 38/48.
 */
function extendedColour(params: number[], at: number): [Colour, number] {
  const mode = params[at];
  if (mode === 5 && at + 1 < params.length) {
    const n = params[at + 1];
    if (n >= 0 && n < 16) {
      return [n, 2];
    }
    return [n >= 16 && n < 256 ? xterm256(n) : null, 2];
  }
  if (mode === 2 && at + 3 < params.length) {
    const [r, g, b] = params.slice(at + 1, at + 4).map(v => clamp(v, 0, 255));
    return [`rgb(${r},${g},${b})`, 4];
  }
  return [null, params.length - at];
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/**
 * Apply SGR parameters to a style, returning the new style.
 */
export function applySgr(style: IStyle, params: number[]): IStyle {
  const next: { -readonly [K in keyof IStyle]: IStyle[K] } = { ...style };
  if (params.length === 0) {
    params = [0];
  }
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) {
      Object.assign(next, PLAIN);
    } else if (p === 1) {
      next.bold = true;
    } else if (p === 2) {
      next.dim = true;
    } else if (p === 3) {
      next.italic = true;
    } else if (p === 4) {
      next.underline = true;
    } else if (p === 7) {
      next.inverse = true;
    } else if (p === 22) {
      next.bold = false;
      next.dim = false;
    } else if (p === 23) {
      next.italic = false;
    } else if (p === 24) {
      next.underline = false;
    } else if (p === 27) {
      next.inverse = false;
    } else if (p >= 30 && p <= 37) {
      next.fg = p - 30;
    } else if (p === 39) {
      next.fg = null;
    } else if (p >= 40 && p <= 47) {
      next.bg = p - 40;
    } else if (p === 49) {
      next.bg = null;
    } else if (p >= 90 && p <= 97) {
      next.fg = p - 90 + 8;
    } else if (p >= 100 && p <= 107) {
      next.bg = p - 100 + 8;
    } else if (p === 38 || p === 48) {
      const [colour, used] = extendedColour(params, i + 1);
      if (p === 38) {
        next.fg = colour;
      } else {
        next.bg = colour;
      }
      i += used;
    }
  }
  return sameStyle(next, style) ? style : sameStyle(next, PLAIN) ? PLAIN : next;
}

function sameStyle(a: IStyle, b: IStyle): boolean {
  return (
    a.fg === b.fg &&
    a.bg === b.bg &&
    a.bold === b.bold &&
    a.dim === b.dim &&
    a.italic === b.italic &&
    a.underline === b.underline &&
    a.inverse === b.inverse
  );
}

/**
 * Group cells into spans of equal style.
 */
function toSpans(chars: string[], styles: IStyle[]): ISpan[] {
  const spans: ISpan[] = [];
  let start = 0;
  for (let i = 1; i <= chars.length; i++) {
    if (i === chars.length || styles[i] !== styles[start]) {
      spans.push({
        text: chars.slice(start, i).join(''),
        style: styles[start]
      });
      start = i;
    }
  }
  return spans;
}

/**
 * Options of a terminal buffer.
 */
export interface ITerminalOptions {
  /** How many finished lines to keep; older ones are dropped (default 10000). */
  maxLines?: number;
}

/**
 * The screen of a job's log: finished lines plus the line being written.
 */
export class TerminalBuffer {
  constructor(options: ITerminalOptions = {}) {
    this._maxLines = Math.max(1, options.maxLines ?? 10000);
  }

  /**
   * Finished lines still kept (the oldest may have been dropped).
   */
  get lines(): ReadonlyArray<Line> {
    return this._lines;
  }

  /**
   * How many finished lines were dropped from the front to respect maxLines.
   */
  get dropped(): number {
    return this._dropped;
  }

  /**
   * How many lines were finished in all (kept and dropped).
   */
  get finished(): number {
    return this._dropped + this._lines.length;
  }

  /**
   * The line under the cursor, not yet ended by a newline.
   */
  get currentLine(): Line {
    return toSpans(this._chars, this._styles);
  }

  /**
   * The cursor's column in the current line.
   */
  get column(): number {
    return this._col;
  }

  /**
   * Feed raw bytes; a UTF-8 character split across calls is kept whole.
   */
  writeBytes(bytes: Uint8Array): void {
    this.write(this._decoder.decode(bytes, { stream: true }));
  }

  /**
   * Feed decoded text.
   */
  write(text: string): void {
    const data = this._pending + text;
    this._pending = '';
    let i = 0;
    const n = data.length;
    while (i < n) {
      const ch = data[i];
      if (ch === ESC) {
        const end = this._escape(data, i);
        if (end < 0) {
          const rest = data.slice(i);
          this._pending = rest.length <= MAX_PENDING ? rest : '';
          return;
        }
        i = end;
        continue;
      }
      if (ch === '\n') {
        this._newline();
      } else if (ch === '\r') {
        this._col = 0;
      } else if (ch === '\b') {
        this._col = Math.max(0, this._col - 1);
      } else if (ch === '\t') {
        const stop = (Math.floor(this._col / 8) + 1) * 8;
        while (this._col < stop) {
          this._put(' ');
        }
      } else if (ch < ' ' || ch === '\x7f') {
        // other control characters (bell, ...) have no visible effect
      } else {
        const code = data.charCodeAt(i);
        if (code >= 0xd800 && code <= 0xdbff) {
          if (i + 1 >= n) {
            // the other half of a surrogate pair comes with the next chunk
            this._pending = ch;
            return;
          }
          this._put(data.slice(i, i + 2));
          i += 2;
          continue;
        }
        this._put(ch);
      }
      i++;
    }
  }

  /**
   * The whole kept screen as plain text (finished lines, then the current one).
   */
  toPlainText(): string {
    const text = (line: Line) => line.map(s => s.text).join('');
    const all = this._lines.map(text);
    all.push(this._chars.join(''));
    return all.join('\n');
  }

  /**
   * Forget everything.
   */
  clear(): void {
    this._lines = [];
    this._dropped = 0;
    this._chars = [];
    this._styles = [];
    this._col = 0;
    this._pending = '';
    this._style = PLAIN;
    this._decoder = new TextDecoder('utf-8');
  }

  private _put(ch: string): void {
    const col = this._col;
    while (this._chars.length < col) {
      this._chars.push(' ');
      this._styles.push(PLAIN);
    }
    this._chars[col] = ch;
    this._styles[col] = this._style;
    this._col = col + 1;
  }

  private _newline(): void {
    this._lines.push(toSpans(this._chars, this._styles));
    this._chars = [];
    this._styles = [];
    this._col = 0;
    const excess = this._lines.length - this._maxLines;
    if (excess > 0) {
      this._lines.splice(0, excess);
      this._dropped += excess;
    }
  }

  /**
   * Handle the escape sequence starting at `start`; return the index after
   * it, or -1 when the data ends before the sequence does.
   */
  private _escape(data: string, start: number): number {
    const n = data.length;
    if (start + 1 >= n) {
      return -1;
    }
    const kind = data[start + 1];
    if (kind === '[') {
      let j = start + 2;
      while (j < n) {
        const c = data.charCodeAt(j);
        if (c >= 0x40 && c <= 0x7e) {
          this._csi(data.slice(start + 2, j), data[j]);
          return j + 1;
        }
        j++;
      }
      return -1;
    }
    if (kind === ']') {
      for (let j = start + 2; j < n; j++) {
        if (data[j] === '\x07') {
          return j + 1;
        }
        if (data[j] === ESC) {
          return j + 1 < n ? j + 2 : -1;
        }
      }
      return -1;
    }
    if (kind === '(' || kind === ')') {
      return start + 2 < n ? start + 3 : -1;
    }
    return start + 2;
  }

  private _csi(body: string, final: string): void {
    if (body.startsWith('?') || body.startsWith('>')) {
      return;
    }
    const params =
      body === '' ? [] : body.split(';').map(p => parseInt(p, 10) || 0);
    const first = params.length > 0 ? params[0] : 0;
    switch (final) {
      case 'm':
        this._style = applySgr(this._style, params);
        break;
      case 'K':
        this._eraseInLine(first);
        break;
      case 'G':
        this._col = Math.max(0, (first || 1) - 1);
        break;
      case 'C':
        this._col += first || 1;
        break;
      case 'D':
        this._col = Math.max(0, this._col - (first || 1));
        break;
      default:
        break;
    }
  }

  private _eraseInLine(mode: number): void {
    const col = this._col;
    if (mode === 0) {
      this._chars.length = Math.min(this._chars.length, col);
      this._styles.length = this._chars.length;
    } else if (mode === 1) {
      for (let k = 0; k <= col && k < this._chars.length; k++) {
        this._chars[k] = ' ';
        this._styles[k] = PLAIN;
      }
    } else if (mode === 2) {
      this._chars = [];
      this._styles = [];
    }
  }

  private _maxLines: number;
  private _lines: Line[] = [];
  private _dropped = 0;
  private _chars: string[] = [];
  private _styles: IStyle[] = [];
  private _col = 0;
  private _style: IStyle = PLAIN;
  private _pending = '';
  private _decoder = new TextDecoder('utf-8');
}
