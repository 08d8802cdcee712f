// The self-service flows that node.mjs (in node) and browser.mjs (in
// Chromium) run through Ory's SDK, unchanged: every call is a FrontendApi
// method with the SDK's own request building and axios' default headers.
//
// Each flow returns a report of what the caller saw, step by step:
// {steps: {<name>: {status, data}}, error?}. The Go tests
// (integration/ory_client_javascript_test.go) assert the reports; a step whose
// status is not the one the next steps need ends the flow with an error,
// so one failure is not reported as ten.

// Report collects the steps of one run.
export class Report {
  constructor() {
    this.steps = {};
  }

  // call runs one SDK call and records its status and body: data for a
  // success, the SDK's error (an AxiosError) with the server's JSON for a
  // failure. When the status is not want, the run stops there.
  async call(name, want, fn) {
    let step;
    try {
      const res = await fn();
      step = { status: res.status, data: res.data ?? null };
    } catch (e) {
      if (!e || !e.isAxiosError || !e.response) {
        throw new Error(`${name}: ${e && e.stack ? e.stack : e}`);
      }
      step = {
        status: e.response.status,
        data: e.response.data ?? null,
        sdkError: { name: e.name, code: e.code ?? null, message: e.message },
      };
    }
    this.steps[name] = step;
    if (step.status !== want) {
      throw new Error(`${name}: status ${step.status}, want ${want}: ${JSON.stringify(step.data)}`);
    }
    return step.data;
  }

  // run runs a flow to its end or its first unexpected status.
  async run(flow) {
    try {
      await flow(this);
    } catch (e) {
      this.error = String(e && e.message ? e.message : e);
    }
    return { steps: this.steps, error: this.error ?? null };
  }
}

// csrfToken is the value of a flow's csrf_token node.
export function csrfToken(flow) {
  for (const n of flow.ui.nodes) {
    if (n.attributes && n.attributes.name === 'csrf_token') return n.attributes.value;
  }
  throw new Error(`flow ${flow.id} has no csrf_token node`);
}

const traits = (email, last) => ({ email, name: { first: 'Grace', last } });

// nativeFlows is a native app: API flows and a session token.
export function nativeFlows(api, { email, password }) {
  return new Report().run(async (r) => {
    const reg = await r.call('createNativeRegistrationFlow', 200, () => api.createNativeRegistrationFlow());
    const signedUp = await r.call('updateRegistrationFlow', 200, () =>
      api.updateRegistrationFlow({
        flow: reg.id,
        updateRegistrationFlowBody: { method: 'password', password, traits: traits(email, 'Hopper') },
      }));
    const token = signedUp.session_token;
    await r.call('toSession', 200, () => api.toSession({ xSessionToken: token }));

    const settings = await r.call('createNativeSettingsFlow', 200, () => api.createNativeSettingsFlow({ xSessionToken: token }));
    await r.call('updateSettingsFlow', 200, () =>
      api.updateSettingsFlow({
        flow: settings.id,
        xSessionToken: token,
        updateSettingsFlowBody: { method: 'profile', traits: traits(email, 'Brewster') },
      }));
    await r.call('toSessionAfterSettings', 200, () => api.toSession({ xSessionToken: token }));

    const login = await r.call('createNativeLoginFlow', 200, () => api.createNativeLoginFlow());
    const signedIn = await r.call('updateLoginFlow', 200, () =>
      api.updateLoginFlow({
        flow: login.id,
        updateLoginFlowBody: { method: 'password', identifier: email, password },
      }));
    await r.call('performNativeLogout', 204, () =>
      api.performNativeLogout({ performNativeLogoutBody: { session_token: token } }));
    await r.call('toSessionAfterLogout', 401, () => api.toSession({ xSessionToken: token }));
    await r.call('toSessionOtherToken', 200, () => api.toSession({ xSessionToken: signedIn.session_token }));
  });
}

// browserFlows is a browser app (an SPA): browser flows whose cookies the
// caller keeps (Chromium, or a cookie jar in node) and CSRF tokens taken
// from the flows.
export function browserFlows(api, { email, password }) {
  return new Report().run(async (r) => {
    const reg = await r.call('createBrowserRegistrationFlow', 200, () => api.createBrowserRegistrationFlow());
    await r.call('updateRegistrationFlow', 200, () =>
      api.updateRegistrationFlow({
        flow: reg.id,
        updateRegistrationFlowBody: {
          method: 'password', csrf_token: csrfToken(reg), password, traits: traits(email, 'Hopper'),
        },
      }));
    await r.call('toSession', 200, () => api.toSession());

    const settings = await r.call('createBrowserSettingsFlow', 200, () => api.createBrowserSettingsFlow());
    await r.call('updateSettingsFlow', 200, () =>
      api.updateSettingsFlow({
        flow: settings.id,
        updateSettingsFlowBody: { method: 'profile', csrf_token: csrfToken(settings), traits: traits(email, 'Brewster') },
      }));
    await r.call('toSessionAfterSettings', 200, () => api.toSession());

    const logout = await r.call('createBrowserLogoutFlow', 200, () => api.createBrowserLogoutFlow());
    await r.call('updateLogoutFlow', 204, () => api.updateLogoutFlow({ token: logout.logout_token }));
    await r.call('toSessionAfterLogout', 401, () => api.toSession());

    const login = await r.call('createBrowserLoginFlow', 200, () => api.createBrowserLoginFlow());
    await r.call('updateLoginFlow', 200, () =>
      api.updateLoginFlow({
        flow: login.id,
        updateLoginFlowBody: { method: 'password', csrf_token: csrfToken(login), identifier: email, password },
      }));
    await r.call('toSessionAfterLogin', 200, () => api.toSession());

    const again = await r.call('createBrowserLogoutFlowAgain', 200, () => api.createBrowserLogoutFlow());
    await r.call('updateLogoutFlowAgain', 204, () => api.updateLogoutFlow({ token: again.logout_token }));
    await r.call('toSessionAfterSecondLogout', 401, () => api.toSession());
  });
}

// unknownFlows asks for and submits flows that do not exist.
export function unknownFlows(api, { flowId, email, password }) {
  return new Report().run(async (r) => {
    await r.call('getRegistrationFlow', 404, () => api.getRegistrationFlow({ id: flowId }));
    await r.call('getLoginFlow', 404, () => api.getLoginFlow({ id: flowId }));
    await r.call('updateLoginFlow', 404, () =>
      api.updateLoginFlow({
        flow: flowId,
        updateLoginFlowBody: { method: 'password', identifier: email, password },
      }));
  });
}

// expiredLoginFlow asks for and submits a login flow past its lifespan (the
// flow and its CSRF token from an earlier startLoginFlow).
export function expiredLoginFlow(api, { flowId, csrf, email, password }) {
  return new Report().run(async (r) => {
    await r.call('getLoginFlow', 410, () => api.getLoginFlow({ id: flowId }));
    await r.call('updateLoginFlow', 410, () =>
      api.updateLoginFlow({
        flow: flowId,
        updateLoginFlowBody: { method: 'password', csrf_token: csrf, identifier: email, password },
      }));
  });
}

// startLoginFlow creates a browser login flow to expire, and returns its id
// and CSRF token.
export async function startLoginFlow(api) {
  const res = await api.createBrowserLoginFlow();
  return { flowId: res.data.id, csrf: csrfToken(res.data) };
}
