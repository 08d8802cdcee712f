package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/seed06f30684/caddy-kratos/events"
	"github.com/seed06f30684/caddy-kratos/identity"
	"github.com/seed06f30684/caddy-kratos/internal/apierror"
	"github.com/seed06f30684/caddy-kratos/internal/body"
	"github.com/seed06f30684/caddy-kratos/internal/jsonpatch"
	"github.com/seed06f30684/caddy-kratos/internal/passwords"
	"github.com/seed06f30684/caddy-kratos/internal/reply"
	"github.com/seed06f30684/caddy-kratos/internal/wire"
	"github.com/seed06f30684/caddy-kratos/schema"
)

// Paging of GET /admin/identities.
const (
	adminDefaultPageSize = 250
	adminMaxPageSize     = 1000
)

// adminUpdateRetries is how often a PUT or PATCH without If-Match re-reads the
// identity and tries again when another write got in between.
const adminUpdateRetries = 3

// The top-level fields each admin identity body may have.
var (
	adminCreateFields = []string{"schema_id", "traits", "state", "metadata_public", "metadata_admin", "credentials", "verifiable_addresses", "recovery_addresses"}
	adminUpdateFields = []string{"schema_id", "traits", "state", "metadata_public", "metadata_admin", "credentials"}
	// adminPatchRoots are the members of the identity's admin JSON that a JSON
	// Patch may change (and everything below them).
	adminPatchRoots = []string{"schema_id", "traits", "state", "metadata_public", "metadata_admin"}
)

// adminIdentityInput is a decoded and checked admin identity body.
type adminIdentityInput struct {
	traits map[string]any
	// state is "" when the body has none (an update keeps the state).
	state          string
	metadataPublic json.RawMessage
	metadataAdmin  json.RawMessage
	// password is the cleartext password to hash, hashedPassword an
	// imported hash; at most one is set.
	password       string
	hashedPassword string
	hasPassword    bool
	verifiable     []adminVerifiableInput
}

// adminVerifiableInput is an imported verifiable address state.
type adminVerifiableInput struct {
	value, via, status string
	verified           bool
	verifiedAt         *time.Time
}

// decodeAdminIdentity checks an admin identity body (POST, PUT, or the
// patched document of PATCH) against the allowed top-level fields and the
// identity schema's typing. It does not validate the traits.
func (s *API) decodeAdminIdentity(obj map[string]any, allowed []string) (*adminIdentityInput, error) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, apierror.BadRequest("The request body has the unknown field %q.", k)
		}
	}
	in := &adminIdentityInput{}

	if v, ok := obj["schema_id"]; ok && v != nil {
		id, ok := v.(string)
		if !ok {
			return nil, apierror.BadRequest(`The field "schema_id" must be a string.`)
		}
		if id != s.cfg.Schema.ID() {
			return nil, apierror.BadRequest("The identity schema %q is unknown; the only schema is %q.", id, s.cfg.Schema.ID())
		}
	}

	raw, ok := obj["traits"]
	if !ok || raw == nil {
		return nil, apierror.BadRequest(`The field "traits" is required.`)
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, apierror.BadRequest(`The field "traits" must be a JSON object.`)
	}
	traits, err := s.cfg.Schema.TraitsFromJSON(map[string]any{"traits": raw})
	if err != nil {
		return nil, apierror.BadRequest("The traits could not be decoded: %v.", err)
	}
	if traits == nil {
		traits = map[string]any{}
	}
	if err := body.CheckLimits("traits", traits); err != nil {
		return nil, err
	}
	in.traits = traits

	if v, ok := obj["state"]; ok && v != nil {
		st, _ := v.(string)
		if st != identity.IdentityActive && st != identity.IdentityInactive {
			return nil, apierror.BadRequest(`The field "state" must be "active" or "inactive".`)
		}
		in.state = st
	}

	for _, f := range []struct {
		key string
		dst *json.RawMessage
	}{{"metadata_public", &in.metadataPublic}, {"metadata_admin", &in.metadataAdmin}} {
		v, ok := obj[f.key]
		if !ok || v == nil {
			continue
		}
		if _, ok := v.(map[string]any); !ok {
			return nil, apierror.BadRequest("The field %q must be a JSON object or null.", f.key)
		}
		if err := body.CheckLimits(f.key, v); err != nil {
			return nil, err
		}
		b, err := adminMarshalJSON(v)
		if err != nil {
			return nil, apierror.BadRequest("The field %q could not be encoded: %v.", f.key, err)
		}
		*f.dst = b
	}

	if v, ok := obj["credentials"]; ok && v != nil {
		if err := in.decodeCredentials(v); err != nil {
			return nil, err
		}
	}

	if v, ok := obj["verifiable_addresses"]; ok && v != nil {
		if err := in.decodeVerifiable(v); err != nil {
			return nil, err
		}
	}
	if v, ok := obj["recovery_addresses"]; ok && v != nil {
		// Recovery addresses are derived from the traits; they are accepted
		// (as Kratos exports have them) but only checked for their shape.
		list, ok := v.([]any)
		if !ok {
			return nil, apierror.BadRequest(`The field "recovery_addresses" must be a JSON array.`)
		}
		for i, item := range list {
			a, ok := item.(map[string]any)
			if !ok {
				return nil, apierror.BadRequest("recovery_addresses[%d] must be a JSON object.", i)
			}
			if _, ok := a["value"].(string); !ok {
				return nil, apierror.BadRequest("recovery_addresses[%d].value must be a string.", i)
			}
		}
	}
	return in, nil
}

