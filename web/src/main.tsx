import { prefetch, restoreToken } from './api.ts';
import { queueRequests } from './queue-requests.ts';
import './styles.css';

// The queue is the page most opened first: its data is asked for by this small first
// script, while React and the pages are still being downloaded and compiled, and while
// sign-in is being confirmed (also asked for here), instead of one step after the other.
const token = restoreToken();
prefetch(token ? '/whoami' : '/session');
if (window.location.pathname === '/' || window.location.pathname === '/actions') {
  const paths = queueRequests(new URLSearchParams(window.location.search));
  prefetch(paths.page);
  prefetch(paths.counts);
}

import('./start.tsx').catch(() => {
  document.getElementById('root')!.textContent =
    'The console could not be loaded. Check that the server is running, then reload the page.';
});
