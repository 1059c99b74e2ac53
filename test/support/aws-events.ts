// AWS's event shapes as AWS Lambda Powertools for Python's parser models implement them (an
// implementation independent of ours): the events our triggers emit are checked against them by
// aws_event_models.py beside this file, in a python3 subprocess (.ci/run installs Powertools).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'aws_event_models.py');

export type AwsEventModel =
  | 'S3Model'
  | 'SnsModel'
  | 'SnsNotificationModel'
  | 'SqsModel'
  | 'EventBridgeModel'
  | 'APIGatewayProxyEventV2Model';

/**
 * Validates an event with a Powertools model. `error` is the validation error (null when valid),
 * `missing` every field the model declares that the event leaves out, as paths (`Records[].s3.x`,
 * map values as `*`): tests list the absences AWS has too, so a dropped field fails them.
 */
export function checkAwsEvent(model: AwsEventModel, event: unknown): Promise<{ error: string | null; missing: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`aws_event_models.py exited with ${code}: ${err}`));
      else resolve(JSON.parse(out));
    });
    child.stdin.end(JSON.stringify({ model, event }));
  });
}
