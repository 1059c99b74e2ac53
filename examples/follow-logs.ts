// Follows one step with the typed client (src/client, docs/client.md): prints its log lines as they
// are written and its state/progress changes, then exits with 0 if the step COMPLETED and 1 if it
// ended FAILED, CANCELLED or INTERRUPTED (2 for usage, auth or connection errors).
//
//   EMBERPLANE_API_KEY=ep_… npx tsx examples/follow-logs.ts <stepId>
//
// EMBERPLANE_URL defaults to http://127.0.0.1:4000. Log lines go to stdout as `<at> <stream> <text>`,
// state and progress changes to stderr, so `… > step.log` keeps just the output. A server restart
// is survived: the log is picked up again after the last line printed. (`emberplane steps logs
// <stepId> --follow` does the same from the CLI.)
import { ApiError, EmberplaneClient, followStep, graphql } from '../src/client/index.js';

const apiKey = process.env.EMBERPLANE_API_KEY;
const stepId = process.argv[2];
if (!apiKey || !stepId) {
  console.error('usage: EMBERPLANE_API_KEY=<key> [EMBERPLANE_URL=http://127.0.0.1:4000] npx tsx examples/follow-logs.ts <stepId>');
  process.exit(2);
}
const client = new EmberplaneClient({ endpoint: process.env.EMBERPLANE_URL ?? 'http://127.0.0.1:4000', apiKey });

// typed from the schema: `step` below has exactly these fields, and a misspelt one fails `npm run typecheck`
const StepHeader = graphql(`
  query StepHeader($id: ID!) {
    step(id: $id) {
      name
      state
      logStreamId
    }
  }
`);
const StepProgress = graphql(`
  subscription StepProgress($stepId: ID!) {
    stepUpdates(stepId: $stepId) {
      state
      progress
      exitCode
      failureDetails {
        message
      }
    }
  }
`);

/** State and progress changes to stderr until the step ends (the subscription completes then). */
async function showProgress(): Promise<void> {
  let shown = '';
  for await (const { stepUpdates: s } of client.subscribe(StepProgress, { stepId })) {
    const text = `${s.state}${s.progress === null || s.progress === undefined ? '' : ` ${Math.round(s.progress * 100)}%`}`;
    if (text === shown) continue;
    shown = text;
    const extra =
      s.exitCode !== null && s.exitCode !== undefined
        ? ` (exit code ${s.exitCode})`
        : s.failureDetails?.message
          ? ` (${s.failureDetails.message})`
          : '';
    console.error(`# ${text}${extra}`);
  }
}

try {
  const { step } = await client.request(StepHeader, { id: stepId });
  if (!step) throw new ApiError([{ code: 'NOT_FOUND', message: `no step ${stepId}` }]);
  console.error(`# step ${stepId} "${step.name}" is ${step.state}; log stream ${step.logStreamId}`);
  const progress = showProgress().catch(() => {}); // only decoration: the log decides the end
  const lines = followStep(client, stepId);
  let next = await lines.next();
  for (; !next.done; next = await lines.next()) process.stdout.write(`${next.value.at} ${next.value.stream} ${next.value.text}\n`);
  await progress;
  console.error(`# step ${stepId} ended ${next.value}`);
  process.exitCode = next.value === 'COMPLETED' ? 0 : 1;
} catch (err) {
  console.error(err instanceof ApiError ? err.message : `${(err as Error).message}`);
  process.exitCode = 2;
} finally {
  await client.close();
}
