const FILTERS = ['status', 'severity', 'sourceKind', 'provider', 'resourceType', 'q'] as const;
const PAGE_SIZE = 50;

/**
 * The API paths the queue loads first for the page's URL parameters. Kept apart from the
 * queue's page so the first script can ask for them before React is even loaded.
 */
export function queueRequests(params: URLSearchParams): { page: string; counts: string } {
  const apiQuery = new URLSearchParams();
  for (const name of [...FILTERS, 'sort', 'order', 'cursor', 'limit']) {
    const value = params.get(name);
    if (value) apiQuery.set(name, value);
  }
  // A page size in the URL (1 to 500, as the API takes) is kept; 50 rows otherwise.
  if (!apiQuery.has('limit')) apiQuery.set('limit', String(PAGE_SIZE));
  return { page: `/actions?${apiQuery.toString()}`, counts: '/actions/counts' };
}
