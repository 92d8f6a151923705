/**
 * Turn terminal lines into DOM nodes: themed classes for the 16 ANSI colours
 * (style/base.css maps them to JupyterLab's CSS variables), inline colours for
 * 256-colour and 24-bit ones.
 */
import type { Colour, IStyle, Line } from './terminal';

const PREFIX = 'jp-MomoLog';

function applyColour(
  node: HTMLElement,
  colour: Colour,
  layer: 'fg' | 'bg'
): void {
  if (colour === null) {
    return;
  }
  if (typeof colour === 'number') {
    node.classList.add(`${PREFIX}-${layer}${colour}`);
  } else if (layer === 'fg') {
    node.style.color = colour;
  } else {
    node.style.backgroundColor = colour;
  }
}

function styled(text: string, style: IStyle): Node {
  const node = document.createElement('span');
  node.textContent = text;
  const fg = style.inverse ? style.bg : style.fg;
  const bg = style.inverse ? style.fg : style.bg;
  applyColour(node, fg, 'fg');
  applyColour(node, bg, 'bg');
  if (style.inverse) {
    node.classList.add(`${PREFIX}-inverse`);
  }
  if (style.bold) {
    node.classList.add(`${PREFIX}-bold`);
  }
  if (style.dim) {
    node.classList.add(`${PREFIX}-dim`);
  }
  if (style.italic) {
    node.classList.add(`${PREFIX}-italic`);
  }
  if (style.underline) {
    node.classList.add(`${PREFIX}-underline`);
  }
  return node;
}

/**
 * Render one line as a `div` (plain runs become text nodes).
 */
export function renderLine(line: Line, node?: HTMLElement): HTMLElement {
  const div = node ?? document.createElement('div');
  div.className = `${PREFIX}-line`;
  div.textContent = '';
  for (const span of line) {
    const s = span.style;
    const plain =
      s.fg === null &&
      s.bg === null &&
      !s.bold &&
      !s.dim &&
      !s.italic &&
      !s.underline &&
      !s.inverse;
    div.appendChild(
      plain ? document.createTextNode(span.text) : styled(span.text, s)
    );
  }
  return div;
}
