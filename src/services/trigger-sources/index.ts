// The trigger sources. Each source adds its one line here.
import { bucketSource } from './bucket.js';
import { clusterEventsSource } from './cluster-events.js';
import { scheduleSource } from './schedule.js';
import { httpSource } from './http.js';
import { queueSource } from './queue.js';
import { topicSource } from './topic.js';
import type { TriggerSourceKind } from './types.js';

export const TRIGGER_SOURCES: ReadonlyArray<TriggerSourceKind<any>> = [
  bucketSource,
  clusterEventsSource,
  scheduleSource,
  httpSource,
  topicSource,
  queueSource,
];
