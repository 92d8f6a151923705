import { plottable } from '../components/MetricsPanel';
import { gpuUnavailableReason } from '../components/CreateJobForm';

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

describe('gpuUnavailableReason', () => {
  const resources = (n: number) => ({
    backend: 'local',
    gpus: Array.from({ length: n }, (_, i) => ({
      index: String(i),
      name: 'fake',
      memory: null,
      holder: null
    })),
    cpu_slots: { total: 2, used: 0 },
    queues: { cpu: 0, gpu: 0 }
  });

  it('says why a GPU job cannot be asked for', () => {
    expect(gpuUnavailableReason(resources(0))).toMatch(/no GPU/);
    expect(gpuUnavailableReason(null)).toMatch(/Checking/);
    expect(gpuUnavailableReason(new Error('down'))).toMatch(/down/);
    expect(gpuUnavailableReason(resources(2))).toBeNull();
  });
});
