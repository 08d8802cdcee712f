package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// scrape reads the caddy_kratos_* series from the metrics endpoint, keyed
// as printed ("caddy_kratos_logins_total{result=\"success\"}").
func (s *appSite) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	res := do(t, browser(t), "GET", s.metrics, nil)
	wantStatus(t, res, 200)
	out := make(map[string]float64)
	sc := bufio.NewScanner(bytes.NewReader(res.body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "caddy_kratos_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// wantMoved checks that each series moved by the given amount since before.
func wantMoved(t *testing.T, what string, before, after map[string]float64, want map[string]float64) {
	t.Helper()
	for k, d := range want {
		if got := after[k] - before[k]; got != d {
			t.Errorf("%s: %s moved by %v, want %v", what, k, got, d)
		}
	}
}

func TestMetricsMoveThroughCaddy(t *testing.T) {
	s := startAppSite(t)
	const email, password = "metrics@example.com", "a long enough secret"

	before := s.scrape(t)
	token, reg := registerAPI(t, s.site, email, password)
	after := s.scrape(t)
	wantMoved(t, "API registration", before, after, map[string]float64{
		`caddy_kratos_flows_created_total{kind="registration",type="api"}`:                    1,
		`caddy_kratos_flows_submitted_total{kind="registration",result="success",type="api"}`: 1,
		`caddy_kratos_sessions_issued_total`:                                                  1,
	})

	before = after
	res := loginBrowser(t, s.site, browser(t), email, password, "")
	wantStatus(t, res, 303)
	after = s.scrape(t)
	wantMoved(t, "browser login", before, after, map[string]float64{
		`caddy_kratos_flows_created_total{kind="login",type="browser"}`:                    1,
		`caddy_kratos_flows_submitted_total{kind="login",result="success",type="browser"}`: 1,
		`caddy_kratos_logins_total{result="success"}`:                                      1,
		`caddy_kratos_sessions_issued_total`:                                               1,
	})

	before = after
	res = loginBrowser(t, s.site, browser(t), email, "not the password", "")
	wantStatus(t, res, http.StatusSeeOther) // back to the login page, with the message
	after = s.scrape(t)
	wantMoved(t, "failed login", before, after, map[string]float64{
		`caddy_kratos_logins_total{result="invalid_credentials"}`: 1,
		`caddy_kratos_sessions_issued_total`:                      0,
	})

	before = after
	res = do(t, browser(t), "DELETE", s.kratos()+"/self-service/logout/api", fmt.Sprintf(`{"session_token":%q}`, token))
	wantStatus(t, res, 204)
	after = s.scrape(t)
	wantMoved(t, "API logout", before, after, map[string]float64{`caddy_kratos_sessions_revoked_total`: 1})

	// Low cardinality: no ids or identifiers in any series.
	id, _ := get(reg, "identity", "id").(string)
	for k := range after {
		if strings.Contains(k, email) || (id != "" && strings.Contains(k, id)) || strings.Contains(k, "ory_st_") {
			t.Errorf("series %s names a user", k)
		}
	}
}
