/**
 * The runs table: one row per job (status, name, duration, params, each
 * metric's last and best value, telemetry peaks), sortable, filterable, its
 * columns chosen; virtualised: only the rows in view are in the DOM, so ten
 * thousand runs scroll as smoothly as ten.
 */
import * as React from 'react';

import { IRun } from '../api';
import { trans } from '../i18n';
import { formatCell, IColumn } from '../runtable';
import { RunsModel, RunsRow } from '../runsmodel';
import { clickMode } from '../selection';
import { statusIcon } from '../icons';
import { IJobActions, statusName } from './common';

export const ROW_HEIGHT = 26;
const HEADER_HEIGHT = 30;
const MARK_WIDTH = 28;
/** Rows rendered beyond each edge of the view, so a fast scroll shows no blank. */
const OVERSCAN = 8;

/**
 * The rows to render for a scroll position: `[start, end)`.
 */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  count: number,
  rowHeight = ROW_HEIGHT,
  overscan = OVERSCAN
): [number, number] {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const shown = Math.ceil(viewportHeight / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + shown + overscan);
  return [start, Math.max(start, end)];
}

function gridTemplate(columns: ReadonlyArray<IColumn>): string {
  return [`${MARK_WIDTH}px`, ...columns.map(c => `${c.width}px`)].join(' ');
}

function RunStatus(props: { run: IRun }): JSX.Element {
  const Icon = statusIcon(props.run.status);
  return (
    <span
      className={`jp-MomoJobs-status jp-MomoJobs-status-${props.run.status}`}
    >
      <Icon.react tag="span" elementSize="normal" aria-hidden="true" />
      <span className="jp-MomoJobs-statusText">
        {statusName(props.run.status)}
      </span>
    </span>
  );
}

interface IRunRowProps {
  run: IRun;
  index: number;
  columns: ReadonlyArray<IColumn>;
  template: string;
  selected: boolean;
  grouped: boolean;
  model: RunsModel;
  actions: IJobActions;
}

/**
 * A cell's classes: numbers to the right; the name stays in view (pinned
 * beside the checkboxes) while the table scrolls sideways through its columns.
 */
function cellClass(column: IColumn): string {
  return `jp-MomoRuns-cell${column.numeric ? ' jp-mod-numeric' : ''}${column.kind === 'name' ? ' jp-mod-pinned' : ''}`;
}

const RunRow = React.memo(function RunRow(props: IRunRowProps): JSX.Element {
  const { run, model } = props;
  return (
    <div
      role="row"
      aria-rowindex={props.index + 2}
      aria-selected={props.selected}
      className={`jp-MomoRuns-row${props.selected ? ' jp-mod-selected' : ''}${props.grouped ? ' jp-MomoRuns-grouped' : ''}`}
      data-job-id={run.id}
      data-status={run.status}
      style={{
        gridTemplateColumns: props.template,
        transform: `translateY(${props.index * ROW_HEIGHT}px)`
      }}
      onMouseDown={e => {
        if (e.shiftKey) {
          e.preventDefault(); // no text selection on shift-click
        }
      }}
      onClick={e => model.click(run.id, clickMode(e))}
      onDoubleClick={() => props.actions.open(run.id)}
    >
      <div
        role="gridcell"
        className="jp-MomoRuns-cell jp-MomoRuns-mark jp-mod-pinned"
      >
        <input
          type="checkbox"
          checked={props.selected}
          aria-label={trans.__('Select %1', run.name)}
          onClick={e => e.stopPropagation()}
          onChange={() => model.click(run.id, 'toggle')}
        />
      </div>
      {props.columns.map(column => (
        <div
          key={column.key}
          role="gridcell"
          className={cellClass(column)}
          data-column={column.key}
        >
          {column.kind === 'status' ? (
            <RunStatus run={run} />
          ) : (
            <span title={column.kind === 'name' ? run.id : undefined}>
              {formatCell(run, column)}
            </span>
          )}
        </div>
      ))}
    </div>
  );
});

function GroupRow(props: {
  row: Extract<RunsRow, { kind: 'group' }>;
  index: number;
  width: number;
  model: RunsModel;
}): JSX.Element {
  const { row, model } = props;
  const selected = row.ids.filter(id => model.selection.has(id)).length;
  return (
    <div
      role="row"
      aria-rowindex={props.index + 2}
      aria-expanded={!row.collapsed}
      className="jp-MomoRuns-row jp-MomoRuns-group"
      data-sweep={row.sweep}
      style={{
        width: props.width,
        transform: `translateY(${props.index * ROW_HEIGHT}px)`
      }}
    >
      <div role="gridcell" className="jp-MomoRuns-groupCell">
        <button
          type="button"
          className="jp-MomoRuns-toggle"
          aria-label={
            row.collapsed
              ? trans.__('Show the runs of sweep %1', row.sweep)
              : trans.__('Hide the runs of sweep %1', row.sweep)
          }
          onClick={() => model.toggleGroup(row.sweep)}
        >
          {row.collapsed ? '▸' : '▾'}
        </button>
        <span className="jp-MomoRuns-groupName">
          {trans.__('Sweep %1', row.sweep)}
        </span>
        <span className="jp-MomoRuns-groupCount">
          {trans._n('%1 run', '%1 runs', row.ids.length)}
          {selected ? ` · ${trans.__('%1 selected', selected)}` : ''}
        </span>
        <button
          type="button"
          className="jp-MomoJobs-linkButton"
          onClick={e => model.selectGroup(row.sweep, e.ctrlKey || e.metaKey)}
        >
          {trans.__('Select its runs')}
        </button>
      </div>
    </div>
  );
}

