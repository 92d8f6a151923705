import {
  jobTimeLeft,
  parseDuration,
  parseGrid,
  defaultJobName,
  formatBytes,
  formatDuration,
  formatElapsedTick,
  formatValue,
  joinArgs,
  jobDuration,
  positiveOnly,
  smooth,
  splitArgs
} from '../format';
import { makeJob } from './fakeserver';

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(2.5)).toBe('2.5s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(7440)).toBe('2h 04m');
    expect(formatDuration(90000)).toBe('1d 1h');
    expect(formatDuration(-1)).toBe('');
  });

  it('formats elapsed ticks', () => {
    expect(formatElapsedTick(0)).toBe('0');
    expect(formatElapsedTick(2.5)).toBe('2.5s');
    expect(formatElapsedTick(30)).toBe('30s');
    expect(formatElapsedTick(120)).toBe('2m');
    expect(formatElapsedTick(90)).toBe('1m30s');
    expect(formatElapsedTick(3900)).toBe('1h05m');
  });

  it('formats bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(null)).toBe('');
  });

  it('formats values', () => {
    expect(formatValue(3)).toBe('3');
    expect(formatValue(0.123456789)).toBe('0.12346');
    expect(formatValue(1e-7)).toBe('1.0000e-7');
    expect(formatValue('adam')).toBe('adam');
    expect(formatValue({ a: 1 })).toBe('{"a":1}');
    expect(formatValue(null)).toBe('null');
  });

  it('computes job durations', () => {
    const job = makeJob({
      started_at: '2026-01-01T00:00:00Z',
      finished_at: '2026-01-01T00:01:30Z'
    });
    expect(jobDuration(job)).toBe(90);
    const running = makeJob({ started_at: '2026-01-01T00:00:00Z' });
    expect(jobDuration(running, Date.parse('2026-01-01T00:00:10Z'))).toBe(10);
    expect(jobDuration(makeJob({ started_at: null }))).toBeNull();
  });
});

describe('smooth', () => {
  it('is the identity at weight 0', () => {
    expect(smooth([1, null, 3], 0)).toEqual([1, null, 3]);
  });

  it('is a debiased EMA that keeps gaps', () => {
    const out = smooth([1, null, 3], 0.5);
    expect(out[0]).toBeCloseTo(1);
    expect(out[1]).toBeNull();
    // (0.5*0.5 + 0.5*3) / (1 - 0.25)
    expect(out[2]).toBeCloseTo((0.25 + 1.5) / 0.75);
  });

  it('positiveOnly', () => {
    expect(positiveOnly([1, 0, -1, null, 2])).toEqual([1, null, null, null, 2]);
  });
});

describe('splitArgs', () => {
  it('splits like a shell', () => {
    expect(splitArgs('')).toEqual([]);
    expect(splitArgs('  --epochs 12  -v ')).toEqual(['--epochs', '12', '-v']);
    expect(splitArgs(`--name "my run" --x 'a b' c\\ d ""`)).toEqual([
      '--name',
      'my run',
      '--x',
      'a b',
      'c d',
      ''
    ]);
    expect(splitArgs('"say \\"hi\\""')).toEqual(['say "hi"']);
  });

  it('joins back what it splits', () => {
    const args = ['--name', 'my run', '', 'say "hi"', 'a\\b', '$HOME', 'plain'];
    expect(joinArgs(args)).toBe(
      '--name "my run" "" "say \\"hi\\"" "a\\\\b" "\\$HOME" plain'
    );
    expect(splitArgs(joinArgs(args))).toEqual(args);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitArgs('"oops')).toThrow(/Unterminated/);
  });
});

describe('defaultJobName', () => {
  it('counts the names taken from the script stem', () => {
    expect(defaultJobName('dir/train.py', [])).toBe('train-1');
    expect(
      defaultJobName('dir/train.ipynb', ['train-1', 'train-2', 'other-1'])
    ).toBe('train-3');
    expect(defaultJobName('my nb.ipynb', [])).toBe('my-nb-1');
  });
});

describe('policies in the Create Job dialog', () => {
  it('reads a time limit as a duration', () => {
    expect(parseDuration('2h30m')).toBe(9000);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration(' 45 ')).toBe(45);
    expect(parseDuration('1d 2h')).toBe(93600);
    expect(parseDuration('')).toBeNull();
    expect(() => parseDuration('2x')).toThrow(/not a duration/);
  });

  it('reads a grid, one parameter a line', () => {
    expect(parseGrid('lr=0.1, 0.01\nbatch_size=64,128\n')).toEqual({
      lr: ['0.1', '0.01'],
      batch_size: ['64', '128']
    });
    expect(() => parseGrid('lr')).toThrow(/NAME=V1,V2/);
    expect(() => parseGrid('lr=')).toThrow(/NAME=V1,V2/);
  });

  it('counts down to a running job deadline', () => {
    const job = makeJob({ deadline: '2026-01-01T00:01:00Z' });
    expect(jobTimeLeft(job, Date.parse('2026-01-01T00:00:30Z'))).toBe(30);
    expect(jobTimeLeft(job, Date.parse('2026-01-01T00:02:00Z'))).toBe(0);
    expect(jobTimeLeft(makeJob({ deadline: null }))).toBeNull();
  });
});