// decodeCredentials reads {"password": {"config": {"password": …} | {"hashed_password": …}}}.
func (in *adminIdentityInput) decodeCredentials(v any) error {
	creds, ok := v.(map[string]any)
	if !ok {
		return apierror.BadRequest(`The field "credentials" must be a JSON object.`)
	}
	for typ := range creds {
		if typ != "password" {
			return apierror.BadRequest("The credentials type %q cannot be imported; only \"password\" can.", typ)
		}
	}
	pw, ok := creds["password"]
	if !ok || pw == nil {
		return nil
	}
	pwObj, ok := pw.(map[string]any)
	if !ok {
		return apierror.BadRequest(`The field "credentials.password" must be a JSON object.`)
	}
	for k := range pwObj {
		if k != "config" {
			return apierror.BadRequest("The field \"credentials.password\" has the unknown field %q.", k)
		}
	}
	cfg, ok := pwObj["config"].(map[string]any)
	if !ok {
		return apierror.BadRequest(`The field "credentials.password.config" must be a JSON object.`)
	}
	for k := range cfg {
		if k != "password" && k != "hashed_password" {
			return apierror.BadRequest("The field \"credentials.password.config\" has the unknown field %q.", k)
		}
	}
	cleartext, hasClear := cfg["password"]
	hashed, hasHashed := cfg["hashed_password"]
	switch {
	case hasClear && hasHashed:
		return apierror.BadRequest(`Give either "credentials.password.config.password" or "credentials.password.config.hashed_password", not both.`)
	case hasClear:
		str, ok := cleartext.(string)
		if !ok {
			return apierror.BadRequest(`The field "credentials.password.config.password" must be a string.`)
		}
		in.password, in.hasPassword = str, true
	case hasHashed:
		str, ok := hashed.(string)
		if !ok {
			return apierror.BadRequest(`The field "credentials.password.config.hashed_password" must be a string.`)
		}
		if !passwords.ValidImported(str) {
			return apierror.BadRequest("The hashed password is not a bcrypt or argon2id hash that can be verified.")
		}
		in.hashedPassword, in.hasPassword = str, true
	default:
		return apierror.BadRequest(`The field "credentials.password.config" needs "password" or "hashed_password".`)
	}
	return nil
}

// decodeVerifiable reads imported verifiable addresses:
// [{value, via?, verified?, status?, verified_at?}].
func (in *adminIdentityInput) decodeVerifiable(v any) error {
	list, ok := v.([]any)
	if !ok {
		return apierror.BadRequest(`The field "verifiable_addresses" must be a JSON array.`)
	}
	for i, item := range list {
		a, ok := item.(map[string]any)
		if !ok {
			return apierror.BadRequest("verifiable_addresses[%d] must be a JSON object.", i)
		}
		var out adminVerifiableInput
		if out.value, ok = a["value"].(string); !ok || out.value == "" {
			return apierror.BadRequest("verifiable_addresses[%d].value must be a non-empty string.", i)
		}
		out.via = "email"
		if via, ok := a["via"]; ok && via != nil {
			if out.via, ok = via.(string); !ok {
				return apierror.BadRequest("verifiable_addresses[%d].via must be a string.", i)
			}
		}
		if ver, ok := a["verified"]; ok && ver != nil {
			if out.verified, ok = ver.(bool); !ok {
				return apierror.BadRequest("verifiable_addresses[%d].verified must be a boolean.", i)
			}
		}
		out.status = "pending"
		if out.verified {
			out.status = "completed"
		}
		if st, ok := a["status"]; ok && st != nil {
			str, _ := st.(string)
			if str != "pending" && str != "sent" && str != "completed" {
				return apierror.BadRequest(`verifiable_addresses[%d].status must be "pending", "sent" or "completed".`, i)
			}
			out.status = str
		}
		if at, ok := a["verified_at"]; ok && at != nil {
			str, _ := at.(string)
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return apierror.BadRequest("verifiable_addresses[%d].verified_at must be an RFC 3339 time.", i)
			}
			out.verifiedAt = &t
		}
		in.verifiable = append(in.verifiable, out)
	}
	return nil
}

