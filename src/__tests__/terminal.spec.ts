import { applySgr, PLAIN, TerminalBuffer, xterm256 } from '../terminal';

function screen(...chunks: (string | Uint8Array)[]): string {
  const t = new TerminalBuffer();
  for (const chunk of chunks) {
    if (typeof chunk === 'string') {
      t.write(chunk);
    } else {
      t.writeBytes(chunk);
    }
  }
  return t.toPlainText();
}

describe('TerminalBuffer', () => {
  it('splits lines on \\n and keeps the unfinished line', () => {
    const t = new TerminalBuffer();
    t.write('one\ntwo\nthr');
    expect(t.lines.length).toBe(2);
    expect(t.toPlainText()).toBe('one\ntwo\nthr');
    t.write('ee\n');
    expect(t.toPlainText()).toBe('one\ntwo\nthree\n');
  });

  it('rewrites the line after \\r as a progress bar does', () => {
    expect(screen('10%\r20%\r100%\n')).toBe('100%\n');
    // tqdm: a shorter text leaves the rest of the longer one, as a terminal
    expect(screen('loss: 0.5000\rloss: 0.4\n')).toBe('loss: 0.4000\n');
  });

  it('does not pile up Keras progress bars written with \\b and \\r', () => {
    const bar = (n: number) => `${n}/3 [${'='.repeat(n)}${'.'.repeat(3 - n)}]`;
    let text = bar(1);
    for (const n of [2, 3]) {
      text += '\b'.repeat(bar(n - 1).length) + '\r' + bar(n);
    }
    text += ' - loss: 0.72{"metric": "loss", "value": 0.72}\n';
    const t = new TerminalBuffer();
    t.write(text);
    expect(t.lines.length).toBe(1);
    expect(t.toPlainText()).toBe(
      '3/3 [===] - loss: 0.72{"metric": "loss", "value": 0.72}\n'
    );
  });

  it('moves back one column per \\b without erasing', () => {
    expect(screen('abc\b\bX')).toBe('aXc');
    expect(screen('\b\bab')).toBe('ab');
  });

  it('handles \\r\\n split across chunks', () => {
    expect(screen('abc\r', '\ndef\r', '\n')).toBe('abc\ndef\n');
  });

  it('expands tabs to multiples of 8', () => {
    expect(screen('a\tb')).toBe('a       b');
  });

  it('keeps a multi-byte character split across byte chunks', () => {
    const bytes = new TextEncoder().encode('é😀 done\n');
    // split inside é (2 bytes) and inside the emoji (4 bytes)
    const chunks = [
      bytes.slice(0, 1),
      bytes.slice(1, 3),
      bytes.slice(3, 5),
      bytes.slice(5)
    ];
    expect(screen(...chunks)).toBe('é😀 done\n');
  });

  it('keeps a surrogate pair split across text chunks', () => {
    const emoji = '😀';
    expect(screen('a' + emoji[0], emoji[1] + 'b')).toBe('a😀b');
  });

  it('counts a surrogate pair as one column', () => {
    expect(screen('😀x\b-')).toBe('😀-');
  });

  it('applies ANSI colours and resets', () => {
    const t = new TerminalBuffer();
    t.write('\x1b[31mred\x1b[0m plain \x1b[1;92mbold green\x1b[39;22m\n');
    const [line] = t.lines;
    expect(line.map(s => s.text)).toEqual(['red', ' plain ', 'bold green']);
    expect(line[0].style.fg).toBe(1);
    expect(line[1].style).toBe(PLAIN);
    expect(line[2].style.fg).toBe(10);
    expect(line[2].style.bold).toBe(true);
  });

  it('keeps an escape sequence split across chunks', () => {
    const t = new TerminalBuffer();
    t.write('a\x1b');
    t.write('[3');
    t.write('4mb\x1b[');
    t.write('0mc\n');
    const [line] = t.lines;
    expect(line.map(s => s.text)).toEqual(['a', 'b', 'c']);
    expect(line[1].style.fg).toBe(4);
    expect(t.toPlainText()).toBe('abc\n');
  });

  it('drops OSC titles and unknown sequences', () => {
    expect(screen('\x1b]0;title\x07x\x1b[?25ly\x1b(Bz')).toBe('xyz');
    expect(screen('\x1b]0;ti', 'tle\x1b\\ok')).toBe('ok');
  });

  it('erases in line with CSI K', () => {
    expect(screen('hello\r\x1b[Kbye')).toBe('bye');
    expect(screen('hello\x1b[3D\x1b[K!')).toBe('he!');
    expect(screen('hello\x1b[2K\rX')).toBe('X');
    expect(screen('hello\x1b[2G\x1b[1K')).toBe('  llo');
  });

  it('moves the cursor with CSI G, C and D', () => {
    expect(screen('abcdef\x1b[3GX')).toBe('abXdef');
    expect(screen('ab\x1b[2CX')).toBe('ab  X');
    expect(screen('abc\x1b[DX')).toBe('abX');
  });

  it('supports 256-colour and 24-bit colours', () => {
    const t = new TerminalBuffer();
    t.write('\x1b[38;5;196mA\x1b[48;2;1;2;3mB\x1b[38;5;3mC\n');
    const [line] = t.lines;
    expect(line[0].style.fg).toBe(xterm256(196));
    expect(line[1].style.bg).toBe('rgb(1,2,3)');
    expect(line[2].style.fg).toBe(3);
  });

  it('keeps at most maxLines finished lines and counts the dropped', () => {
    const t = new TerminalBuffer({ maxLines: 3 });
    for (let i = 0; i < 10; i++) {
      t.write(`line ${i}\n`);
    }
    expect(t.lines.length).toBe(3);
    expect(t.dropped).toBe(7);
    expect(t.finished).toBe(10);
    expect(t.toPlainText()).toBe('line 7\nline 8\nline 9\n');
  });

  it('ignores other control characters', () => {
    expect(screen('a\x07b\x00c')).toBe('abc');
  });

  it('forgets everything on clear', () => {
    const t = new TerminalBuffer();
    t.write('x\n\x1b[31my');
    t.clear();
    t.write('z');
    expect(t.toPlainText()).toBe('z');
    expect(t.currentLine[0].style).toBe(PLAIN);
  });
});

describe('applySgr', () => {
  it('returns the same object when nothing changes', () => {
    expect(applySgr(PLAIN, [0])).toBe(PLAIN);
    expect(applySgr(PLAIN, [])).toBe(PLAIN);
    const red = applySgr(PLAIN, [31]);
    expect(applySgr(red, [31])).toBe(red);
    expect(applySgr(red, [39])).toBe(PLAIN);
  });

  it('sets and clears attributes', () => {
    const s = applySgr(PLAIN, [1, 3, 4, 7, 41]);
    expect(s).toMatchObject({
      bold: true,
      italic: true,
      underline: true,
      inverse: true,
      bg: 1
    });
    expect(applySgr(s, [22, 23, 24, 27, 49])).toBe(PLAIN);
  });

  it('maps xterm colours', () => {
    expect(xterm256(16)).toBe('rgb(0,0,0)');
    expect(xterm256(231)).toBe('rgb(255,255,255)');
    expect(xterm256(232)).toBe('rgb(8,8,8)');
  });
});
