// HTTP trigger routes: `METHOD /path` with `{param}` segments and a greedy last `{name+}`, matched
// as API Gateway HTTP APIs match them: the most specific path wins (at the first segment where two
// routes differ, a literal beats a `{param}`, which beats a greedy `{name+}`); among routes with the
// same path shape a specific method beats ANY. The table is in memory on every server (built from
// the triggers table, refreshed through NOTIFY), so a request never queries the database to route.
import { badInput } from '../../../platform/errors.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export type RouteMethod = HttpMethod | 'ANY';
const ROUTE_METHODS: readonly RouteMethod[] = [...HTTP_METHODS, 'ANY'];

const MAX_PATH_LENGTH = 1_024;

type Segment = { kind: 'literal'; value: string } | { kind: 'param'; name: string } | { kind: 'greedy'; name: string };

export interface RouteTemplate {
  method: RouteMethod;
  /** as written, e.g. `/items/{id}` */
  path: string;
  segments: Segment[];
  /** the path with parameter names erased (`/items/{}`): two routes with the same method and shape conflict */
  shape: string;
  /** API Gateway's routeKey, e.g. `GET /items/{id}` */
  routeKey: string;
}

// RFC 3986 pchar without "%" (literal segments are written decoded) and without braces
const LITERAL = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]+$/;
const PARAM = /^\{([A-Za-z_][A-Za-z0-9_]{0,63})(\+?)\}$/;

export function requireRouteMethod(value: string, field: string): RouteMethod {
  const upper = value.trim().toUpperCase();
  if (!(ROUTE_METHODS as readonly string[]).includes(upper)) throw badInput(field, `must be one of ${ROUTE_METHODS.join(', ')}`);
  return upper as RouteMethod;
}

/** Parses and checks a route path; errors name `field`. */
function parseRoutePath(path: string, field: string): Segment[] {
  if (typeof path !== 'string' || !path.startsWith('/')) throw badInput(field, 'must start with "/", e.g. "/items/{id}"');
  if (path.length > MAX_PATH_LENGTH) throw badInput(field, `must be at most ${MAX_PATH_LENGTH} characters`);
  if (path === '/') return [];
  const parts = path.slice(1).split('/');
  const segments: Segment[] = [];
  const names = new Set<string>();
  parts.forEach((part, i) => {
    if (part === '') throw badInput(field, 'must not have empty segments ("//" or a trailing "/")');
    const m = PARAM.exec(part);
    if (m) {
      const name = m[1]!;
      if (names.has(name)) throw badInput(field, `names the parameter {${name}} twice`);
      names.add(name);
      if (m[2]) {
        if (i !== parts.length - 1) throw badInput(field, `the greedy parameter {${name}+} must be the last segment`);
        segments.push({ kind: 'greedy', name });
      } else segments.push({ kind: 'param', name });
      return;
    }
    if (part.includes('{') || part.includes('}'))
      throw badInput(field, `segment "${part}": a parameter is a whole segment, "{name}" or a last "{name+}"`);
    if (!LITERAL.test(part))
      throw badInput(field, `segment "${part}" has characters not allowed in a path (letters, digits and -._~!$&'()*+,;=:@)`);
    segments.push({ kind: 'literal', value: part });
  });
  return segments;
}

export function routeTemplate(method: RouteMethod, path: string, field = 'path'): RouteTemplate {
  const segments = parseRoutePath(path, field);
  const shape = `/${segments.map((s) => (s.kind === 'literal' ? s.value : s.kind === 'param' ? '{}' : '{+}')).join('/')}`;
  return { method, path, segments, shape, routeKey: `${method} ${path}` };
}

export interface RouteMatch<R> {
  route: R;
  template: RouteTemplate;
  /** decoded values by parameter name (the greedy one: the rest of the path, "/" kept) */
  params: Record<string, string>;
}

interface Node<R> {
  literals: Map<string, Node<R>>;
  param: Node<R> | null;
  /** routes whose greedy parameter sits here, by method */
  greedy: Map<RouteMethod, { route: R; template: RouteTemplate }>;
  /** routes that end here, by method */
  routes: Map<RouteMethod, { route: R; template: RouteTemplate }>;
}

const node = <R>(): Node<R> => ({ literals: new Map(), param: null, greedy: new Map(), routes: new Map() });

function decodeSegment(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // malformed escapes match only literally
  }
}

/** A route trie: matching walks one path's segments, literal before `{param}` before greedy. */
export class RouteTable<R> {
  private readonly root: Node<R> = node();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds a route; returns false (adding nothing) when one with the same method and shape is there. */
  add(template: RouteTemplate, route: R): boolean {
    let n = this.root;
    for (const s of template.segments) {
      if (s.kind === 'literal') {
        let next = n.literals.get(s.value);
        if (!next) n.literals.set(s.value, (next = node()));
        n = next;
      } else if (s.kind === 'param') n = n.param ??= node();
      else {
        if (n.greedy.has(template.method)) return false;
        n.greedy.set(template.method, { route, template });
        this.count++;
        return true;
      }
    }
    if (n.routes.has(template.method)) return false;
    n.routes.set(template.method, { route, template });
    this.count++;
    return true;
  }

  /** The route for `method` and a raw (still percent-encoded) path, or null. */
  match(method: string, rawPath: string): RouteMatch<R> | null {
    const parts = rawPath === '/' || rawPath === '' ? [] : rawPath.slice(1).split('/');
    const found = this.walk(this.root, parts.map(decodeSegment), 0, method);
    if (!found) return null;
    const params: Record<string, string> = {};
    let value = 0;
    found.template.segments.forEach((s, i) => {
      if (s.kind === 'param') params[s.name] = found.values[value++]!;
      else if (s.kind === 'greedy') params[s.name] = parts.slice(i).map(decodeSegment).join('/');
    });
    return { route: found.route, template: found.template, params };
  }

  private walk(n: Node<R>, parts: string[], i: number, method: string): { route: R; template: RouteTemplate; values: string[] } | null {
    if (i === parts.length) {
      const hit = n.routes.get(method as RouteMethod) ?? n.routes.get('ANY');
      return hit ? { ...hit, values: [] } : null;
    }
    const part = parts[i]!;
    const literal = n.literals.get(part);
    if (literal) {
      const found = this.walk(literal, parts, i + 1, method);
      if (found) return found;
    }
    if (n.param && part !== '') {
      const found = this.walk(n.param, parts, i + 1, method);
      if (found) return { ...found, values: [part, ...found.values] };
    }
    const greedy = n.greedy.get(method as RouteMethod) ?? n.greedy.get('ANY');
    return greedy ? { ...greedy, values: [] } : null;
  }
}
