import { renderLine } from '../logdom';
import { TerminalBuffer } from '../terminal';

describe('renderLine', () => {
  it('renders plain text as text and styled runs as classed spans', () => {
    const t = new TerminalBuffer();
    t.write('ok \x1b[1;31mred\x1b[0m \x1b[38;5;196mx\x1b[0m\n');
    const div = renderLine(t.lines[0]);
    expect(div.className).toBe('jp-MomoLog-line');
    expect(div.textContent).toBe('ok red x');
    const spans = div.querySelectorAll('span');
    expect(spans[0].className).toBe('jp-MomoLog-fg1 jp-MomoLog-bold');
    expect(spans[1].style.color).toBe('rgb(255, 0, 0)');
  });

  it('swaps colours when inverse and reuses the node given', () => {
    const t = new TerminalBuffer();
    t.write('\x1b[7;32;44mx');
    const node = document.createElement('div');
    node.textContent = 'old';
    const div = renderLine(t.currentLine, node);
    expect(div).toBe(node);
    expect(div.querySelector('span')!.className).toBe(
      'jp-MomoLog-fg4 jp-MomoLog-bg2 jp-MomoLog-inverse'
    );
  });
});
