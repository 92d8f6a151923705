import type { IGpu } from '../api';
import { gpuHolderText } from '../components/GpuHolders';

const gpu = (over: Partial<IGpu>): IGpu => ({
  index: '1',
  name: 'GPU 1',
  memory: null,
  holder: null,
  ...over
});

describe('gpuHolderText', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');

  it('names another user and how long they have held it, never their job', () => {
    const text = gpuHolderText(
      gpu({
        held_by: { user: 'user2', since: '2026-12-01T10:00:00Z', job: null }
      }),
      now
    );
    expect(text).toBe('GPU 1: held by user2, 2h 00m');
  });

  it("names this server's own job by its name", () => {
    const text = gpuHolderText(
      gpu({
        holder: 'abc',
        held_by: { user: 'me', since: '2026-12-01T11:59:00Z', job: 'abc' }
      }),
      now,
      id => (id === 'abc' ? 'train-3' : undefined)
    );
    expect(text).toBe('GPU 1: your job train-3');
  });

  it('says why a GPU no job holds is busy, or that it is free', () => {
    expect(
      gpuHolderText(
        gpu({ busy: 'used by a process of user3, 21 GiB', held_by: null }),
        now
      )
    ).toBe('GPU 1: used by a process of user3, 21 GiB');
    expect(gpuHolderText(gpu({}), now)).toBe('GPU 1: free');
    expect(
      gpuHolderText(
        gpu({ held_by: { user: null, since: null, job: null } }),
        now
      )
    ).toBe('GPU 1: held by another user');
  });
});
