/**
 * Who holds each GPU: this server's job, another user's (their name and since when,
 * never their job), a process that is no momo job, or nobody.
 */
import * as React from 'react';

import type { IGpu, IJob } from '../api';
import { formatDuration } from '../format';
import { trans } from '../i18n';

/** "GPU 1: held by user2, 2h 04m", "GPU 0: free", "GPU 0: used by a process of user3, 21 GiB". */
export function gpuHolderText(
  gpu: IGpu,
  now: number,
  jobName?: (id: string) => string | undefined
): string {
  const holder = gpu.held_by;
  if (gpu.holder) {
    const name = jobName?.(gpu.holder) ?? gpu.holder;
    return trans.__('GPU %1: your job %2', gpu.index, name);
  }
  if (holder) {
    const user = holder.user ?? trans.__('another user');
    if (holder.since) {
      const held = formatDuration((now - Date.parse(holder.since)) / 1000);
      return trans.__('GPU %1: held by %2, %3', gpu.index, user, held);
    }
    return trans.__('GPU %1: held by %2', gpu.index, user);
  }
  if (gpu.busy) {
    return trans.__('GPU %1: %2', gpu.index, gpu.busy);
  }
  return trans.__('GPU %1: free', gpu.index);
}

export function GpuHolders(props: {
  gpus: ReadonlyArray<IGpu>;
  now: number;
  jobs?: (id: string) => IJob | undefined;
}): JSX.Element | null {
  if (!props.gpus.length) {
    return null;
  }
  const name = (id: string) => props.jobs?.(id)?.name;
  return (
    <ul className="jp-MomoJobs-gpuHolders" aria-label={trans.__('GPUs')}>
      {props.gpus.map(gpu => (
        <li
          key={gpu.index}
          data-gpu={gpu.index}
          data-free={!gpu.holder && !gpu.held_by && !gpu.busy}
          title={gpu.uuid ?? gpu.name}
        >
          {gpuHolderText(gpu, props.now, name)}
        </li>
      ))}
    </ul>
  );
}
