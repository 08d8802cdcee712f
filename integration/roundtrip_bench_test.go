package integration

import (
	"fmt"
	"net/http"
	"testing"
)

// The settings round trip as make bench-load measures it (a new API
// settings flow, then its profile method submitted), and the app request
// with a session on the memory store. See bench_test.go for the metrics.

func BenchmarkSettingsRoundTripRedis(b *testing.B) {
	benchSettingsRoundTrip(b, startSite(b, ""))
}

func BenchmarkSettingsRoundTripMemory(b *testing.B) {
	benchSettingsRoundTrip(b, startSiteMemory(b, ""))
}

// BenchmarkPassThroughMemory is BenchmarkPassThroughRedis on the memory
// store.
func BenchmarkPassThroughMemory(b *testing.B) {
	s := startSiteMemory(b, "identity_headers")
	c := benchClient(b)
	token, id := benchRegister(b, s, c, benchEmail(0))
	benchPassThrough(b, s, c, id, "X-Session-Token", token)
}

func benchSettingsRoundTrip(b *testing.B, s *site) {
	c := benchClient(b)
	senders := make([]func() error, benchWorkers())
	for i := range senders {
		email := benchEmail(i)
		token, _ := benchRegister(b, s, c, email)
		var n int
		senders[i] = func() error {
			flow, err := settingsFlowAPI(c, s, token)
			if err != nil {
				return err
			}
			n++
			code, err := submitProfile(c, s, token, email, flow, [2]string{"Grace", "Gracie"}[n%2])
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("settings submit: status %d, want 200", code)
			}
			return err
		}
	}
	measure(b, s, senders)
}
