/** The routes with fixed or parametric paths, for 405 answers with `Allow` (wildcard routes left out). */
export type RouteTable = { url: string; methods: string[] }[];

const cache = new Map<string, RegExp>();

function pattern(url: string): RegExp {
  let re = cache.get(url);
  if (!re) {
    const body = url
      .split('/')
      .map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    re = new RegExp(`^${body}/?$`);
    cache.set(url, re);
  }
  return re;
}

/** Methods some route answers on `path` (empty when no route matches it at all). */
export function allowedMethods(routes: RouteTable, path: string): string[] {
  const out = new Set<string>();
  for (const r of routes) if (pattern(r.url).test(path)) for (const m of r.methods) out.add(m);
  return [...out].sort();
}
