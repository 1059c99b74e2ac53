// Small pieces every page uses: the API's errors shown with their field, state badges, progress bars.
import type { CombinedError } from 'urql';
import { problemsOf } from '../api';

export function Problems({ error }: { error: CombinedError | undefined }) {
  const problems = problemsOf(error);
  if (!problems.length) return null;
  return (
    <div className="problems" role="alert">
      {problems.map((p, i) => (
        <div key={i} className="problem">
          <code>{p.code}</code>
          {p.field ? (
            <>
              {' '}
              on <code className="field">{p.field}</code>
            </>
          ) : null}
          : {p.message}
        </div>
      ))}
    </div>
  );
}

const TONES: Record<string, string> = {
  WAITING: 'ok',
  ACTIVE: 'ok',
  SUCCESSFUL: 'ok',
  INACTIVE: 'idle',
  RUNNING: 'busy',
  COMPLETED: 'ok',
  STARTING: 'busy',
  BOOTSTRAPPING: 'busy',
  PROVISIONING: 'busy',
  PENDING: 'idle',
  TERMINATING: 'idle',
  TERMINATED: 'idle',
  CANCELLED: 'idle',
  CANCEL_PENDING: 'idle',
  TERMINATED_WITH_ERRORS: 'bad',
  FAILED: 'bad',
  INTERRUPTED: 'bad',
};

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${TONES[state] ?? 'idle'}`}>{state}</span>;
}

export function ProgressBar({ value }: { value: number | null | undefined }) {
  const percent = value === null || value === undefined ? null : Math.round(value * 100);
  return (
    <span className="progress" role="progressbar" aria-valuenow={percent ?? undefined} aria-valuemin={0} aria-valuemax={100}>
      <span className="fill" style={{ width: `${percent ?? 0}%` }} />
      <span className="label">{percent === null ? '–' : `${percent}%`}</span>
    </span>
  );
}

export const when = (at: string | null | undefined) => (at ? new Date(at).toLocaleString() : '–');
