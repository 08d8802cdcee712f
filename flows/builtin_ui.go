package flows

import "net/http"

// serveUI answers the built-in UI pages under <prefix>/ui/. The server-side
// rendered UI is not built yet (issue 5): until then the pages say where the
// flow's JSON is, so a developer can still walk the flows.
func (s *Service) serveUI(w http.ResponseWriter, r *http.Request, rel string) {
	s.writeError(w, r, errNotFound("The built-in UI page %s is not available yet; configure the ui URLs or fetch the flow JSON.", rel))
}