function HeaderCell(props: { column: IColumn; model: RunsModel }): JSX.Element {
  const { column, model } = props;
  const sorted = model.sort.key === column.key ? model.sort.direction : null;
  return (
    <div
      role="columnheader"
      aria-sort={
        sorted === 'asc'
          ? 'ascending'
          : sorted === 'desc'
            ? 'descending'
            : 'none'
      }
      className={`${cellClass(column)} jp-MomoRuns-headerCell`}
      data-column={column.key}
    >
      <button
        type="button"
        title={trans.__('%1 — click to sort', column.title)}
        onClick={() => model.sortBy(column.key)}
      >
        <span className="jp-MomoRuns-headerLabel">{column.label}</span>
        <span className="jp-MomoRuns-sortMark" aria-hidden="true">
          {sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : ''}
        </span>
      </button>
    </div>
  );
}

export interface IRunsTableProps {
  model: RunsModel;
  actions: IJobActions;
  /** The height used until the view is measured (and in tests). */
  initialHeight?: number;
}

/**
 * The table; re-rendered by its owner on `model.changed`.
 */
export function RunsTable(props: IRunsTableProps): JSX.Element {
  const { model, actions } = props;
  const scroller = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(props.initialHeight ?? 600);
  const frame = React.useRef<number | null>(null);

  React.useEffect(() => {
    const node = scroller.current;
    if (!node || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(entries => {
      const h = Math.floor(entries[0].contentRect.height);
      if (h > 0) {
        setHeight(h);
      }
    });
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  React.useEffect(
    () => () => {
      if (frame.current !== null) {
        cancelAnimationFrame(frame.current);
      }
    },
    []
  );

  const onScroll = React.useCallback(() => {
    if (frame.current !== null) {
      return;
    }
    const read = () => {
      frame.current = null;
      setScrollTop(scroller.current?.scrollTop ?? 0);
    };
    if (typeof requestAnimationFrame === 'undefined') {
      read();
    } else {
      frame.current = requestAnimationFrame(read);
    }
  }, []);

  const rows = model.rows;
  const columns = model.visibleColumns;
  const template = React.useMemo(() => gridTemplate(columns), [columns]);
  const width = MARK_WIDTH + columns.reduce((sum, c) => sum + c.width, 0);
  const [start, end] = visibleRange(
    scrollTop,
    Math.max(0, height - HEADER_HEIGHT),
    rows.length
  );
  const shown: JSX.Element[] = [];
  for (let i = start; i < end; i++) {
    const row = rows[i];
    if (row.kind === 'group') {
      shown.push(
        <GroupRow
          key={`sweep:${row.sweep}`}
          row={row}
          index={i}
          width={width}
          model={model}
        />
      );
    } else {
      shown.push(
        <RunRow
          key={row.run.id}
          run={row.run}
          index={i}
          columns={columns}
          template={template}
          selected={model.selection.has(row.run.id)}
          grouped={row.grouped}
          model={model}
          actions={actions}
        />
      );
    }
  }
  const allSelected =
    model.filteredRuns.length > 0 &&
    model.filteredRuns.every(run => model.selection.has(run.id));
  return (
    <div
      ref={scroller}
      className="jp-MomoRuns-scroll"
      role="grid"
      aria-label={trans.__('Runs')}
      aria-rowcount={rows.length + 1}
      aria-multiselectable={true}
      style={
        { '--jp-MomoRuns-markWidth': `${MARK_WIDTH}px` } as React.CSSProperties
      }
      onScroll={onScroll}
      tabIndex={0}
    >
      <div
        className="jp-MomoRuns-sizer"
        style={{ width, height: HEADER_HEIGHT + rows.length * ROW_HEIGHT }}
      >
        <div
          role="row"
          aria-rowindex={1}
          className="jp-MomoRuns-header"
          style={{ gridTemplateColumns: template, width }}
        >
          <div
            role="columnheader"
            className="jp-MomoRuns-cell jp-MomoRuns-mark jp-mod-pinned"
          >
            <input
              type="checkbox"
              checked={allSelected}
              aria-label={trans.__('Select every run shown')}
              onChange={() =>
                model.selection.set(
                  allSelected ? [] : model.filteredRuns.map(run => run.id)
                )
              }
            />
          </div>
          {columns.map(column => (
            <HeaderCell key={column.key} column={column} model={model} />
          ))}
        </div>
        <div className="jp-MomoRuns-body" style={{ top: HEADER_HEIGHT }}>
          {shown}
        </div>
      </div>
    </div>
  );
}
