import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { transformIterator } from '../notifications/live-feed.js';
import { checkDocument, type CheckedDocument } from './document-limits.js';

const MAX_DOCUMENTS = 1_000;
// longer texts are checked every time rather than held (a thousand 2 MiB keys would be 2 GB)
const MAX_CACHED_TEXT = 64 * 1024;

/**
 * Parses, limits and validates each distinct operation text once (limits.ts `checkDocument`).
 * Besides saving the work for many subscribers of the same query, it makes their documents the
 * same object, which is what lets `sharedSubscribe` recognise identical operations.
 */
export class DocumentCache {
  private docs = new Map<string, CheckedDocument>();

  constructor(private readonly schema: GraphQLSchema) {}

  get(query: string): CheckedDocument {
    let entry = this.docs.get(query);
    if (!entry) {
      entry = checkDocument(this.schema, query);
      if (query.length > MAX_CACHED_TEXT) return entry;
      if (this.docs.size >= MAX_DOCUMENTS) this.docs.clear();
      this.docs.set(query, entry);
    }
    return entry;
  }
}

// event object → (operation key → result). Feeds hand the very same row object to every
// subscriber of a key, so N subscribers of one log stream execute each line once, not N times.
const results = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();

/**
 * graphql-js `subscribe`, except that an event's result is shared by all subscriptions running
 * the same document with the same variables. Safe because subscription payload fields depend
 * only on the event, never on who subscribed (authorization happens when subscribing).
 */
export async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream as ExecutionResult;
  const key = JSON.stringify([args.operationName ?? null, args.variableValues ?? null]);
  const { document } = args;
  const opKey = `${documentIdOf(document)}|${key}`;
  return transformIterator(stream as AsyncIterableIterator<unknown>, (event) => {
    if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event }) as Promise<ExecutionResult>;
    let perEvent = results.get(event);
    if (!perEvent) results.set(event, (perEvent = new Map()));
    let result = perEvent.get(opKey);
    if (!result) {
      result = execute({ ...args, rootValue: event }) as ExecutionResult | Promise<ExecutionResult>;
      perEvent.set(opKey, result);
    }
    return result;
  });
}

// documents from the DocumentCache are shared objects: numbered, they key what identical operations share
const documentNumbers = new WeakMap<DocumentNode, number>();
let nextDocument = 0;
export function documentIdOf(document: DocumentNode): number {
  let n = documentNumbers.get(document);
  if (n === undefined) documentNumbers.set(document, (n = ++nextDocument));
  return n;
}
