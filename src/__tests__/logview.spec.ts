import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { LogFollower } from '../model';
import { TerminalBuffer } from '../terminal';
import { LogView } from '../widgets/LogView';

function frame(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 5));
}

class FakeFollower {
  terminal = new TerminalBuffer({ maxLines: 3 });
  changed = new Signal<this, void>(this);
  skipped = 0;
  error: string | null = null;
  eof = false;
  write(text: string): void {
    this.terminal.write(text);
    this.changed.emit();
  }
}

describe('LogView', () => {
  beforeAll(() => {
    (window as any).requestAnimationFrame = (cb: () => void) =>
      setTimeout(cb, 0);
    (window as any).cancelAnimationFrame = (id: number) => clearTimeout(id);
  });

  it('appends finished lines and redraws the current one', async () => {
    const follower = new FakeFollower();
    const view = new LogView({
      follower: follower as unknown as LogFollower,
      downloadUrl: 'log?format=raw'
    });
    Widget.attach(view, document.body);
    follower.write('one\ntw');
    await frame();
    const lines = () =>
      Array.from(view.node.querySelectorAll('.jp-MomoLog-line')).map(
        n => n.textContent
      );
    expect(lines()).toEqual(['one', 'tw']);
    follower.write('o\r10%');
    await frame();
    expect(lines()).toEqual(['one', '10%']);
    follower.write('\rdone\nthree\nfour\nfive\n');
    await frame();
    // the buffer keeps 3 lines: the view drops the oldest too, and says so
    expect(lines()).toEqual(['three', 'four', 'five', '']);
    const notice = view.node.querySelector('.jp-MomoJobs-logNotice')!;
    expect((notice as HTMLElement).hidden).toBe(false);
    expect(view.node.querySelector('a')!.getAttribute('href')).toBe(
      'log?format=raw'
    );
    expect(view.following).toBe(true);
    follower.eof = true;
    follower.write('');
    await frame();
    expect(view.node.querySelector('.jp-MomoJobs-logStatus')!.textContent).toBe(
      'End of log'
    );
    view.dispose();
  });
});
