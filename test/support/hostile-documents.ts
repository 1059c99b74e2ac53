// Hostile GraphQL requests, one per class of attack on the API edge. The API tests check that each
// is refused with BAD_USER_INPUT (or 413) over HTTP and WebSocket; the bench (`npm run bench`,
// figure 13) times the refusals and /healthz while they are sent.

export interface HostileRequest {
  name: string;
  query: string;
  /** the variables as JSON text (written out: JSON.stringify itself overflows the stack on deep values) */
  variablesJson?: string;
  /** what the refusal message says */
  refusal: RegExp;
}

/** `n` fragments, each spreading the next twice: 2^n fields when expanded naively. */
export function fragmentBomb(n = 40): string {
  const frags = Array.from({ length: n }, (_, i) =>
    i === n - 1 ? `fragment F${i} on Cluster { id name }` : `fragment F${i} on Cluster { ...F${i + 1} ...F${i + 1} }`,
  );
  return `query { clusters(first: 1) { edges { node { ...F0 } } } } ${frags.join(' ')}`;
}

/** `levels` nested arrays as JSON text: [[[…]]] */
export const deepJsonText = (levels: number) => `${'['.repeat(levels)}"leaf"${']'.repeat(levels)}`;

/** A request body or graphql-ws `subscribe` payload, as JSON text. */
export const payloadText = (request: Pick<HostileRequest, 'query' | 'variablesJson'>) =>
  `{"query":${JSON.stringify(request.query)}${request.variablesJson ? `,"variables":${request.variablesJson}` : ''}}`;

export const HOSTILE_REQUESTS: HostileRequest[] = [
  // under the 2 MiB body limit, far over the document length limit; then within it, over the token limit
  { name: 'document of 1.9 MiB', query: `{ ${'__typename '.repeat(170_000)}}`, refusal: /characters/i },
  { name: 'tokens (20,000 in 99 KB)', query: `{ ${'a '.repeat(20_000)}}`, refusal: /tokens/i },
  { name: 'fragment bomb (40 fragments, each spreading the next twice)', query: fragmentBomb(40), refusal: /complexity/i },
  {
    name: '1,000 aliases of a cheap field',
    query: `{ ${Array.from({ length: 1_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
    refusal: /alias/i,
  },
  { name: '2,000 repeats of one field', query: `{ instanceTypes { ${'name '.repeat(2_000)}} }`, refusal: /field selections/i },
  {
    name: 'depth over 40',
    query: `query { step(id: "s-x") { ${'cluster { steps(first: 1) { edges { node { '.repeat(10)}id${' } } } }'.repeat(10)} } }`,
    refusal: /depth/i,
  },
  {
    name: 'nested introspection lists',
    query: '{ __schema { types { fields { type { fields { type { fields { type { fields { type { fields { name } } } } } } } } } } } }',
    refusal: /introspection complexity/i,
  },
  {
    name: 'variable JSON nested 10,000 levels',
    query: 'mutation($p: JSON) { invokeFunction(input: { functionName: "nope", payload: $p }) { statusCode } }',
    variablesJson: `{"p":${deepJsonText(10_000)}}`,
    refusal: /nested deeper/i,
  },
];
