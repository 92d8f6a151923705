/**
 * Errors for people, in the UI's language: the server's English `message`
 * stays the detail, the sentence around it is translated from the error's
 * stable `code` (DESIGN §3; the codes are those of momo_jobs/server/errors.py,
 * which tests/test_i18n.py checks against this table).
 */
import { ApiError } from './api';
import { trans } from './i18n';

/** A translated sentence for each code the API answers (and the client's own). */
export function codeText(code: string): string | null {
  switch (code) {
    case 'bad_request':
      return trans.__('The server refused the request');
    case 'invalid_json':
      return trans.__('The request was not understood');
    case 'invalid_field':
      return trans.__('A value of the request is not valid');
    case 'unknown_status':
      return trans.__('Unknown job status');
    case 'gpu_count_invalid':
      return trans.__('A GPU job needs at least 1 GPU');
    case 'no_gpus':
      return trans.__('This server has no GPU: choose a CPU machine');
    case 'gpu_count_exceeds':
      return trans.__('The job asks for more GPUs than this server has');
    case 'not_a_script':
      return trans.__('Only a .py script or a notebook can run as a job');
    case 'not_a_notebook':
      return trans.__('This is not a notebook (.ipynb)');
    case 'notebook_malformed':
      return trans.__('The notebook cannot be read');
    case 'notebook_not_python':
      return trans.__('The notebook is not in Python');
    case 'prepare_failed':
      return trans.__('The script could not be prepared');
    case 'kernel_not_found':
      return trans.__('No such kernel');
    case 'kernel_not_python':
      return trans.__('The kernel is not a Python kernel');
    case 'backend_unavailable':
      return trans.__('This server does not run that backend');
    case 'example_unknown':
      return trans.__('Unknown example');
    case 'path_invalid':
      return trans.__('The path is not valid');
    case 'time_limit_invalid':
      return trans.__('The time limit is not valid');
    case 'time_limit_signal_invalid':
      return trans.__(
        'The warning before the time limit is not valid (e.g. USR1@60, with a time limit)'
      );
    case 'retries_invalid':
      return trans.__('Retries must be a whole number from 0 to 10');
    case 'grid_invalid':
      return trans.__(
        "The sweep's grid is not valid: NAME=V1,V2, each value once"
      );
    case 'grid_too_large':
      return trans.__("The sweep's grid makes too many jobs");
    case 'max_parallel_invalid':
      return trans.__('"At most at once" must be a whole number of at least 1');
    case 'compare_ids_missing':
      return trans.__('Choose at least one run to compare');
    case 'compare_too_many':
      return trans.__('Too many runs to compare at once');
    case 'path_outside_root':
      return trans.__("The path leads outside the server's root folder");
    case 'forbidden':
      return trans.__('Not allowed');
    case 'not_found':
      return trans.__('Not found');
    case 'file_not_found':
      return trans.__('No such file');
    case 'job_not_found':
      return trans.__('No such job');
    case 'sweep_not_found':
      return trans.__('No such sweep');
    case 'conflict':
      return trans.__('Not possible in the current state');
    case 'job_not_stoppable':
      return trans.__('Only a queued or running job can be stopped');
    case 'job_not_deletable':
      return trans.__('Stop the job before deleting it');
    case 'snapshot_missing':
      return trans.__('The job has no snapshot left to rerun');
    case 'file_exists':
      return trans.__('The file exists');
    case 'body_too_large':
      return trans.__('The request is too large');
    case 'internal_error':
      return trans.__('The server failed');
    case 'unavailable':
      return trans.__('The server cannot do it now');
    case 'stop_failed':
      return trans.__('The job could not be stopped; try again');
    case 'example_data_unavailable':
      return trans.__("The example's data cannot be had");
    case 'extension_missing':
      return trans.__(
        'The momo-jobs server extension is not running on this server'
      );
    case 'unreachable':
      return trans.__('The server cannot be reached');
    case 'not_json':
      return trans.__('The server answered something that is not JSON');
    default:
      return null;
  }
}

/**
 * What went wrong, in the UI's language, with the server's own words as the
 * detail (English) when they add something.
 */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const headline = error instanceof ApiError ? codeText(error.code) : null;
  if (!headline) {
    return message;
  }
  return message ? trans.__('%1 (%2)', headline, message) : headline;
}
