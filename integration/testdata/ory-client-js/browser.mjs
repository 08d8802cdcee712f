// The entry of the page's bundle (esbuild, at test time): Ory's SDK,
// unchanged, as an SPA on the site's own origin uses it, with the flows of
// flows.mjs. index.html runs the browser flows when it loads and shows
// their report; the Go test reads it, then calls window.oryClientTest for
// the other flows. Every report is also written into #report.

import { Configuration, FrontendApi } from '@ory/client';

import { browserFlows, expiredLoginFlow, startLoginFlow, unknownFlows } from './flows.mjs';

const api = new FrontendApi(new Configuration({
  basePath: `${window.location.origin}/.ory/kratos/public`,
  baseOptions: { withCredentials: true },
}));

// show writes a report into the page, marked with what ran.
function show(name, report) {
  const el = document.getElementById('report');
  el.dataset.flows = name;
  el.textContent = JSON.stringify(report, null, 2);
  return report;
}

async function guarded(name, run) {
  try {
    return show(name, await run());
  } catch (e) {
    return show(name, { steps: {}, error: String(e && e.stack ? e.stack : e) });
  }
}

window.oryClientTest = {
  browser: (options) => guarded('browser', () => browserFlows(api, options)),
  unknown: (options) => guarded('unknown', () => unknownFlows(api, options)),
  startLogin: () => guarded('start-login', () => startLoginFlow(api)),
  expiredLogin: (options) => guarded('expired-login', () => expiredLoginFlow(api, options)),
};

const params = new URLSearchParams(window.location.search);
if (params.has('email')) {
  window.oryClientTest.browser({ email: params.get('email'), password: params.get('password') });
}
