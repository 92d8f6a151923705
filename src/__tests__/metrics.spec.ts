import { plottable } from '../components/MetricsPanel';

describe('plottable', () => {
  it('drops series of non-numeric metrics and keeps NaN-only ones', () => {
    const series = [
      { name: 'optimizer', x: [0], y: [null], count: 1 },
      { name: 'nan_loss', x: [0, 1], y: [null, null], count: 2 },
      { name: 'loss', x: [0], y: [1], count: 1 }
    ];
    const other = [{ name: 'optimizer', time: 0, value: 'adadelta' }];
    expect(plottable(series, other).map(s => s.name)).toEqual([
      'nan_loss',
      'loss'
    ]);
  });
});