// applyAdminInput writes a checked body onto an identity: traits (and what the
// schema derives from them), state, metadata, password and imported
// verifiable addresses. Invalid traits, a password the policy refuses or an
// imported address the traits do not have are 400 and leave the caller to
// drop the identity.
func (s *API) applyAdminInput(id *identity.Identity, in *adminIdentityInput) error {
	if errs := s.cfg.Schema.Validate(in.traits); len(errs) > 0 {
		reasons := make([]string, 0, len(errs))
		details := make([]any, 0, len(errs))
		for _, e := range errs {
			reasons = append(reasons, e.Field+": "+e.Text)
			details = append(details, map[string]any{"field": e.Field, "id": e.ID, "text": e.Text, "context": e.Context})
		}
		err := apierror.BadRequest("The traits are invalid: %s", strings.Join(reasons, "; "))
		err.Details = map[string]any{"validation": details}
		return err
	}
	now := s.cfg.Now()
	if in.state != "" && in.state != id.State {
		id.State, id.StateChangedAt = in.state, now
	}
	s.svc.ApplyTraits(id, in.traits)
	id.MetadataPublic, id.MetadataAdmin = in.metadataPublic, in.metadataAdmin

	switch {
	case in.hashedPassword != "":
		if id.Password == nil {
			id.Password = &identity.PasswordCredential{CreatedAt: now}
		}
		id.Password.HashedPassword, id.Password.UpdatedAt = in.hashedPassword, now
	case in.hasPassword:
		if m := passwords.Policy(in.password, id.Identifiers()); m != nil {
			return apierror.BadRequest("The password can not be used: %s", m.Text)
		}
		if err := s.svc.SetPassword(id, in.password); err != nil {
			return err
		}
	}

	for _, a := range in.verifiable {
		i := slices.IndexFunc(id.VerifiableAddresses, func(v identity.VerifiableAddress) bool {
			return strings.EqualFold(v.Value, schema.NormalizeAddress(a.value, a.via)) && v.Via == a.via
		})
		if i < 0 {
			return apierror.BadRequest("The verifiable address %q (via %s) is not one the traits define.", a.value, a.via)
		}
		va := &id.VerifiableAddresses[i]
		va.Verified, va.Status, va.UpdatedAt = a.verified, a.status, now
		va.VerifiedAt = nil
		if a.verified {
			t := now
			if a.verifiedAt != nil {
				t = *a.verifiedAt
			}
			va.VerifiedAt = &t
		}
	}
	return nil
}

// adminListIdentities answers GET /admin/identities.
func (s *API) adminListIdentities(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	if ident := q.Get("credentials_identifier"); ident != "" {
		out := []*wire.Identity{}
		id, err := s.svc.LookupIdentity(ctx, ident)
		switch {
		case err == nil:
			out = append(out, s.svc.IdentityJSON(r, id, true))
		case !errors.Is(err, identity.ErrNotFound):
			return err
		}
		reply.JSON(w, http.StatusOK, out)
		return nil
	}

	size := adminDefaultPageSize
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return apierror.BadRequest("The page_size %q is not a positive integer.", v)
		}
		size = min(n, adminMaxPageSize)
	}
	after := ""
	if t := q.Get("page_token"); t != "" {
		dec, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !identity.WellFormedID(string(dec)) {
			return apierror.BadRequest("The page_token %q is invalid; use the one from the Link header.", t)
		}
		after = string(dec)
	}
	list, next, err := s.cfg.Store.ListIdentities(ctx, after, size)
	if err != nil {
		return err
	}
	// Like Kratos: one Link header, a comma-delimited list with rel="first"
	// always and rel="next" unless this is the last page.
	link := adminPageLink(r, size, "", "first")
	if next != "" {
		link += "," + adminPageLink(r, size, base64.RawURLEncoding.EncodeToString([]byte(next)), "next")
	}
	w.Header().Set("Link", link)
	out := make([]*wire.Identity, 0, len(list))
	for _, id := range list {
		out = append(out, s.svc.IdentityJSON(r, id, true))
	}
	reply.JSON(w, http.StatusOK, out)
	return nil
}

