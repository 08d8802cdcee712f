package integration

// Helpers of the browser tests: a headless Debian Chromium driven with
// chromedp, the demo Caddyfile loaded into an in-process Caddy with a real
// redis-server, and screenshots plus the page's HTML when a test fails.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/seed06f30684/caddy-kratos/redisstore/redistest"
)

const (
	// browserBudget bounds a whole browser test; stepTimeout one step of it.
	browserBudget = 2 * time.Minute
	stepTimeout   = 30 * time.Second

	// artifactsEnv set to "all" also saves a screenshot at every checkpoint
	// of a passing test (to look at the pages); failures always save them.
	artifactsEnv = "KRATOS_BROWSER_ARTIFACTS"
)

// chromiumPath is Debian's chromium: /usr/bin/chromium, or chromium (or
// chromium-browser) on the PATH.
func chromiumPath() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab is one headless Chromium tab for one test.
type tab struct {
	t      *testing.T
	ctx    context.Context // the tab; runs the first action without a deadline
	budget context.Context // the test's whole time budget, derived from ctx
	shots  int

	mu      sync.Mutex
	console []string
	output  *syncBuffer
}

// newTab starts Chromium for the test. Without chromium the test is skipped,
// unless CI is set: then it fails, so CI really runs the browser tests. When
// the test fails, a screenshot, the page's HTML, its URL and the browser
// console are saved under artifacts/<test name>/.
func newTab(t *testing.T) *tab {
	t.Helper()
	exe := chromiumPath()
	if exe == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (run make deps: apt-get install chromium)")
		}
		t.Skip("chromium is not installed; make deps installs it (apt-get install chromium)")
	}
	// Artifacts of an earlier run of this test would be mistaken for this one's.
	_ = os.RemoveAll(filepath.Join("artifacts", unsafeName.ReplaceAllString(t.Name(), "_")))
	out := &syncBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 900),
		chromedp.CombinedOutput(out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	b := &tab{t: t, ctx: ctx, output: out}

	// The first Run starts the browser; it must not carry a deadline, so it
	// gets its own watchdog instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			cancelTab()
			cancelAlloc()
			t.Fatalf("start chromium (%s): %v\n%s", exe, err, out.String())
		}
	case <-time.After(30 * time.Second):
		cancelTab()
		cancelAlloc()
		t.Fatalf("chromium did not start within 30s\n%s", out.String())
	}
	budget, cancelBudget := context.WithTimeout(ctx, browserBudget)
	b.budget = budget

	consoleCtx, stopConsole := context.WithCancel(ctx)
	messages := chromedp.Console(consoleCtx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m.String())
			b.mu.Unlock()
		}
	}()

	t.Cleanup(func() {
		if t.Failed() {
			b.saveArtifacts("failure")
		}
		stopConsole()
		<-done
		cancelBudget()
		cancelTab()
		cancelAlloc()
	})
	return b
}

// syncBuffer collects the browser's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// artifactsDir is integration/artifacts/<test name>/ (gitignored).
func (b *tab) artifactsDir() string {
	return filepath.Join("artifacts", unsafeName.ReplaceAllString(b.t.Name(), "_"))
}

// saveArtifacts writes <name>.png (the full page), <name>.html, and the
// page's URL, the browser console and Chromium's output.
func (b *tab) saveArtifacts(name string) {
	dir := b.artifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Logf("artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	var notes []string
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	} else {
		notes = append(notes, "screenshot: "+err.Error())
	}
	if html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".html"), []byte(html), 0o644)
	} else {
		notes = append(notes, "html: "+err.Error())
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	b.mu.Lock()
	console := strings.Join(b.console, "\n")
	b.mu.Unlock()
	info := fmt.Sprintf("url: %s\n%s\n--- console ---\n%s\n--- chromium output ---\n%s", loc, strings.Join(notes, "\n"), console, b.output.String())
	_ = os.WriteFile(filepath.Join(dir, name+".txt"), []byte(info), 0o644)
	abs, _ := filepath.Abs(dir)
	b.t.Logf("browser artifacts in %s (url %s)", abs, loc)
	if console != "" && b.t.Failed() {
		b.t.Logf("browser console:\n%s", console)
	}
}

// checkpoint saves a screenshot of a passing test when KRATOS_BROWSER_ARTIFACTS=all.
func (b *tab) checkpoint(name string) {
	if os.Getenv(artifactsEnv) != "all" {
		return
	}
	b.shots++
	b.saveArtifacts(fmt.Sprintf("%02d-%s", b.shots, name))
}

