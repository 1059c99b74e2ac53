import crypto from 'node:crypto';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { Context } from '../graphql/context.js';

/**
 * A value of a response given as JSON text (built by Postgres in the shape the request asked for):
 * it goes into the response as it is, neither parsed into objects nor resolved field by field.
 */
export class RawJson {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return placeholder(this);
  }
}

/**
 * A query document run in place of the one sent, where a module answers parts of its selection
 * with RawJson: the rewritten document leaves those parts to `finish`, which puts them into the
 * data afterwards.
 */
export interface DocumentRewrite {
  document: DocumentNode;
  /** per request, before it runs: what its resolvers read from `context.rewrite` (null: the document as sent answers it) */
  state(variables: Record<string, unknown>): object | null;
  /** puts the parts left out into the data of the rewritten document's result */
  finish(data: Record<string, unknown>, context: Context): void;
}

/** A module's rewrites: the one of a document's operation, or null where it has none. */
export type DocumentRewriter = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
) => DocumentRewrite | null;

// the text of a placeholder can only be made by this process: a request's own strings never equal it
const MARK = `rawjson-${crypto.randomBytes(16).toString('hex')}-`;
const PLACEHOLDER = new RegExp(`"${MARK}(\\d+)"`, 'g');
// the texts of the RawJson values met by the JSON.stringify running (it is synchronous: one at a time)
let met: string[] | null = null;

function placeholder(raw: RawJson): unknown {
  if (!met) return JSON.parse(raw.text); // stringified outside stringifyResponse: the same JSON, parsed
  met.push(raw.text);
  return `${MARK}${met.length - 1}`;
}

/** JSON.stringify of a response, with the text of its RawJson values in their places. */
export function stringifyResponse(value: unknown): string {
  met = [];
  try {
    const json = JSON.stringify(value);
    const texts = met;
    return texts.length ? json.replace(PLACEHOLDER, (_, i: string) => texts[Number(i)]!) : json;
  } finally {
    met = null;
  }
}