// adminPageLink is one value of the Link header of a list page.
func adminPageLink(r *http.Request, size int, token, rel string) string {
	u := adminBase(r)
	u.Path = r.URL.Path
	q := r.URL.Query()
	q.Set("page_size", strconv.Itoa(size))
	q.Del("page_token")
	if token != "" {
		q.Set("page_token", token)
	}
	u.RawQuery = q.Encode()
	return "<" + u.String() + `>; rel="` + rel + `"`
}

// adminCreateIdentity answers POST /admin/identities.
func (s *API) adminCreateIdentity(w http.ResponseWriter, r *http.Request) error {
	obj, err := readAdminObject(w, r)
	if err != nil {
		return err
	}
	in, err := s.decodeAdminIdentity(obj, adminCreateFields)
	if err != nil {
		return err
	}
	id, err := s.newAdminIdentity(in)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.CreateIdentity(r.Context(), id); err != nil {
		if errors.Is(err, identity.ErrDuplicateIdentifier) || errors.Is(err, identity.ErrExists) {
			err = errAdminIdentityConflict()
		}
		return err
	}
	s.cfg.Logger.Info("admin: identity created", zap.String("identity_id", id.ID))
	s.svc.Emit(r.Context(), events.Event{Name: events.IdentityCreated, IdentityID: id.ID, Flow: "admin"})
	w.Header().Set("Location", adminIdentityURL(r, id.ID))
	w.Header().Set("ETag", adminETag(id.Version))
	reply.JSON(w, http.StatusCreated, s.svc.IdentityJSON(r, id, true))
	return nil
}

// newAdminIdentity is the new identity of a checked create body (POST, or
// an item of the batch PATCH); errors are those of applyAdminInput.
func (s *API) newAdminIdentity(in *adminIdentityInput) (*identity.Identity, error) {
	id := s.svc.NewIdentity(in.traits)
	if err := s.applyAdminInput(id, in); err != nil {
		return nil, err
	}
	return id, nil
}

// adminLoadIdentity reads an identity for an admin request; a malformed or
// unknown id is 404.
func (s *API) adminLoadIdentity(r *http.Request, id string) (*identity.Identity, error) {
	if !identity.WellFormedID(id) {
		return nil, apierror.ResourceNotFound()
	}
	ident, err := s.cfg.Store.GetIdentity(r.Context(), id)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, apierror.ResourceNotFound()
	}
	return ident, err
}

// adminGetIdentity answers GET /admin/identities/{id}.
func (s *API) adminGetIdentity(w http.ResponseWriter, r *http.Request, idStr string) error {
	id, err := s.adminLoadIdentity(r, idStr)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", adminETag(id.Version))
	reply.JSON(w, http.StatusOK, s.svc.IdentityJSON(r, id, true))
	return nil
}

