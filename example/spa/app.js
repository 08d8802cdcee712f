// The caddy-kratos SPA example: plain JavaScript, no build step, no framework.
//
// Everything is a same-origin fetch to the Kratos-compatible public API with
// the browser's cookies (the session cookie and the CSRF cookie are HttpOnly;
// the page never sees them) and `Accept: application/json`, so the browser
// flows answer with JSON instead of redirects. Forms are rendered from the
// flow's ui.nodes, and the flow's csrf_token is sent back in every JSON body.
"use strict";

(function () {
	const PUBLIC = "/.ory/kratos/public";

	const state = {
		session: null, // the whoami answer, or null when signed out
		pending: null, // a settings submission waiting for a refresh login: {action, body}
	};

	const $ = (id) => document.getElementById(id);

	// ---- HTTP -------------------------------------------------------------

	// api sends one request and returns {status, data}; data is the decoded
	// JSON body (null for 204 or a non-JSON body).
	async function api(method, url, body) {
		const init = {
			method,
			credentials: "same-origin",
			headers: { Accept: "application/json" },
		};
		if (body !== undefined) {
			init.headers["Content-Type"] = "application/json";
			init.body = JSON.stringify(body);
		}
		const res = await fetch(url, init);
		let data = null;
		if (res.status !== 204 && (res.headers.get("Content-Type") || "").includes("json")) {
			data = await res.json();
		}
		return { status: res.status, data };
	}

	// errorText is the sentence to show for an error envelope.
	function errorText(data, fallback) {
		const e = data && data.error;
		if (!e) return fallback || "Something went wrong. Please try again.";
		return e.reason || e.message || fallback || "Something went wrong. Please try again.";
	}

	// ---- views --------------------------------------------------------------

	const VIEWS = ["view-loading", "view-home", "view-flow", "view-refresh"];

	function show(view) {
		for (const v of VIEWS) $(v).hidden = v !== view;
		const heading = $(view).querySelector("h1");
		if (heading) heading.focus();
	}

	function notice(text) {
		const n = $("notice");
		n.textContent = text || "";
		n.hidden = !text;
	}

	// signedIn toggles everything marked data-when="signed-in|signed-out".
	function markSignedIn() {
		const inside = !!state.session;
		document.body.dataset.session = inside ? "signed-in" : "signed-out";
		for (const el of document.querySelectorAll("[data-when]")) {
			el.hidden = el.dataset.when !== (inside ? "signed-in" : "signed-out");
		}
	}

	async function loadSession() {
		const { status, data } = await api("GET", PUBLIC + "/sessions/whoami");
		state.session = status === 200 ? data : null;
		markSignedIn();
		return state.session;
	}

	function renderHome() {
		const s = state.session;
		if (s) {
			const traits = (s.identity && s.identity.traits) || {};
			$("whoami-email").textContent = traits.email || "";
			const name = traits.name || {};
			$("whoami-name").textContent = [name.first, name.last].filter(Boolean).join(" ") || "(not set)";
			$("whoami-id").textContent = s.identity ? s.identity.id : "";
			$("whoami-authenticated-at").textContent = s.authenticated_at
				? new Date(s.authenticated_at).toLocaleString()
				: "";
		}
		show("view-home");
	}

	// ---- rendering ui.nodes ------------------------------------------------

	// labelFor is the node's label, or one derived from its name
	// ("traits.name.first" becomes "First name").
	function labelFor(node) {
		const meta = node.meta || {};
		const a = node.attributes || {};
		if (a.type === "password" && a.autocomplete === "new-password" && node.group === "password" && state.session) {
			return "New password"; // the settings flow's password method
		}
		if (meta.label && meta.label.text) return meta.label.text;
		if (a.label && a.label.text) return a.label.text;
		const parts = String(a.name || "").replace(/^traits\./, "").split(".");
		const text = parts.reverse().join(" ").replace(/_/g, " ");
		return text.charAt(0).toUpperCase() + text.slice(1);
	}

	function messageList(messages, id, testid) {
		const ul = document.createElement("ul");
		ul.className = "field-messages";
		ul.id = id;
		ul.dataset.testid = testid;
		for (const m of messages || []) {
			const li = document.createElement("li");
			li.className = "message message-" + (m.type || "info");
			li.dataset.messageId = m.id;
			li.textContent = m.text;
			ul.appendChild(li);
		}
		return ul;
	}

	function renderMessages(container, messages) {
		container.textContent = "";
		for (const m of messages || []) {
			const p = document.createElement("p");
			p.className = "message message-" + (m.type || "info");
			p.dataset.messageId = m.id;
			p.textContent = m.text;
			container.appendChild(p);
		}
	}

	function safeId(s) {
		return String(s).replace(/[^A-Za-z0-9_-]/g, "-");
	}

	// renderForm builds a <form> from nodes. submitHandler(form, method,
	// body) is called with the JSON body of the submission.
	function renderForm(formId, flow, nodes, submitHandler) {
		const form = document.createElement("form");
		form.id = formId;
		form.dataset.testid = formId;
		form.noValidate = true; // the server's messages are shown next to each field
		form.method = "post";
		form.action = flow.ui.action;

		for (const node of nodes) {
			const a = node.attributes || {};
			if (node.type === "text") {
				const p = document.createElement("p");
				p.textContent = (a.text && a.text.text) || "";
				form.appendChild(p);
				continue;
			}
			if (node.type === "a") {
				const p = document.createElement("p");
				const link = document.createElement("a");
				link.href = a.href;
				link.textContent = (a.title && a.title.text) || a.href;
				p.appendChild(link);
				form.appendChild(p);
				continue;
			}
			if (node.type !== "input") continue; // img and script nodes are not used by these flows

			const inputId = formId + "-" + safeId(a.name);
			if (a.type === "hidden") {
				const input = document.createElement("input");
				input.type = "hidden";
				input.name = a.name;
				input.value = a.value === undefined ? "" : a.value;
				form.appendChild(input);
				continue;
			}
			if (a.type === "submit" || a.type === "button") {
				const button = document.createElement("button");
				button.type = "submit";
				button.name = a.name;
				button.value = a.value;
				button.id = inputId + "-" + safeId(a.value);
				button.dataset.testid = "submit-" + a.value;
				button.disabled = !!a.disabled;
				button.textContent = labelFor(node);
				const p = document.createElement("p");
				p.className = "actions";
				p.appendChild(button);
				form.appendChild(p);
				continue;
			}

			const field = document.createElement("div");
			field.className = "field";
			const label = document.createElement("label");
			label.htmlFor = inputId;
			label.textContent = labelFor(node);
			if (a.required) {
				const req = document.createElement("span");
				req.className = "required";
				req.textContent = " (required)";
				label.appendChild(req);
			}
			const input = document.createElement("input");
			input.id = inputId;
			input.name = a.name;
			input.type = a.type || "text";
			input.dataset.testid = "input-" + a.name;
			if (input.type === "checkbox") {
				input.checked = a.value === true;
			} else if (a.value !== undefined && a.value !== null && input.type !== "password") {
				input.value = a.value;
			}
			if (a.required) input.required = true;
			if (a.disabled) input.disabled = true;
			if (a.autocomplete) input.autocomplete = a.autocomplete;
			if (a.pattern) input.pattern = a.pattern;
			if (a.maxlength) input.maxLength = a.maxlength;
			const msgsId = inputId + "-messages";
			const msgs = messageList(node.messages, msgsId, "messages-" + a.name);
			input.setAttribute("aria-describedby", msgsId);
			if ((node.messages || []).some((m) => m.type === "error")) {
				input.setAttribute("aria-invalid", "true");
				field.classList.add("invalid");
			}
			field.append(label, input, msgs);
			form.appendChild(field);
		}

		// Password managers want the account's username beside a password
		// field; forms without a visible one (the refresh login, the new
		// password) get a hidden, unnamed one that is never submitted.
		const password = form.querySelector("input[type=password]");
		if (password && !form.querySelector("input[type=email], input[type=text]")) {
			const idNode = nodes.find((n) => n.attributes && n.attributes.name === "identifier");
			const traits = (state.session && state.session.identity && state.session.identity.traits) || {};
			const user = document.createElement("input");
			user.type = "text";
			user.autocomplete = "username";
			user.hidden = true;
			user.value = (idNode && idNode.attributes.value) || traits.email || "";
			form.insertBefore(user, form.firstChild);
		}

		form.addEventListener("submit", async (ev) => {
			ev.preventDefault();
			const submitter = ev.submitter || form.querySelector("button[type=submit]");
			const method = submitter ? submitter.value : "";
			const body = formBody(form, method);
			setBusy(form, true);
			try {
				await submitHandler(form, method, body);
			} catch (err) {
				notice("The request failed: " + err.message);
			} finally {
				setBusy(form, false);
			}
		});
		return form;
	}

	function setBusy(form, busy) {
		form.setAttribute("aria-busy", busy ? "true" : "false");
		for (const b of form.querySelectorAll("button")) b.disabled = busy;
	}

	// formBody turns a rendered form into the JSON body of a submission:
	// "traits.name.first" becomes {"traits": {"name": {"first": …}}}. Empty
	// optional fields are left out, which removes them from the traits.
	function formBody(form, method) {
		const body = { method };
		for (const el of form.elements) {
			if (!el.name || el.tagName === "BUTTON" || el.disabled) continue;
			let value;
			if (el.type === "checkbox") value = el.checked;
			else if (el.type === "number") {
				if (el.value === "") continue;
				value = Number(el.value);
			} else {
				value = el.value;
				if (value === "" && !el.required && el.type !== "hidden") continue;
			}
			const path = el.name.split(".");
			let obj = body;
			for (const p of path.slice(0, -1)) {
				if (typeof obj[p] !== "object" || obj[p] === null) obj[p] = {};
				obj = obj[p];
			}
			obj[path[path.length - 1]] = value;
		}
		return body;
	}

	function focusFirstError(root) {
		const bad = root.querySelector("[aria-invalid=true]");
		if (bad) bad.focus();
	}

	// ---- login and registration --------------------------------------------

	const TITLES = {
		login: "Sign in", registration: "Create an account", settings: "Edit your profile",
		recovery: "Recover your account", verification: "Verify your email address",
	};

	async function startFlow(kind) {
		show("view-loading");
		const { status, data } = await api("GET", PUBLIC + "/self-service/" + kind + "/browser");
		if (status === 200) return renderFlow(kind, data);
		if (status === 400 && data && data.error && data.error.id === "session_already_available") {
			await loadSession();
			notice("You are already signed in.");
			return renderHome();
		}
		if (status === 401) {
			state.session = null;
			markSignedIn();
			notice("Please sign in first.");
			return startFlow("login");
		}
		notice(errorText(data));
		renderHome();
	}

	// fetchFlow loads an existing flow by id (after a 410 with use_flow_id).
	async function fetchFlow(kind, id) {
		const { status, data } = await api("GET", PUBLIC + "/self-service/" + kind + "/flows?id=" + encodeURIComponent(id));
		if (status === 200) return data;
		return null;
	}

	function renderFlow(kind, flow) {
		$("flow-title").textContent = TITLES[kind];
		$("view-flow").dataset.flowKind = kind;
		$("view-flow").dataset.flowId = flow.id;
		$("view-flow").dataset.flowState = flow.state || "";
		renderMessages($("flow-messages"), flow.ui.messages);
		const forms = $("flow-forms");
		forms.textContent = "";
		const alt = $("flow-alt");
		alt.textContent = "";

		if (kind === "settings") {
			renderSettingsForms(forms, flow);
		} else if (kind === "recovery" || kind === "verification") {
			// The email, then (state sent_email) the code from the mail.
			forms.appendChild(renderForm(kind + "-form", flow, flow.ui.nodes, (form, method, body) => submitCode(kind, flow, body)));
			if (kind === "recovery") {
				const link = document.createElement("a");
				link.href = "#/login";
				link.id = "flow-alt-login";
				link.textContent = "Back to sign in";
				alt.appendChild(link);
			}
		} else {
			forms.appendChild(renderForm(kind + "-form", flow, flow.ui.nodes, (form, method, body) => submitAuth(kind, flow, body)));
			const other = kind === "login"
				? ["No account yet? ", "#/registration", "Create one", "flow-alt-registration"]
				: ["Already have an account? ", "#/login", "Sign in", "flow-alt-login"];
			alt.append(other[0]);
			const link = document.createElement("a");
			link.href = other[1];
			link.id = other[3];
			link.textContent = other[2];
			alt.appendChild(link);
			if (kind === "login") {
				const forgot = document.createElement("a");
				forgot.href = "#/recovery";
				forgot.id = "flow-alt-recovery";
				forgot.textContent = "Forgot your password?";
				alt.append(" · ");
				alt.appendChild(forgot);
			}
		}
		show("view-flow");
		focusFirstError(forms);
	}

	// submitAuth posts a login or registration form.
	async function submitAuth(kind, flow, body) {
		const { status, data } = await api("POST", flow.ui.action, body);
		if (status === 200) {
			notice(kind === "login" ? "Welcome back!" : "Your account has been created.");
			// A new account's address gets a verification code: show its form.
			const verify = (data.continue_with || []).find((c) => c.action === "show_verification_ui");
			if (verify && verify.flow && verify.flow.id) {
				location.hash = "#/verification?flow=" + encodeURIComponent(verify.flow.id);
				return;
			}
			return goHome();
		}
		if (status === 400 && data && data.ui) return renderFlow(kind, data);
		if (status === 410 && data && data.use_flow_id) {
			const next = await fetchFlow(kind, data.use_flow_id);
			if (next) return renderFlow(kind, next);
		}
		notice(errorText(data));
		return startFlow(kind);
	}

	// ---- recovery and verification --------------------------------------------

	// submitCode posts the email or the code of a recovery or verification
	// flow. A right recovery code signs the browser in (422 with
	// redirect_browser_to the settings page): the SPA's own settings view
	// takes over, to set a new password.
	async function submitCode(kind, flow, body) {
		const { status, data } = await api("POST", flow.ui.action, body);
		if ((status === 200 || status === 400) && data && data.ui) {
			if (kind === "verification" && data.state === "passed_challenge") notice("Your email address is verified.");
			return renderFlow(kind, data);
		}
		if (status === 422 && data && data.redirect_browser_to) {
			notice("You are signed in. Choose a new password.");
			location.hash = "#/settings";
			return;
		}
		if (status === 410 && data && data.use_flow_id) {
			const next = await fetchFlow(kind, data.use_flow_id);
			if (next) return renderFlow(kind, next);
		}
		notice(errorText(data));
		return startFlow(kind);
	}

	// ---- settings --------------------------------------------------------------

	// renderSettingsForms shows one form per method: the profile (traits) and
	// the password, each with the flow's CSRF token.
	function renderSettingsForms(container, flow) {
		const nodes = flow.ui.nodes;
		const groups = [
			["profile", "Profile", "settings-profile-form"],
			["password", "Password", "settings-password-form"],
		];
		for (const [group, title, id] of groups) {
			const own = nodes.filter((n) => n.group === group);
			if (!own.length) continue;
			const section = document.createElement("section");
			section.className = "card";
			section.setAttribute("aria-labelledby", id + "-title");
			const h2 = document.createElement("h2");
			h2.id = id + "-title";
			h2.textContent = title;
			section.appendChild(h2);
			const withCSRF = nodes.filter((n) => n.group === "default").concat(own);
			section.appendChild(renderForm(id, flow, withCSRF, (form, method, body) => submitSettings(flow, body)));
			container.appendChild(section);
		}
	}

	// submitSettings posts one settings submission. A protected change on an
	// old session answers 403 session_refresh_required: the submission is
	// kept as it is, the user confirms their password (a refresh login), and
	// then the very same body is posted to the same flow again.
	async function submitSettings(flow, body) {
		const { status, data } = await api("POST", flow.ui.action, body);
		return settingsAnswer(flow, body, status, data);
	}

	async function settingsAnswer(flow, body, status, data) {
		if (status === 200 && data && data.ui) {
			state.pending = null;
			await loadSession();
			notice("");
			// An address change waits for the code sent to the new address.
			const verify = (data.continue_with || []).find((c) => c.action === "show_verification_ui");
			if (verify && verify.flow && verify.flow.id) {
				notice("We sent a code to your new address. Enter it to finish the change.");
				location.hash = "#/verification?flow=" + encodeURIComponent(verify.flow.id);
				return;
			}
			return renderFlow("settings", data);
		}
		if (status === 400 || status === 409) {
			if (data && data.ui) return renderFlow("settings", data);
		}
		if (status === 403 && data && data.error && data.error.id === "session_refresh_required") {
			state.pending = { action: flow.ui.action, body, flow };
			return startRefresh();
		}
		if (status === 410 && data && data.use_flow_id) {
			const next = await fetchFlow("settings", data.use_flow_id);
			if (next) return renderFlow("settings", next);
		}
		if (status === 401) {
			state.session = null;
			markSignedIn();
			notice("Your session has ended. Please sign in again.");
			return startFlow("login");
		}
		notice(errorText(data));
		return startFlow("settings");
	}

	// startRefresh asks for the password: a refresh=true login flow, as JSON.
	async function startRefresh(messages) {
		const { status, data } = await api("GET", PUBLIC + "/self-service/login/browser?refresh=true");
		if (status !== 200) {
			notice(errorText(data));
			return startFlow("settings");
		}
		renderRefresh(data, messages);
	}

	function renderRefresh(flow, extraMessages) {
		const msgs = (flow.ui.messages || []).concat(extraMessages || []);
		renderMessages($("refresh-messages"), msgs);
		const container = $("refresh-forms");
		container.textContent = "";
		container.appendChild(renderForm("refresh-form", flow, flow.ui.nodes, async (form, method, body) => {
			const { status, data } = await api("POST", flow.ui.action, body);
			if (status === 200) return retryPending();
			if (status === 400 && data && data.ui) return renderRefresh(data);
			if (status === 410) return startRefresh();
			notice(errorText(data));
			return startRefresh();
		}));
		show("view-refresh");
		focusFirstError(container);
		const password = container.querySelector("input[type=password]");
		if (password) password.focus();
	}

	// retryPending re-submits the paused settings submission, unchanged.
	async function retryPending() {
		const p = state.pending;
		if (!p) return startFlow("settings");
		const { status, data } = await api("POST", p.action, p.body);
		if (status === 403 && data && data.error && data.error.id === "session_refresh_required") {
			// Should not happen right after a refresh; ask again rather than loop.
			return startRefresh([{ id: 0, type: "error", text: "Please confirm your password again." }]);
		}
		return settingsAnswer(p.flow, p.body, status, data);
	}

	$("refresh-cancel").addEventListener("click", async () => {
		state.pending = null;
		notice("The change was not saved.");
		await startFlow("settings");
	});

	// ---- logout --------------------------------------------------------------

	async function logout() {
		notice("");
		const init = await api("GET", PUBLIC + "/self-service/logout/browser");
		if (init.status === 200 && init.data && init.data.logout_url) {
			const done = await api("GET", init.data.logout_url);
			if (done.status !== 204 && done.status !== 200) {
				notice(errorText(done.data, "Signing out failed."));
			} else {
				notice("You have been signed out.");
			}
		} else if (init.status !== 401) {
			notice(errorText(init.data, "Signing out failed."));
		}
		return goHome();
	}

	$("nav-logout").addEventListener("click", logout);
	$("home-logout").addEventListener("click", logout);

	// ---- routing ----------------------------------------------------------------

	// goHome shows the account overview with a fresh whoami. The hash is
	// set without a hashchange round trip.
	async function goHome() {
		if (location.hash && location.hash !== "#/") history.pushState(null, "", "#/");
		await loadSession();
		renderHome();
	}

	async function route() {
		const [hash, query] = (location.hash.replace(/^#/, "") || "/").split("?");
		try {
			await loadSession();
			const flowId = new URLSearchParams(query || "").get("flow");
			if ((hash === "/verification" || hash === "/recovery") && flowId) {
				const flow = await fetchFlow(hash.slice(1), flowId);
				if (flow) return renderFlow(hash.slice(1), flow);
			}
			switch (hash) {
				case "/registration":
					return await startFlow("registration");
				case "/login":
					return await startFlow("login");
				case "/settings":
					return await startFlow("settings");
				case "/recovery":
					return await startFlow("recovery");
				case "/verification":
					return await startFlow("verification");
				default:
					return renderHome();
			}
		} catch (err) {
			notice("The request failed: " + err.message);
			show("view-home");
		}
	}

	window.addEventListener("hashchange", () => {
		notice("");
		route();
	});
	route();
})();