// step runs actions within the step timeout; a failure ends the test.
func (b *tab) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.budget, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (page %s)", what, err, b.location())
	}
}

// location is the page's URL, for messages.
func (b *tab) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

// eval evaluates a JavaScript expression and decodes its value into out.
func (b *tab) eval(what, expr string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.budget, stepTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err == nil && out != nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		b.t.Fatalf("%s: %v (page %s)", what, err, b.location())
	}
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// open loads a URL and waits for the document.
func (b *tab) open(url string) {
	b.t.Helper()
	b.step("open "+url, chromedp.Navigate(url))
}

// markPage tags the current document, so waitNewPage can tell that the
// browser has loaded another one (even at the same URL).
func (b *tab) markPage() {
	b.t.Helper()
	b.eval("mark the page", `window.__browserTestMark = true`, nil)
}

// waitFor polls a JavaScript expression until it is truthy. A page that is
// being replaced (evaluation errors) is polled again. On timeout the test
// fails with the last value of the diagnostic expression diag (or the
// condition's error).
func (b *tab) waitFor(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.budget, stepTimeout)
	defer cancel()
	expr := `(() => { try { return !!(` + cond + `) } catch (e) { return false } })()`
	var last error
	for {
		c, cc := context.WithTimeout(ctx, 2*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool](expr))
		cc()
		if err == nil && ok && document(b) {
			return
		}
		last = err
		select {
		case <-ctx.Done():
			text := b.pageText()
			b.t.Fatalf("%s: timed out waiting for %s (last error %v)\npage %s:\n%s", what, cond, last, b.location(), text)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// document reports whether the page has finished loading.
func document(b *tab) bool {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
	return err == nil && s == "complete"
}

// waitNewPage waits until a document not tagged by markPage is loaded and
// cond holds on it.
func (b *tab) waitNewPage(what, cond string) {
	b.t.Helper()
	b.waitFor(what, `!window.__browserTestMark && (`+cond+`)`)
}

// pageText is the visible text of the page, shortened, for messages.
func (b *tab) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// fill replaces the value of the visible field matched by sel with the
// typed text (real key events, as a person types).
func (b *tab) fill(sel, value string) {
	b.t.Helper()
	b.waitFor("field "+sel, `document.querySelector(`+js(sel)+`)`)
	b.eval("clear "+sel, `(() => { const e = document.querySelector(`+js(sel)+`); e.focus(); e.select && e.select(); e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); return true })()`, nil)
	b.step("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), value))
	var got string
	b.eval("read "+sel, `document.querySelector(`+js(sel)+`).value`, &got)
	if got != value {
		b.t.Fatalf("field %s holds %q after typing %q", sel, got, value)
	}
}

// click clicks the element matched by sel with the mouse.
func (b *tab) click(sel string) {
	b.t.Helper()
	b.waitFor("element "+sel, `document.querySelector(`+js(sel)+`)`)
	b.step("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// submitMethod submits the form that holds the field named field, with its
// submit button method=<method> when the page has one (a real click), or
// the form's own submit otherwise.
func (b *tab) submitMethod(field, method string) {
	b.t.Helper()
	fieldSel := fmt.Sprintf(`[name=%q]`, field)
	b.waitFor("form with "+field, `document.querySelector(`+js(fieldSel)+`)`)
	var how string
	b.eval("find the submit button", `(() => {
		for (const e of document.querySelectorAll('[data-browser-test-submit]')) e.removeAttribute('data-browser-test-submit');
		const form = document.querySelector(`+js(fieldSel)+`).form;
		if (!form) return "none";
		const buttons = [...form.querySelectorAll('button, input[type=submit]')].filter(e => e.type === "submit");
		const btn = buttons.find(e => e.name === "method" && e.value === `+js(method)+`) || (buttons.length === 1 ? buttons[0] : null);
		if (btn) { btn.setAttribute('data-browser-test-submit', ''); return "button" }
		return "form";
	})()`, &how)
	switch how {
	case "button":
		b.step("click the "+method+" button", chromedp.Click(chromedp.CSS(`[data-browser-test-submit]`)))
	case "form":
		b.eval("submit the form", `(() => { document.querySelector(`+js(fieldSel)+`).form.requestSubmit(); return true })()`, nil)
	default:
		b.t.Fatalf("the field %s is not in a form (page %s)", field, b.location())
	}
}

// text is the text content of the element matched by sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	var s string
	b.eval("text of "+sel, `(() => { const e = document.querySelector(`+js(sel)+`); return e ? e.textContent : "" })()`, &s)
	return strings.TrimSpace(s)
}

// value is the value of the field matched by sel.
func (b *tab) value(sel string) string {
	b.t.Helper()
	var s string
	b.eval("value of "+sel, `(() => { const e = document.querySelector(`+js(sel)+`); return e ? e.value : "" })()`, &s)
	return s
}

// wantMessageNextTo checks that text is shown next to the field named
// field: in the element its aria-describedby names, or inside the closest
// ancestor of the field that holds no other field.
func (b *tab) wantMessageNextTo(field, text string) {
	b.t.Helper()
	var problem string
	b.eval("message next to "+field, `((name, text) => {
		const el = [...document.querySelectorAll('[name="' + name + '"]')].find(e => e.type !== "hidden");
		if (!el) return "no field " + name;
		for (const id of (el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean)) {
			const d = document.getElementById(id);
			if (d && d.textContent.includes(text)) return "";
		}
		const fields = (a) => a.querySelectorAll("input:not([type=hidden]):not([type=submit]), select, textarea").length;
		for (let a = el.parentElement; a && a.tagName !== "FORM" && a !== document.body && fields(a) <= 1; a = a.parentElement) {
			if (a.textContent.includes(text)) return "";
		}
		return document.body.textContent.includes(text)
			? "the message is on the page but not next to the field"
			: "the message is not on the page";
	})(`+js(field)+`, `+js(text)+`)`, &problem)
	if problem != "" {
		b.t.Fatalf("message %q for %s: %s (page %s)\n%s", text, field, problem, b.location(), b.pageText())
	}
}

// fetchJSON GETs a URL from Go with the browser's cookies for it and
// Accept: application/json (a read beside the page, which may forbid
// fetches in its Content-Security-Policy), and returns the status and the
// decoded body.
func (b *tab) fetchJSON(url string) (int, map[string]any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.budget, stepTimeout)
	defer cancel()
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
		return res.Cookies, err
	})
	if err != nil {
		b.t.Fatalf("the browser's cookies for %s: %v", url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body
}

// demoSite is the demo: Caddyfile.example itself, loaded into this process
// with free ports, the example/ paths made absolute, the given
// privileged_session_max_age (so the test can age a session past it), and
// the store switched to a real redis-server through KRATOS_STORE, as the
// README says.
func startDemoSite(t *testing.T, privilegedMaxAge string) *site {
	t.Helper()
	redisAddr := redistest.StartServer(t)
	raw, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	example, err := filepath.Abs("../example")
	if err != nil {
		t.Fatal(err)
	}
	pub, app, adm := freePort(t), freePort(t), freePort(t)
	cfg := string(raw)
	// One pass: a sequence of ReplaceAll calls would rewrite a fresh port that
	// happens to contain a later pattern (":44347" holds ":4434").
	var pairs []string
	for _, r := range []struct{ old, new string }{
		{"example/", filepath.ToSlash(example) + "/"},
		{":8080", fmt.Sprintf(":%d", pub)},
		{":8081", fmt.Sprintf(":%d", app)},
		{":4434", fmt.Sprintf(":%d", adm)},
		{"\t\tidentity_headers\n", "\t\tidentity_headers\n\t\tprivileged_session_max_age " + privilegedMaxAge + "\n"},
		// The test's own global options join the example's.
		{"\tservers {\n", "\tadmin off\n\tauto_https off\n\tgrace_period 1ns\n\tservers {\n"},
	} {
		if !strings.Contains(cfg, r.old) {
			t.Fatalf("Caddyfile.example has no %q any more; update startDemoSite", r.old)
		}
		pairs = append(pairs, r.old, r.new)
	}
	cfg = strings.NewReplacer(pairs...).Replace(cfg)
	t.Setenv("KRATOS_STORE", "redis redis://"+redisAddr+"/0")

	conf, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		t.Fatalf("adapt the demo: %v\n%s", err, cfg)
	}
	for _, w := range warnings {
		t.Logf("caddyfile warning: %s", w.Message)
	}
	if !bytes.Contains(conf, []byte(`"type":"redis"`)) {
		t.Fatalf("KRATOS_STORE did not switch the demo to redis:\n%s", conf)
	}
	if err := caddy.Load(conf, true); err != nil {
		t.Fatalf("load the demo: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	return &site{
		t:      t,
		public: fmt.Sprintf("http://localhost:%d", pub),
		admin:  fmt.Sprintf("http://127.0.0.1:%d", adm),
		app:    fmt.Sprintf("http://127.0.0.1:%d", app),
	}
}
