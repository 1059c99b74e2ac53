// The trigger sources. Each source adds its one line here.
import { bucketSource } from './bucket/source.js';
import { clusterEventsSource } from './cluster-events/source.js';
import { scheduleSource } from './schedule/source.js';
import { httpSource } from './http/source.js';
import { queueSource } from './queue/source.js';
import { topicSource } from './topic/source.js';
import type { TriggerSourceKind } from './types.js';

export const TRIGGER_SOURCES: ReadonlyArray<TriggerSourceKind<unknown>> = [
  bucketSource,
  clusterEventsSource,
  scheduleSource,
  httpSource,
  topicSource,
  queueSource,
];