// adminDeleteIdentity answers DELETE /admin/identities/{id}; the store
// removes the identity's sessions with it.
func (s *API) adminDeleteIdentity(w http.ResponseWriter, r *http.Request, idStr string) error {
	if _, err := s.adminLoadIdentity(r, idStr); err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteIdentity(r.Context(), idStr); err != nil {
		if errors.Is(err, identity.ErrNotFound) {
			err = apierror.ResourceNotFound()
		}
		return err
	}
	s.cfg.Logger.Info("admin: identity deleted", zap.String("identity_id", idStr))
	s.svc.Emit(r.Context(), events.Event{Name: events.IdentityDeleted, IdentityID: idStr, Flow: "admin"})
	reply.NoCache(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminPutIdentity answers PUT /admin/identities/{id}: traits, state and
// both metadata are replaced (absent metadata become null, an absent state
// stays), credentials are optional.
func (s *API) adminPutIdentity(w http.ResponseWriter, r *http.Request, idStr string) error {
	if !identity.WellFormedID(idStr) {
		return apierror.ResourceNotFound()
	}
	obj, err := readAdminObject(w, r)
	if err != nil {
		return err
	}
	in, err := s.decodeAdminIdentity(obj, adminUpdateFields)
	if err != nil {
		return err
	}
	return s.adminUpdateIdentity(w, r, idStr, func(*identity.Identity) (*adminIdentityInput, error) { return in, nil })
}

// adminPatchIdentity answers PATCH /admin/identities/{id} with an RFC 6902
// JSON Patch on the identity's admin JSON. Only schema_id, state, traits and
// the metadata (and what is below them) may be changed; `test` may read any
// member. A failed `test` is 400, as in Kratos.
func (s *API) adminPatchIdentity(w http.ResponseWriter, r *http.Request, idStr string) error {
	if !identity.WellFormedID(idStr) {
		return apierror.ResourceNotFound()
	}
	v, _, err := readAdminJSON(w, r)
	if err != nil {
		return err
	}
	ops, err := jsonpatch.FromValue(v)
	if err != nil {
		return apierror.BadRequest("The JSON Patch is invalid: %v.", err)
	}
	for i, op := range ops {
		if op.Op == "test" {
			continue
		}
		if !adminPatchable(op.Path) || (op.Op == "move" && !adminPatchable(op.From)) {
			p := op.Path
			if op.Op == "move" && adminPatchable(p) {
				p = op.From
			}
			return apierror.BadRequest("The JSON Patch operation %d (%s) may not change %q; only /schema_id, /state, /traits, /metadata_public and /metadata_admin can be patched.", i, op.Op, p)
		}
	}
	return s.adminUpdateIdentity(w, r, idStr, func(cur *identity.Identity) (*adminIdentityInput, error) {
		doc, err := adminGenericJSON(s.svc.IdentityJSON(r, cur, true))
		if err != nil {
			return nil, err
		}
		patched, err := jsonpatch.Apply(doc, ops)
		if err != nil {
			return nil, apierror.BadRequest("The JSON Patch could not be applied: %v.", err)
		}
		obj, ok := patched.(map[string]any)
		if !ok {
			return nil, apierror.BadRequest("The JSON Patch did not leave an identity object.")
		}
		view := map[string]any{}
		for _, k := range adminPatchRoots {
			if v, ok := obj[k]; ok {
				view[k] = v
			}
		}
		return s.decodeAdminIdentity(view, adminPatchRoots)
	})
}

// adminPatchable reports whether a JSON Pointer is inside one of adminPatchRoots.
func adminPatchable(ptr string) bool {
	for _, root := range adminPatchRoots {
		if ptr == "/"+root || strings.HasPrefix(ptr, "/"+root+"/") {
			return true
		}
	}
	return false
}

// adminUpdateIdentity is the read-change-write of PUT and PATCH. It reads the
// identity, checks If-Match, builds the input from it, applies it to a copy
// and writes that with the store's compare-and-swap on the version read.
// When another write got in between: 412 if the caller sent If-Match (it
// asked for exactly that version), else it starts over, and after
// adminUpdateRetries attempts gives 409.
func (s *API) adminUpdateIdentity(w http.ResponseWriter, r *http.Request, idStr string, input func(cur *identity.Identity) (*adminIdentityInput, error)) error {
	for range adminUpdateRetries {
		cur, err := s.adminLoadIdentity(r, idStr)
		if err != nil {
			return err
		}
		present, ok := adminIfMatch(r, cur.Version)
		if present && !ok {
			return errAdminPrecondition(r, cur.Version)
		}
		in, err := input(cur)
		if err != nil {
			return err
		}
		next, err := adminCloneIdentity(cur)
		if err != nil {
			return err
		}
		if err := s.applyAdminInput(next, in); err != nil {
			return err
		}
		next.Version = cur.Version
		err = s.cfg.Store.UpdateIdentity(r.Context(), next)
		switch {
		case err == nil:
			s.cfg.Logger.Info("admin: identity updated", zap.String("identity_id", next.ID))
			s.svc.Emit(r.Context(), events.Event{Name: events.IdentityUpdated, IdentityID: next.ID, Flow: "admin",
				Changed: s.cfg.Schema.ChangedFields(cur.Traits, next.Traits)})
			w.Header().Set("ETag", adminETag(next.Version))
			reply.JSON(w, http.StatusOK, s.svc.IdentityJSON(r, next, true))
			return nil
		case errors.Is(err, identity.ErrVersionConflict):
			if present {
				return apierror.New(http.StatusPreconditionFailed,
					"The identity was changed by another request since version %d was read.", cur.Version)
			}
			continue
		case errors.Is(err, identity.ErrDuplicateIdentifier):
			return errAdminIdentityConflict()
		case errors.Is(err, identity.ErrNotFound):
			return apierror.ResourceNotFound()
		default:
			return err
		}
	}
	return apierror.New(http.StatusConflict, "The identity was changed by other requests at the same time; please try again.")
}

// adminCloneIdentity returns a deep copy of an identity, so that changing it
// never changes a record a store may still hold.
func adminCloneIdentity(id *identity.Identity) (*identity.Identity, error) {
	raw, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out identity.Identity
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return &out, nil
}

// adminGenericJSON turns a value into its generic JSON form (maps, slices,
// json.Number), the form a JSON Patch works on.
func adminGenericJSON(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	err = dec.Decode(&out)
	return out, err
}

// adminMarshalJSON encodes without HTML escaping, so stored metadata reads back
// as it was sent.
func adminMarshalJSON(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n")), nil
}
