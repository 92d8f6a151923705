/**
 * Icons of momo-jobs, drawn with the theme's icon colour classes.
 */
import { LabIcon } from '@jupyterlab/ui-components';

import type { JobStatus } from './api';

function svg(body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">${body}</svg>`;
}

const FILL = 'class="jp-icon3" fill="#616161"';

export const jobsIcon = new LabIcon({
  name: 'momo-jobs:jobs',
  svgstr: svg(
    `<path ${FILL} d="M4 4h16v4H4zm0 6h16v4H4zm0 6h10v4H4zm12 0h4v4h-4z"/>`
  )
});

export const exportIcon = new LabIcon({
  name: 'momo-jobs:export',
  svgstr: svg(
    `<path ${FILL} d="M6 2h8l6 6v6h-2V9h-5V4H6v16h7v2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm11 14 5 4-5 4v-3h-4v-2h4z"/>`
  )
});

export const createJobIcon = new LabIcon({
  name: 'momo-jobs:create-job',
  svgstr: svg(
    `<path ${FILL} d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-2 5 7 5-7 5z"/>`
  )
});

export const queuedIcon = new LabIcon({
  name: 'momo-jobs:queued',
  svgstr: svg(
    `<path class="jp-MomoJobs-icon-queued" fill="#f57c00" d="M6 2h12v6l-4 4 4 4v6H6v-6l4-4-4-4zm2 2v3.2l4 4 4-4V4zm4 8.8-4 4V20h8v-3.2z"/>`
  )
});

export const runningIcon = new LabIcon({
  name: 'momo-jobs:running',
  svgstr: svg(
    `<path class="jp-MomoJobs-icon-running" fill="#1976d2" d="M12 2a10 10 0 1 0 10 10h-2.5A7.5 7.5 0 1 1 12 4.5z"/><path class="jp-MomoJobs-icon-running" fill="#1976d2" d="M10 8l6 4-6 4z"/>`
  )
});

export const completedIcon = new LabIcon({
  name: 'momo-jobs:completed',
  svgstr: svg(
    `<path class="jp-MomoJobs-icon-completed" fill="#388e3c" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm-1.5 14.5-4.5-4.5 1.4-1.4 3.1 3.1 6.1-6.1L18 9z"/>`
  )
});

export const failedIcon = new LabIcon({
  name: 'momo-jobs:failed',
  svgstr: svg(
    `<path class="jp-MomoJobs-icon-failed" fill="#d32f2f" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm4.2 12.8-1.4 1.4L12 13.4l-2.8 2.8-1.4-1.4 2.8-2.8-2.8-2.8 1.4-1.4 2.8 2.8 2.8-2.8 1.4 1.4-2.8 2.8z"/>`
  )
});

export const stoppedIcon = new LabIcon({
  name: 'momo-jobs:stopped',
  svgstr: svg(
    `<path class="jp-icon3" fill="#616161" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zM8 8h8v8H8z"/>`
  )
});

export const mnistIcon = new LabIcon({
  name: 'momo-jobs:mnist',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="52" height="52" viewBox="0 0 52 52"><rect class="jp-icon3" fill="#616161" x="4" y="4" width="44" height="44" rx="6"/><text x="26" y="36" font-size="26" font-family="monospace" text-anchor="middle" class="jp-icon-selectable-inverse" fill="#fff">7</text></svg>`
});

/** The icon of each status. */
const STATUS_ICONS: Record<JobStatus, LabIcon> = {
  queued: queuedIcon,
  running: runningIcon,
  stopping: runningIcon,
  completed: completedIcon,
  failed: failedIcon,
  stopped: stoppedIcon
};

/**
 * The icon of a status.
 */
export function statusIcon(status: JobStatus): LabIcon {
  return STATUS_ICONS[status] ?? stoppedIcon;
}
